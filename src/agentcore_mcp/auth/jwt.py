"""Inbound JWT bearer auth, as AgentCore's `customJWTAuthorizer` does it.

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

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, cast

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from agentcore_mcp.auth._messages import AUTHORIZATION_METHOD_MISMATCH

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_LEEWAY",
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
#: JWKS, and accepting HS* opens the public-key-as-HMAC-secret confusion attack).
ALLOWED_ALGORITHMS = frozenset(
    {
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA", "Ed25519", "Ed448",
    }
)  # fmt: skip
DEFAULT_LEEWAY = timedelta(seconds=60)
DEFAULT_CACHE_TTL = timedelta(minutes=10)
DEFAULT_MIN_REFETCH_INTERVAL = timedelta(seconds=30)
DEFAULT_FETCH_TIMEOUT = 5.0

# From the service model's DiscoveryUrl shape.
DISCOVERY_URL_PATTERN = re.compile(
    r"[^\s?#]+/\.well-known/(openid-configuration|oauth-authorization-server)(/[^\s?#]+)?"
)

ClaimValueType = Literal["STRING", "STRING_ARRAY"]
ClaimMatchOperator = Literal["EQUALS", "CONTAINS", "CONTAINS_ANY"]


# --------------------------------------------------------------------------- errors


class JwtError(Exception):
    """A bearer token was not accepted. `reason` is a stable slug; the message says what to do.

    `oauth_error` is the RFC 6750 error code for the WWW-Authenticate challenge.
    """

    reason: ClassVar[str] = "jwt_error"
    oauth_error: ClassVar[str] = "invalid_token"


class TokenMissingError(JwtError):
    reason = "token_missing"
    oauth_error = "invalid_request"


class AuthorizationMethodMismatchError(JwtError):
    """SigV4 was used where a bearer token is expected."""

    reason = "authorization_method_mismatch"
    oauth_error = "invalid_request"


class MalformedTokenError(JwtError):
    reason = "malformed_token"


class AlgorithmNotAllowedError(JwtError):
    reason = "algorithm_not_allowed"


class DiscoveryError(JwtError):
    """The discovery document or JWKS could not be fetched or is unusable (server side)."""

    reason = "discovery_failed"


class UnknownKeyError(JwtError):
    reason = "unknown_key"


class InvalidSignatureError(JwtError):
    reason = "invalid_signature"


class MissingClaimError(JwtError):
    reason = "missing_claim"


class InvalidClaimError(JwtError):
    reason = "invalid_claim"


class TokenExpiredError(JwtError):
    reason = "token_expired"


class TokenNotYetValidError(JwtError):
    reason = "token_not_yet_valid"


class IssuedInFutureError(JwtError):
    reason = "issued_in_future"


class IssuerMismatchError(JwtError):
    reason = "issuer_mismatch"


class ClientNotAllowedError(JwtError):
    reason = "client_not_allowed"


class AudienceNotAllowedError(JwtError):
    reason = "audience_not_allowed"


class ScopeNotAllowedError(JwtError):
    reason = "insufficient_scope"
    oauth_error = "insufficient_scope"


class CustomClaimMismatchError(JwtError):
    reason = "custom_claim_mismatch"


class AuthorizerConfigError(ValueError):
    """An authorizer configuration the service would reject (a ValidationException)."""


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class CustomClaimRule:
    """One `CustomClaimValidationType`.

    - STRING + EQUALS + matchValueString: the claim is a string equal to the value.
    - STRING_ARRAY + CONTAINS + matchValueString: the claim is a list containing the value.
    - STRING_ARRAY + CONTAINS_ANY + matchValueStringList: the claim is a list containing at
      least one of the values.
    """

    claim_name: str
    value_type: ClaimValueType
    operator: ClaimMatchOperator
    match_value: str | None = None
    match_values: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = f"custom claim rule for {self.claim_name!r}"
        if not self.claim_name:
            raise AuthorizerConfigError("inboundTokenClaimName must not be empty")
        if self.value_type not in ("STRING", "STRING_ARRAY"):
            raise AuthorizerConfigError(
                f"{where}: inboundTokenClaimValueType must be STRING or STRING_ARRAY"
            )
        if self.operator not in ("EQUALS", "CONTAINS", "CONTAINS_ANY"):
            raise AuthorizerConfigError(
                f"{where}: claimMatchOperator must be EQUALS, CONTAINS or CONTAINS_ANY"
            )
        if (self.match_value is None) == (self.match_values is None):
            raise AuthorizerConfigError(
                f"{where}: claimMatchValue takes exactly one of matchValueString and "
                "matchValueStringList"
            )
        if self.operator == "EQUALS" and self.value_type != "STRING":
            raise AuthorizerConfigError(f"{where}: EQUALS applies to STRING claims only")
        if self.operator != "EQUALS" and self.value_type != "STRING_ARRAY":
            raise AuthorizerConfigError(
                f"{where}: {self.operator} applies to STRING_ARRAY claims only"
            )
        if self.operator in ("EQUALS", "CONTAINS") and self.match_value is None:
            raise AuthorizerConfigError(f"{where}: {self.operator} needs matchValueString")
        if self.operator == "CONTAINS_ANY" and not self.match_values:
            raise AuthorizerConfigError(
                f"{where}: CONTAINS_ANY needs a non-empty matchValueStringList"
            )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CustomClaimRule:
        try:
            match = data["authorizingClaimMatchValue"]
            value = match["claimMatchValue"]
            strings = value.get("matchValueStringList")
            return cls(
                claim_name=str(data["inboundTokenClaimName"]),
                value_type=data["inboundTokenClaimValueType"],
                operator=match["claimMatchOperator"],
                match_value=value.get("matchValueString"),
                match_values=tuple(strings) if strings is not None else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise AuthorizerConfigError(
                "a customClaims entry needs inboundTokenClaimName, inboundTokenClaimValueType "
                "and authorizingClaimMatchValue {claimMatchValue, claimMatchOperator}"
                f" (problem: {exc!r})"
            ) from exc

    def to_api(self) -> dict[str, Any]:
        value: dict[str, Any] = (
            {"matchValueString": self.match_value}
            if self.match_value is not None
            else {"matchValueStringList": list(self.match_values or ())}
        )
        return {
            "inboundTokenClaimName": self.claim_name,
            "inboundTokenClaimValueType": self.value_type,
            "authorizingClaimMatchValue": {
                "claimMatchValue": value,
                "claimMatchOperator": self.operator,
            },
        }

    def describe(self) -> str:
        wanted: object = self.match_value
        if wanted is None:
            wanted = list(self.match_values or ())
        return f"{self.claim_name!r} {self.value_type} {self.operator} {wanted!r}"


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    """AgentCore's `customJWTAuthorizer` (`CustomJWTAuthorizerConfiguration`).

    Empty tuples mean "not configured" (the API's lists have at least one member when set).
    """

    discovery_url: str
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()
    allowed_scopes: tuple[str, ...] = ()
    custom_claims: tuple[CustomClaimRule, ...] = ()
    # allowedScopes entry -> the scope advertised in metadata and WWW-Authenticate instead.
    advertised_scope_mapping: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not DISCOVERY_URL_PATTERN.fullmatch(self.discovery_url):
            raise AuthorizerConfigError(
                f"discoveryUrl {self.discovery_url!r} must end in "
                "/.well-known/openid-configuration or /.well-known/oauth-authorization-server"
            )
        unknown = set(self.advertised_scope_mapping) - set(self.allowed_scopes)
        if unknown:
            raise AuthorizerConfigError(
                f"advertisedScopeMapping keys {sorted(unknown)} are not in allowedScopes"
            )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> AuthorizerConfig:
        """From `{"customJWTAuthorizer": {...}}` (an `authorizerConfiguration`) or its inside."""
        inner = data.get("customJWTAuthorizer", data)
        if not isinstance(inner, Mapping) or "discoveryUrl" not in inner:
            raise AuthorizerConfigError("customJWTAuthorizer needs a discoveryUrl")

        def strings(key: str) -> tuple[str, ...]:
            value = inner.get(key)
            if value is None:
                return ()
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                raise AuthorizerConfigError(f"{key} must be a non-empty list of strings")
            return tuple(value)

        claims = inner.get("customClaims")
        if claims is not None and (not isinstance(claims, list) or not claims):
            raise AuthorizerConfigError("customClaims must be a non-empty list")
        mapping = inner.get("advertisedScopeMapping") or {}
        if not isinstance(mapping, Mapping):
            raise AuthorizerConfigError("advertisedScopeMapping must be a map of strings")
        return cls(
            discovery_url=str(inner["discoveryUrl"]),
            allowed_clients=strings("allowedClients"),
            allowed_audience=strings("allowedAudience"),
            allowed_scopes=strings("allowedScopes"),
            custom_claims=tuple(CustomClaimRule.from_api(c) for c in claims or ()),
            advertised_scope_mapping={str(k): str(v) for k, v in mapping.items()},
        )

    def to_api(self) -> dict[str, Any]:
        """The inner `customJWTAuthorizer` dict, as the control plane returns it."""
        out: dict[str, Any] = {"discoveryUrl": self.discovery_url}
        if self.allowed_audience:
            out["allowedAudience"] = list(self.allowed_audience)
        if self.allowed_clients:
            out["allowedClients"] = list(self.allowed_clients)
        if self.allowed_scopes:
            out["allowedScopes"] = list(self.allowed_scopes)
        if self.custom_claims:
            out["customClaims"] = [c.to_api() for c in self.custom_claims]
        if self.advertised_scope_mapping:
            out["advertisedScopeMapping"] = dict(self.advertised_scope_mapping)
        return out

    def advertised_scopes(self) -> list[str]:
        """allowedScopes as advertised to clients (after advertisedScopeMapping)."""
        return [self.advertised_scope_mapping.get(s, s) for s in self.allowed_scopes]


# --------------------------------------------------------------------------- discovery


#: url -> parsed JSON object. Raise anything on failure; it is reported as DiscoveryError.
Fetch = Callable[[str], Mapping[str, Any]]


def default_fetch(
    url: str, *, timeout: float = DEFAULT_FETCH_TIMEOUT, follow_redirects: bool = False
) -> Mapping[str, Any]:
    """GET a JSON object with httpx and a short timeout.

    Redirects are refused unless asked for: the discovery URL is the authorizer's trust
    anchor, and a redirect would let whoever answers it send the verifier to keys of
    their choosing. To follow them, pass
    `functools.partial(default_fetch, follow_redirects=True)` as the cache's `fetch`.
    """
    response = httpx.get(
        url,
        timeout=timeout,
        follow_redirects=follow_redirects,
        headers={"Accept": "application/json"},
    )
    if response.is_redirect:
        raise ValueError(
            f"{url} answered {response.status_code} redirecting to "
            f"{response.headers.get('location', '(no Location)')!r}; redirects are not "
            "followed for discovery and JWKS. Configure the final URL instead."
        )
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return cast(dict[str, Any], data)


@dataclass(frozen=True, slots=True)
class DiscoveryDocument:
    """The parts of an OpenID / OAuth authorization server metadata document we use."""

    url: str
    issuer: str
    jwks_uri: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def parse(cls, url: str, data: Mapping[str, Any]) -> DiscoveryDocument:
        issuer, jwks_uri = data.get("issuer"), data.get("jwks_uri")
        if not isinstance(issuer, str) or not issuer:
            raise DiscoveryError(f"discovery document {url} has no 'issuer'")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise DiscoveryError(f"discovery document {url} has no 'jwks_uri'")
        return cls(url=url, issuer=issuer, jwks_uri=jwks_uri, raw=dict(data))


@dataclass(slots=True)
class _Entry:
    value: Any
    fetched_at: float


class JwksCache:
    """Discovery documents and JWKS by URL, with a TTL; thread-safe; synchronous.

    A token whose `kid` is not in the cached JWKS triggers one re-fetch of that JWKS, at most
    once per `min_refetch_interval` per URL (so a stream of bogus kids cannot hammer the
    authorization server). Async callers should run verification in a worker thread when
    `fetch` does network I/O.
    """

    def __init__(
        self,
        fetch: Fetch | None = None,
        *,
        ttl: timedelta = DEFAULT_CACHE_TTL,
        min_refetch_interval: timedelta = DEFAULT_MIN_REFETCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch: Fetch = fetch or default_fetch
        self._ttl = ttl.total_seconds()
        self._min_refetch = min_refetch_interval.total_seconds()
        self._clock = clock
        self._lock = threading.RLock()
        self._docs: dict[str, _Entry] = {}
        self._jwks: dict[str, _Entry] = {}

    def discovery(self, discovery_url: str) -> DiscoveryDocument:
        with self._lock:
            entry = self._docs.get(discovery_url)
            if entry is None or self._clock() - entry.fetched_at >= self._ttl:
                doc = DiscoveryDocument.parse(discovery_url, self._get(discovery_url, "discovery"))
                entry = self._docs[discovery_url] = _Entry(doc, self._clock())
            return cast(DiscoveryDocument, entry.value)

    def key_set(self, jwks_uri: str) -> KeySet:
        with self._lock:
            entry = self._jwks.get(jwks_uri)
            if entry is None or self._clock() - entry.fetched_at >= self._ttl:
                entry = self._refresh_jwks(jwks_uri)
            return cast(KeySet, entry.value)

    def find_key(self, jwks_uri: str, kid: str | None) -> Key:
        """The key for `kid` (or the only key when the token names none)."""
        with self._lock:
            key = _pick(self.key_set(jwks_uri), kid)
            if key is not None:
                return key
            age = self._clock() - self._jwks[jwks_uri].fetched_at
            if age < self._min_refetch:
                raise UnknownKeyError(
                    f"{_kid_text(kid)} is not in the JWKS at {jwks_uri} (fetched {age:.0f} s ago; "
                    f"re-fetched at most every {self._min_refetch:.0f} s): sign with a key the "
                    "authorization server publishes"
                )
            key = _pick(self._refresh_jwks(jwks_uri).value, kid)
            if key is None:
                raise UnknownKeyError(
                    f"{_kid_text(kid)} is not in the JWKS at {jwks_uri}, even after re-fetching "
                    "it: the token was not signed by this authorization server (wrong "
                    "discoveryUrl?) or its key was retired"
                )
            return key

    def invalidate(self) -> None:
        with self._lock:
            self._docs.clear()
            self._jwks.clear()

    def _refresh_jwks(self, jwks_uri: str) -> _Entry:
        data = self._get(jwks_uri, "JWKS")
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise DiscoveryError(f"JWKS {jwks_uri} has no 'keys' list")
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        try:
            key_set = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as exc:
            raise DiscoveryError(f"JWKS {jwks_uri} has no usable signing keys ({exc})") from exc
        entry = self._jwks[jwks_uri] = _Entry(key_set, self._clock())
        return entry

    def _get(self, url: str, what: str) -> Mapping[str, Any]:
        try:
            data = self._fetch(url)
        except Exception as exc:
            raise DiscoveryError(
                f"could not fetch the {what} document {url}: {exc}; check that the "
                "authorization server is reachable and the discoveryUrl is right"
            ) from exc
        if not isinstance(data, Mapping):
            raise DiscoveryError(f"the {what} document {url} is not a JSON object")
        return data


def _pick(key_set: KeySet, kid: str | None) -> Key | None:
    keys = list(key_set)
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    for key in keys:
        if key.kid == kid:
            return key
    return None


def _kid_text(kid: str | None) -> str:
    return f"key id {kid!r}" if kid is not None else "a token without 'kid' (JWKS has several keys)"


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A bearer token that passed every check."""

    claims: Mapping[str, Any] = field(repr=False)
    header: Mapping[str, Any] = field(repr=False)
    issuer: str
    subject: str | None
    client_id: str | None
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    token_use: str | None
    expires_at: datetime
    key_id: str | None
    algorithm: str


def bearer_token(authorization: str | None) -> str:
    """The token from an `Authorization: Bearer <token>` header."""
    if not authorization or not authorization.strip():
        raise TokenMissingError(
            "missing bearer token: send 'Authorization: Bearer <access token>' "
            "(get one from the authorization server)"
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.upper().startswith("AWS4-"):
        raise AuthorizationMethodMismatchError(
            f"{AUTHORIZATION_METHOD_MISMATCH} (got a SigV4 signature; this endpoint expects "
            "an OAuth bearer token)"
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissingError(
            f"Authorization scheme {scheme[:20]!r} is not 'Bearer': send "
            "'Authorization: Bearer <access token>'"
        )
    return token.strip()


def verify_bearer(
    token: str,
    config: AuthorizerConfig,
    cache: JwksCache,
    now: datetime | None = None,
    *,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> VerifiedToken:
    """Verify a JWT as AgentCore's custom JWT authorizer would, or raise a `JwtError`.

    Order: structure, algorithm, key (JWKS by kid), signature, exp/nbf/iat, iss,
    allowedClients, allowedAudience, allowedScopes, customClaims.
    """
    header, obj = _parse(token)
    alg = header.get("alg")
    if alg == "none" or (isinstance(alg, str) and alg.lower() == "none"):
        raise AlgorithmNotAllowedError(
            "unsigned token (alg 'none') rejected: tokens must be signed by the authorization "
            "server with an asymmetric key"
        )
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        hint = (
            " (HMAC: a shared secret cannot be verified against a JWKS)"
            if isinstance(alg, str) and alg.upper().startswith("HS")
            else ""
        )
        allowed = ", ".join(sorted(ALLOWED_ALGORITHMS))
        raise AlgorithmNotAllowedError(f"algorithm {alg!r} not allowed{hint}: use one of {allowed}")
    if "b64" in header:
        raise MalformedTokenError("unencoded-payload JWS (b64 header) is not a JWT")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedTokenError("the 'kid' header must be a string")

    discovery = cache.discovery(config.discovery_url)
    key = cache.find_key(discovery.jwks_uri, kid)
    _check_signature(obj, key, alg, kid)

    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedTokenError("the token payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise MalformedTokenError("the token payload is not a JSON object")

    current = (now or datetime.now(UTC)).timestamp()
    slack = leeway.total_seconds()
    exp = _time_claim(claims, "exp", required=True)
    assert exp is not None
    if current >= exp + slack:
        raise TokenExpiredError(
            f"token expired at {_iso(exp)} (server time {_iso(current)}, leeway "
            f"{slack:.0f} s): get a new token (refresh it) and retry"
        )
    nbf = _time_claim(claims, "nbf")
    if nbf is not None and current < nbf - slack:
        raise TokenNotYetValidError(
            f"token not valid before {_iso(nbf)} (server time {_iso(current)}, leeway "
            f"{slack:.0f} s): check the clocks of the authorization server and this host"
        )
    iat = _time_claim(claims, "iat")
    if iat is not None and iat > current + slack:
        raise IssuedInFutureError(
            f"token issued in the future ({_iso(iat)}, server time {_iso(current)}): check "
            "the clocks of the authorization server and this host"
        )

    iss = claims.get("iss")
    if iss is None:
        raise MissingClaimError(f"token has no 'iss' claim; expected {discovery.issuer!r}")
    if iss != discovery.issuer:
        raise IssuerMismatchError(
            f"token issuer {iss!r} is not the issuer {discovery.issuer!r} of "
            f"{config.discovery_url}: get the token from that authorization server, or fix "
            "discoveryUrl"
        )

    client_id = _check_client(claims, config)
    audience = _check_audience(claims, config)
    scopes = _check_scopes(claims, config)
    for rule in config.custom_claims:
        _check_custom_claim(claims, rule)

    sub = claims.get("sub")
    token_use = claims.get("token_use")
    return VerifiedToken(
        claims=claims,
        header=header,
        issuer=discovery.issuer,
        subject=sub if isinstance(sub, str) else None,
        client_id=client_id,
        audience=audience,
        scopes=scopes,
        token_use=token_use if isinstance(token_use, str) else None,
        expires_at=datetime.fromtimestamp(exp, UTC),
        key_id=kid,
        algorithm=alg,
    )


def _parse(token: str) -> tuple[dict[str, Any], jws.CompactSignature]:
    text = token.strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    parts = text.split(".")
    if len(parts) == 5:
        raise MalformedTokenError("encrypted tokens (JWE) are not supported: send a signed JWT")
    # The signature may be empty here (alg "none"); the algorithm check reports that.
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise MalformedTokenError(
            "not a JWT: expected three base64url segments separated by '.' "
            "(send the access token itself, not an opaque token or a token response)"
        )
    try:
        obj = jws.extract_compact(text.encode("ascii"))
    except (JoseError, ValueError, UnicodeError) as exc:
        raise MalformedTokenError(f"not a JWT: cannot decode it ({exc})") from exc
    return dict(obj.headers()), obj


def _check_signature(obj: jws.CompactSignature, key: Key, alg: str, kid: str | None) -> None:
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    try:
        ok = jws.validate_compact(obj, key, registry=registry)
    except JoseError as exc:
        raise InvalidSignatureError(
            f"cannot verify the signature with {_kid_text(kid)} ({key.key_type}) and {alg}: {exc}"
        ) from exc
    if not ok:
        raise InvalidSignatureError(
            "invalid signature: the token was altered, or was not signed with "
            f"{_kid_text(kid)} of the configured authorization server"
        )


def _time_claim(claims: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise MissingClaimError(f"token has no '{name}' claim; tokens must expire")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClaimError(f"'{name}' must be a number of seconds since the epoch")
    return float(value)


def _check_client(claims: Mapping[str, Any], config: AuthorizerConfig) -> str | None:
    client_id = claims.get("client_id")
    if not config.allowed_clients:
        return client_id if isinstance(client_id, str) else None
    if client_id is None:
        if claims.get("token_use") == "id" and "aud" in claims:
            raise ClientNotAllowedError(
                "token has no 'client_id' claim: this looks like a Cognito ID token "
                "(token_use=id, which carries the app client id in 'aud'). allowedClients is "
                "checked against 'client_id', which Cognito puts in access tokens: send the "
                "access token (AuthenticationResult.AccessToken), or configure allowedAudience "
                "instead"
            )
        raise ClientNotAllowedError(
            f"token has no 'client_id' claim, but allowedClients is set "
            f"({list(config.allowed_clients)}): use a token issued to one of those clients"
        )
    if client_id not in config.allowed_clients:
        raise ClientNotAllowedError(
            f"client_id {_short(client_id)} is not in allowedClients "
            f"{list(config.allowed_clients)}: use a token issued to an allowed client, or add it"
        )
    return cast(str, client_id)


def _check_audience(claims: Mapping[str, Any], config: AuthorizerConfig) -> tuple[str, ...]:
    aud = claims.get("aud")
    values: tuple[str, ...]
    if isinstance(aud, str):
        values = (aud,)
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        values = tuple(aud)
    elif aud is None:
        values = ()
    else:
        raise InvalidClaimError("'aud' must be a string or a list of strings")
    if not config.allowed_audience:
        return values
    if not values:
        if claims.get("token_use") == "access" and "client_id" in claims:
            raise AudienceNotAllowedError(
                "token has no 'aud' claim: this looks like a Cognito access token "
                "(token_use=access), which carries 'client_id' and no 'aud'. Configure "
                "allowedClients with the app client id, or send the Cognito ID token"
            )
        raise AudienceNotAllowedError(
            f"token has no 'aud' claim, but allowedAudience is set "
            f"({list(config.allowed_audience)}): request a token for one of those audiences"
        )
    if not set(values) & set(config.allowed_audience):
        raise AudienceNotAllowedError(
            f"token audience {list(values)} has none of allowedAudience "
            f"{list(config.allowed_audience)}: request the token for an allowed audience "
            "(resource / audience parameter)"
        )
    return values


def _check_scopes(claims: Mapping[str, Any], config: AuthorizerConfig) -> tuple[str, ...]:
    raw = claims.get("scope")
    scopes: tuple[str, ...]
    if isinstance(raw, str):
        scopes = tuple(raw.split())
    elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        scopes = tuple(raw)
    elif raw is None:
        scopes = ()
    else:
        raise InvalidClaimError("'scope' must be a space-separated string")
    if not config.allowed_scopes or set(scopes) & set(config.allowed_scopes):
        return scopes
    hint = (
        " (the token lists scopes in 'scp'; the authorizer reads 'scope')"
        if raw is None and "scp" in claims
        else ""
    )
    raise ScopeNotAllowedError(
        f"token scopes {list(scopes)} include none of allowedScopes "
        f"{list(config.allowed_scopes)}{hint}: request one of them from the authorization "
        f"server (scope={' '.join(config.advertised_scopes())})"
    )


def _check_custom_claim(claims: Mapping[str, Any], rule: CustomClaimRule) -> None:
    name = rule.claim_name
    if name not in claims:
        raise CustomClaimMismatchError(
            f"token has no claim {name!r}, required by customClaims rule {rule.describe()}"
        )
    value = claims[name]
    if rule.value_type == "STRING":
        if not isinstance(value, str):
            raise CustomClaimMismatchError(
                f"claim {name!r} is {type(value).__name__}, but rule {rule.describe()} expects "
                "a string"
            )
        if value != rule.match_value:
            raise CustomClaimMismatchError(
                f"claim {name!r} = {_short(value)} does not satisfy {rule.describe()}"
            )
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CustomClaimMismatchError(
            f"claim {name!r} is {type(value).__name__}, but rule {rule.describe()} expects a "
            "list of strings"
        )
    wanted: Sequence[str] = (
        (rule.match_value,)
        if rule.operator == "CONTAINS" and rule.match_value is not None
        else rule.match_values or ()
    )
    if not set(value) & set(wanted):
        raise CustomClaimMismatchError(
            f"claim {name!r} = {_short(value)} does not satisfy {rule.describe()}"
        )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- RFC 9728


def protected_resource_metadata(
    resource_url: str,
    discovery_doc_or_issuer: DiscoveryDocument | Mapping[str, Any] | str,
    scopes: Iterable[str] = (),
) -> dict[str, Any]:
    """The RFC 9728 OAuth protected resource metadata document for `resource_url`.

    `scopes` should be the advertised ones (`AuthorizerConfig.advertised_scopes()`);
    `scopes_supported` is left out when there are none.
    """
    if isinstance(discovery_doc_or_issuer, DiscoveryDocument):
        issuer = discovery_doc_or_issuer.issuer
    elif isinstance(discovery_doc_or_issuer, Mapping):
        found = discovery_doc_or_issuer.get("issuer")
        if not isinstance(found, str) or not found:
            raise ValueError("the discovery document has no 'issuer'")
        issuer = found
    else:
        issuer = discovery_doc_or_issuer
    doc: dict[str, Any] = {"resource": resource_url, "authorization_servers": [issuer]}
    scope_list = list(dict.fromkeys(scopes))
    if scope_list:
        doc["scopes_supported"] = scope_list
    doc["bearer_methods_supported"] = ["header"]
    return doc


def www_authenticate_header(
    metadata_url: str,
    *,
    error: str | None = None,
    error_description: str | None = None,
    scope: Iterable[str] | None = None,
) -> str:
    """`Bearer resource_metadata="..."`, plus RFC 6750 error parameters when given."""
    params = [f"resource_metadata={_quote(metadata_url)}"]
    if error:
        params.append(f"error={_quote(error)}")
    if error_description:
        params.append(f"error_description={_quote(error_description)}")
    if scope is not None:
        joined = " ".join(scope)
        if joined:
            params.append(f"scope={_quote(joined)}")
    return "Bearer " + ", ".join(params)


def _quote(value: str) -> str:
    # quoted-string (RFC 9110 5.6.4); control characters would break the header line.
    clean = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'
