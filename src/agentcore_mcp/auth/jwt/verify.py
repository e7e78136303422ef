"""Verifying a bearer token against an `AuthorizerConfig`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key

from agentcore_mcp.auth.jwt.config import (
    ALLOWED_ALGORITHMS,
    DEFAULT_LEEWAY,
    AuthorizerConfig,
    CustomClaimRule,
)
from agentcore_mcp.auth.jwt.errors import (
    AlgorithmNotAllowedError,
    AudienceNotAllowedError,
    AuthorizationMethodMismatchError,
    ClientNotAllowedError,
    CustomClaimMismatchError,
    InvalidClaimError,
    InvalidSignatureError,
    IssuedInFutureError,
    IssuerMismatchError,
    MalformedTokenError,
    MissingClaimError,
    ScopeNotAllowedError,
    TokenExpiredError,
    TokenMissingError,
    TokenNotYetValidError,
)
from agentcore_mcp.auth.jwt.jwks import (
    JwksCache,
    kid_text,
)
from agentcore_mcp.auth.messages import AUTHORIZATION_METHOD_MISMATCH


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
            f"cannot verify the signature with {kid_text(kid)} ({key.key_type}) and {alg}: {exc}"
        ) from exc
    if not ok:
        raise InvalidSignatureError(
            "invalid signature: the token was altered, or was not signed with "
            f"{kid_text(kid)} of the configured authorization server"
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
