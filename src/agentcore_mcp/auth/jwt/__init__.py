"""Inbound JWT bearer auth, as AgentCore's `customJWTAuthorizer` does it.

The package: `errors`, `config`, `jwks`, `verify`, `metadata`, one job each; every name
is importable from here as before.

- `AuthorizerConfig` mirrors `CustomJWTAuthorizerConfiguration` from the
  `bedrock-agentcore-control` service model (`from_api` / `to_api`).
- `JwksCache` fetches the discovery document and its JWKS, caches both, and re-fetches the
  JWKS (rate-limited) when a token names a key it does not know yet. The HTTP fetch is
  injectable, so the local AgentCore can answer Cognito URLs from its own Cognito.
- `verify_bearer` verifies a token against a config and returns a `VerifiedToken`, or raises
  a `JwtError` subclass whose message says what to fix.
- `protected_resource_metadata` / `www_authenticate_header` build the RFC 9728 document and
  the 401 challenge that point MCP clients at the authorization server.

Choices (AgentCore does not pin these down exactly):
- leeway: 60 s on `exp`, `nbf` and `iat`, the usual allowance for clock drift; a token
  expired longer ago than that, or not valid for another minute, fails.
- `allowedScopes`: the token must carry at least one of the configured scopes (AWS dev
  guide: "at least one scope value in the incoming token must match one of the configured
  values"), not all of them.
"""

from __future__ import annotations

from agentcore_mcp.auth.jwt.config import (
    ALLOWED_ALGORITHMS,
    DEFAULT_CACHE_TTL,
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_LEEWAY,
    DEFAULT_MIN_REFETCH_INTERVAL,
    DISCOVERY_URL_PATTERN,
    AuthorizerConfig,
    ClaimMatchOperator,
    ClaimValueType,
    CustomClaimRule,
)
from agentcore_mcp.auth.jwt.errors import (
    AlgorithmNotAllowedError,
    AudienceNotAllowedError,
    AuthorizationMethodMismatchError,
    AuthorizerConfigError,
    ClientNotAllowedError,
    CustomClaimMismatchError,
    DiscoveryError,
    InvalidClaimError,
    InvalidSignatureError,
    IssuedInFutureError,
    IssuerMismatchError,
    JwtError,
    MalformedTokenError,
    MissingClaimError,
    ScopeNotAllowedError,
    TokenExpiredError,
    TokenMissingError,
    TokenNotYetValidError,
    UnknownKeyError,
)
from agentcore_mcp.auth.jwt.jwks import (
    DiscoveryDocument,
    Fetch,
    JwksCache,
    default_fetch,
)
from agentcore_mcp.auth.jwt.metadata import (
    protected_resource_metadata,
    www_authenticate_header,
)
from agentcore_mcp.auth.jwt.verify import (
    VerifiedToken,
    bearer_token,
    verify_bearer,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_FETCH_TIMEOUT",
    "DEFAULT_LEEWAY",
    "DEFAULT_MIN_REFETCH_INTERVAL",
    "DISCOVERY_URL_PATTERN",
    "AlgorithmNotAllowedError",
    "AudienceNotAllowedError",
    "AuthorizationMethodMismatchError",
    "AuthorizerConfig",
    "AuthorizerConfigError",
    "ClaimMatchOperator",
    "ClaimValueType",
    "ClientNotAllowedError",
    "CustomClaimMismatchError",
    "CustomClaimRule",
    "DiscoveryDocument",
    "DiscoveryError",
    "Fetch",
    "InvalidClaimError",
    "InvalidSignatureError",
    "IssuedInFutureError",
    "IssuerMismatchError",
    "JwksCache",
    "JwtError",
    "MalformedTokenError",
    "MissingClaimError",
    "ScopeNotAllowedError",
    "TokenExpiredError",
    "TokenMissingError",
    "TokenNotYetValidError",
    "UnknownKeyError",
    "VerifiedToken",
    "bearer_token",
    "default_fetch",
    "protected_resource_metadata",
    "verify_bearer",
    "www_authenticate_header",
]

#: Asymmetric JWS algorithms only: no `none`, no HS* (a shared secret cannot come from a
