"""SigV4 failures: one class per thing to fix, all under `SigV4Error` (an `AuthError`)."""

from __future__ import annotations

from agentcore_mcp.auth.errors import AuthError


class SigV4Error(AuthError):
    """A request's SigV4 signature cannot be accepted (or a request cannot be signed).

    The message says what to do. AgentCore answers all of these with 403 AccessDenied
    and no WWW-Authenticate.
    """


class SigV4SigningError(SigV4Error):
    """The client side could not sign (no credentials, no region)."""


class SigV4MissingAuthorizationError(SigV4Error):
    """No Authorization header (nor presigned query)."""


class SigV4MalformedAuthorizationError(SigV4Error):
    """An Authorization header that is not a well-formed SigV4 one."""


class SigV4AuthorizationMethodMismatchError(SigV4MalformedAuthorizationError):
    """The request carries a Bearer token where SigV4 is expected."""


class SigV4HostNotSignedError(SigV4Error):
    """The signature does not cover the Host header."""


class SigV4MissingDateError(SigV4Error):
    """No X-Amz-Date (nor Date) to check the signature time against."""


class SigV4ScopeDateMismatchError(SigV4Error):
    """The credential scope's date is not X-Amz-Date's."""


class SigV4WrongServiceError(SigV4Error):
    """Signed for another service than this endpoint's."""


class SigV4WrongRegionError(SigV4Error):
    """Signed for another region than this endpoint's."""


class SigV4ClockSkewError(SigV4Error):
    """X-Amz-Date is too far from the verifier's clock (either direction)."""


class SigV4RequestExpiredError(SigV4ClockSkewError):
    """X-Amz-Date (or a presigned URL's expiry) is too far in the past."""


class SigV4RequestFromFutureError(SigV4ClockSkewError):
    """X-Amz-Date is too far in the future."""


class SigV4SignedHeaderMissingError(SigV4Error):
    """A header named in SignedHeaders is not in the request."""


class SigV4UnknownAccessKeyError(SigV4Error):
    """The access key id is not one the verifier knows."""


class SigV4SecurityTokenError(SigV4Error):
    """X-Amz-Security-Token is missing, wrong, unsigned or unexpected."""


class SigV4PayloadHashMismatchError(SigV4Error):
    """X-Amz-Content-SHA256 is not the body's hash (or not allowed)."""


class SigV4SignatureMismatchError(SigV4Error):
    """The signature is not the one the secret key gives."""
