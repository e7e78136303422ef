"""JWT failures: one class per thing to fix, all under `JwtError` (an `AuthError`)."""

from __future__ import annotations

from typing import ClassVar

from agentcore_mcp.auth.errors import AuthError
from agentcore_mcp.errors import AgentCoreMcpError


class JwtError(AuthError):
    """A bearer token was not accepted; the message says what to do.

    `oauth_error` is the RFC 6750 error code for the WWW-Authenticate challenge.
    """

    oauth_error: ClassVar[str] = "invalid_token"


class TokenMissingError(JwtError):
    """No bearer token in the Authorization header."""

    oauth_error = "invalid_request"


class AuthorizationMethodMismatchError(JwtError):
    """SigV4 was used where a bearer token is expected."""

    oauth_error = "invalid_request"


class MalformedTokenError(JwtError):
    """Not a readable signed JWT (JWE, wrong segments, payload not a JSON object)."""


class AlgorithmNotAllowedError(JwtError):
    """An unsigned token, or a JWS algorithm outside `ALLOWED_ALGORITHMS`."""


class DiscoveryError(JwtError):
    """The discovery document or JWKS could not be fetched or is unusable (server side)."""


class UnknownKeyError(JwtError):
    """The token names a key the JWKS does not hold (re-fetched, rate-limited)."""


class InvalidSignatureError(JwtError):
    """The signature does not verify with the named key."""


class MissingClaimError(JwtError):
    """A required claim is absent."""


class InvalidClaimError(JwtError):
    """A claim has the wrong type or form."""


class TokenExpiredError(JwtError):
    """`exp` is past, beyond the leeway."""


class TokenNotYetValidError(JwtError):
    """`nbf` is ahead, beyond the leeway."""


class IssuedInFutureError(JwtError):
    """`iat` is ahead, beyond the leeway."""


class IssuerMismatchError(JwtError):
    """`iss` is not the discovery document's issuer."""


class ClientNotAllowedError(JwtError):
    """No `client_id`, or one not in `allowedClients`."""


class AudienceNotAllowedError(JwtError):
    """No `aud`, or none of it in `allowedAudience`."""


class ScopeNotAllowedError(JwtError):
    """None of the token's scopes is in `allowedScopes`."""

    oauth_error = "insufficient_scope"


class CustomClaimMismatchError(JwtError):
    """A custom claim rule does not match."""


class AuthorizerConfigError(AgentCoreMcpError, ValueError):
    """An authorizer configuration the service would reject (a ValidationException)."""
