"""JWT bearer verification against a real discovery + JWKS server on 127.0.0.1."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from agentcore_mcp.auth import (
    AlgorithmNotAllowedError,
    AudienceNotAllowedError,
    AuthError,
    AuthorizationMethodMismatchError,
    AuthorizerConfig,
    AuthorizerConfigError,
    ClientNotAllowedError,
    CustomClaimMismatchError,
    CustomClaimRule,
    DiscoveryError,
    InvalidClaimError,
    InvalidSignatureError,
    IssuedInFutureError,
    IssuerMismatchError,
    JwksCache,
    JwtError,
    MalformedTokenError,
    MissingClaimError,
    ScopeNotAllowedError,
    TokenExpiredError,
    TokenMissingError,
    TokenNotYetValidError,
    UnknownKeyError,
    bearer_token,
    default_fetch,
    protected_resource_metadata,
    verify_bearer,
    www_authenticate_header,
)
from tests.auth._servers import IdpServer, idp_server

CLIENT = "4tq6ic0h6bfeus7f0bdrb5e1n1"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Keys:
    rsa: RSAKey
    ec256: ECKey
    ec384: ECKey
    ed: OKPKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        rsa=RSAKey.generate_key(2048, {"kid": "rsa-1"}),
        ec256=ECKey.generate_key("P-256", {"kid": "ec-256"}),
        ec384=ECKey.generate_key("P-384", {"kid": "ec-384"}),
        ed=OKPKey.generate_key("Ed25519", {"kid": "ed-1"}),
    )


@pytest.fixture
def idp(keys: Keys) -> Iterator[IdpServer]:
    with idp_server() as server:
        server.jwks = {
            "keys": [k.as_dict(private=False) for k in (keys.rsa, keys.ec256, keys.ec384, keys.ed)]
        }
        yield server


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> JwksCache:
    return JwksCache(clock=clock)


def access_claims(idp: IdpServer, **extra: Any) -> dict[str, Any]:
    """Shaped like a Cognito access token."""
    claims: dict[str, Any] = {
        "sub": "8f1c2d3e-user",
        "iss": idp.issuer,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "mcp/invoke openid",
        "auth_time": int(NOW.timestamp()),
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
        "jti": "j-1",
        "username": "alice",
    }
    claims.update(extra)
    return claims


def id_claims(idp: IdpServer, **extra: Any) -> dict[str, Any]:
    """Shaped like a Cognito ID token."""
    claims: dict[str, Any] = {
        "sub": "8f1c2d3e-user",
        "iss": idp.issuer,
        "aud": CLIENT,
        "token_use": "id",
        "email": "alice@example.com",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
        "cognito:groups": ["admins", "dev"],
    }
    claims.update(extra)
    return claims


def mint(claims: dict[str, Any], key: Key, alg: str = "RS256", **header: Any) -> str:
    head = {"alg": alg, "kid": key.kid, **header}
    head = {k: v for k, v in head.items() if v is not None}
    return jwt.encode(head, claims, key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def config(idp: IdpServer, **kw: Any) -> AuthorizerConfig:
    return AuthorizerConfig(discovery_url=idp.discovery_url, **kw)


# --------------------------------------------------------------------------- happy paths


def test_valid_cognito_access_token_with_allowed_clients_and_scopes(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    cfg = config(idp, allowed_clients=(CLIENT,), allowed_scopes=("mcp/invoke",))
    verified = verify_bearer(mint(access_claims(idp), keys.rsa), cfg, cache)
    assert verified.client_id == CLIENT
    assert verified.subject == "8f1c2d3e-user"
    assert verified.scopes == ("mcp/invoke", "openid")
    assert verified.token_use == "access"
    assert verified.issuer == idp.issuer
    assert verified.key_id == "rsa-1" and verified.algorithm == "RS256"
    assert verified.expires_at == NOW + timedelta(hours=1)


def test_valid_id_token_with_allowed_audience(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    cfg = config(idp, allowed_audience=("other", CLIENT))
    verified = verify_bearer(mint(id_claims(idp), keys.ec256, "ES256"), cfg, cache)
    assert verified.audience == (CLIENT,)
    assert verified.claims["email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("alg", "which"),
    [
        ("RS256", "rsa"), ("RS384", "rsa"), ("RS512", "rsa"),
        ("PS256", "rsa"), ("PS384", "rsa"), ("PS512", "rsa"),
        ("ES256", "ec256"), ("ES384", "ec384"), ("EdDSA", "ed"), ("Ed25519", "ed"),
    ],
)  # fmt: skip
def test_every_asymmetric_algorithm(
    idp: IdpServer, keys: Keys, cache: JwksCache, alg: str, which: str
) -> None:
    token = mint(access_claims(idp), getattr(keys, which), alg)
    assert verify_bearer(token, config(idp), cache).algorithm == alg


def test_audience_list_needs_one_match(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(id_claims(idp, aud=["a", "api://mcp", "b"]), keys.rsa)
    assert verify_bearer(token, config(idp, allowed_audience=("api://mcp",)), cache).audience == (
        "a",
        "api://mcp",
        "b",
    )


def test_oauth_authorization_server_discovery(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    cfg = AuthorizerConfig(discovery_url=idp.oauth_discovery_url)
    verify_bearer(mint(access_claims(idp), keys.rsa), cfg, cache)


def test_discovery_and_jwks_are_cached_with_ttl(
    idp: IdpServer, keys: Keys, clock: FakeClock, cache: JwksCache
) -> None:
    token = mint(access_claims(idp), keys.rsa)
    for _ in range(3):
        verify_bearer(token, config(idp), cache)
    assert idp.hits["/.well-known/openid-configuration"] == 1
    assert idp.hits["/jwks.json"] == 1
    clock.t += 11 * 60  # past the 10 min TTL
    verify_bearer(token, config(idp), cache)
    assert idp.hits["/.well-known/openid-configuration"] == 2
    assert idp.hits["/jwks.json"] == 2


# --------------------------------------------------------------------------- algorithm attacks


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_rejected(idp: IdpServer, keys: Keys, cache: JwksCache, alg: str) -> None:
    token = raw_token({"alg": alg, "kid": "rsa-1"}, access_claims(idp))
    with pytest.raises(AlgorithmNotAllowedError, match=r"unsigned|not allowed"):
        verify_bearer(token, config(idp), cache)


def test_hs256_signed_with_the_public_key_pem_rejected(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    """The classic confusion attack: HMAC keyed with the server's public key."""
    pem = keys.rsa.as_pem(private=False)
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(access_claims(idp)).encode())}"
    )
    sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(sig)}"
    with pytest.raises(AlgorithmNotAllowedError, match=r"HS256.*HMAC"):
        verify_bearer(token, config(idp), cache)
    assert idp.hits["/jwks.json"] == 0  # rejected before any key is even looked up


def test_alg_for_a_different_key_type_rejected(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    """Token says ES256 but names the RSA key: no cross-type verification."""
    good = mint(access_claims(idp), keys.ec256, "ES256")
    _, payload, sig = good.split(".")
    forged_head = b64(json.dumps({"alg": "ES256", "kid": "rsa-1"}).encode())
    with pytest.raises(InvalidSignatureError):
        verify_bearer(f"{forged_head}.{payload}.{sig}", config(idp), cache)


# --------------------------------------------------------------------------- claims


def test_wrong_issuer(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, iss="https://evil.example.com"), keys.rsa)
    with pytest.raises(IssuerMismatchError, match=r"evil.example.com.*discoveryUrl"):
        verify_bearer(token, config(idp), cache)


def test_missing_issuer(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    claims = access_claims(idp)
    del claims["iss"]
    with pytest.raises(MissingClaimError, match="iss"):
        verify_bearer(mint(claims, keys.rsa), config(idp), cache)


def test_expired(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, exp=int((NOW - timedelta(minutes=10)).timestamp())), keys.rsa)
    with pytest.raises(TokenExpiredError, match=r"expired.*new token"):
        verify_bearer(token, config(idp), cache, now=NOW)


def test_expired_within_leeway_still_accepted(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, exp=int((NOW - timedelta(seconds=30)).timestamp())), keys.rsa)
    verify_bearer(token, config(idp), cache, now=NOW)
    with pytest.raises(TokenExpiredError):
        verify_bearer(token, config(idp), cache, now=NOW, leeway=timedelta(0))


def test_exp_required_and_numeric(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    claims = access_claims(idp)
    del claims["exp"]
    with pytest.raises(MissingClaimError, match="exp"):
        verify_bearer(mint(claims, keys.rsa), config(idp), cache)
    with pytest.raises(InvalidClaimError, match="exp"):
        verify_bearer(mint(access_claims(idp, exp="tomorrow"), keys.rsa), config(idp), cache)


def test_nbf_in_future(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, nbf=int((NOW + timedelta(minutes=10)).timestamp())), keys.rsa)
    with pytest.raises(TokenNotYetValidError, match="not valid before"):
        verify_bearer(token, config(idp), cache, now=NOW)


def test_iat_in_future(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, iat=int((NOW + timedelta(minutes=10)).timestamp())), keys.rsa)
    with pytest.raises(IssuedInFutureError, match="future"):
        verify_bearer(token, config(idp), cache, now=NOW)


def test_wrong_client(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, client_id="someone-else"), keys.rsa)
    with pytest.raises(ClientNotAllowedError, match=r"someone-else.*allowedClients"):
        verify_bearer(token, config(idp, allowed_clients=(CLIENT,)), cache)


def test_wrong_audience(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(id_claims(idp, aud=["x", "y"]), keys.rsa)
    with pytest.raises(AudienceNotAllowedError, match="none of allowedAudience"):
        verify_bearer(token, config(idp, allowed_audience=(CLIENT,)), cache)


def test_missing_scope(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, scope="openid profile"), keys.rsa)
    cfg = config(idp, allowed_scopes=("mcp/invoke", "mcp/admin"))
    with pytest.raises(ScopeNotAllowedError, match="none of allowedScopes") as info:
        verify_bearer(token, cfg, cache)
    assert info.value.oauth_error == "insufficient_scope"
    no_scope = access_claims(idp)
    del no_scope["scope"]
    with pytest.raises(ScopeNotAllowedError):
        verify_bearer(mint(no_scope, keys.rsa), cfg, cache)


def test_one_allowed_scope_is_enough(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    token = mint(access_claims(idp, scope="mcp/admin"), keys.rsa)
    verify_bearer(token, config(idp, allowed_scopes=("mcp/invoke", "mcp/admin")), cache)


def test_scp_claim_gets_a_hint(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    claims = access_claims(idp, scp=["mcp/invoke"])
    del claims["scope"]
    with pytest.raises(ScopeNotAllowedError, match="'scp'"):
        verify_bearer(mint(claims, keys.rsa), config(idp, allowed_scopes=("mcp/invoke",)), cache)


# --------------------------------------------------------------------------- keys


def test_unknown_kid(idp: IdpServer, keys: Keys, clock: FakeClock, cache: JwksCache) -> None:
    stranger = RSAKey.generate_key(2048, {"kid": "nobody"})
    verify_bearer(mint(access_claims(idp), keys.rsa), config(idp), cache)  # warm the cache
    clock.t += 60
    with pytest.raises(UnknownKeyError, match="even after re-fetching"):
        verify_bearer(mint(access_claims(idp), stranger), config(idp), cache)
    assert idp.hits["/jwks.json"] == 2
    # within the rate limit, more unknown kids do not reach the server
    for _ in range(5):
        with pytest.raises(UnknownKeyError, match="re-fetched at most every 30 s"):
            verify_bearer(mint(access_claims(idp), stranger), config(idp), cache)
    assert idp.hits["/jwks.json"] == 2


def test_key_rotation_new_kid_after_first_fetch(
    idp: IdpServer, keys: Keys, clock: FakeClock, cache: JwksCache
) -> None:
    verify_bearer(mint(access_claims(idp), keys.rsa), config(idp), cache)
    assert idp.hits["/jwks.json"] == 1

    rotated = RSAKey.generate_key(2048, {"kid": "rsa-2"})
    idp.jwks = {"keys": [*idp.jwks["keys"], rotated.as_dict(private=False)]}
    token = mint(access_claims(idp), rotated)

    clock.t += 5  # too soon after the first fetch: rate-limited, fails clearly
    with pytest.raises(UnknownKeyError, match="rsa-2"):
        verify_bearer(token, config(idp), cache)
    assert idp.hits["/jwks.json"] == 1

    clock.t += 30  # past the 30 s limit: one re-fetch finds the new key
    assert verify_bearer(token, config(idp), cache).key_id == "rsa-2"
    assert idp.hits["/jwks.json"] == 2
    verify_bearer(token, config(idp), cache)
    assert idp.hits["/jwks.json"] == 2


def test_tampered_payload(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    head, _, sig = mint(access_claims(idp), keys.rsa).split(".")
    evil = b64(json.dumps(access_claims(idp, username="admin")).encode())
    with pytest.raises(InvalidSignatureError, match="altered"):
        verify_bearer(f"{head}.{evil}.{sig}", config(idp), cache)


def test_signed_by_other_key_with_same_kid(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    impostor = RSAKey.generate_key(2048, {"kid": "rsa-1"})
    with pytest.raises(InvalidSignatureError):
        verify_bearer(mint(access_claims(idp), impostor), config(idp), cache)


def test_empty_signature(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    head, payload, _ = mint(access_claims(idp), keys.rsa).split(".")
    with pytest.raises(InvalidSignatureError):
        verify_bearer(f"{head}.{payload}.", config(idp), cache)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "!!!.???.***",
        b64(b"[1,2]") + "." + b64(b"{}") + ".c2ln",
        "a.b.c.d.e",
        b64(b'{"alg":"RS256","kid":"rsa-1"}') + "." + b64(b"not json") + ".c2ln",
    ],
)
def test_garbage(idp: IdpServer, cache: JwksCache, token: str) -> None:
    with pytest.raises((MalformedTokenError, InvalidSignatureError)) as info:
        verify_bearer(token, config(idp), cache)
    if token.count(".") == 4:
        assert "JWE" in str(info.value)


def test_garbage_payload_behind_valid_signature(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    token = jwt.encode({"alg": "RS256", "kid": "rsa-1"}, {"x": 1}, keys.rsa)
    # no exp at all: the claim checks run only after the signature verified
    with pytest.raises(MissingClaimError):
        verify_bearer(token, config(idp), cache)


# --------------------------------------------------------------------------- custom claims


def rule(name: str, vtype: str, op: str, value: str | list[str]) -> dict[str, Any]:
    match = (
        {"matchValueStringList": value} if isinstance(value, list) else {"matchValueString": value}
    )
    return {
        "inboundTokenClaimName": name,
        "inboundTokenClaimValueType": vtype,
        "authorizingClaimMatchValue": {"claimMatchValue": match, "claimMatchOperator": op},
    }


EQ = rule("department", "STRING", "EQUALS", "engineering")
HAS = rule("cognito:groups", "STRING_ARRAY", "CONTAINS", "admins")
ANY = rule("perms", "STRING_ARRAY", "CONTAINS_ANY", ["read", "write"])


@pytest.mark.parametrize(
    ("api_rule", "claims", "ok"),
    [
        (EQ, {"department": "engineering"}, True),
        (EQ, {"department": "sales"}, False),
        (EQ, {"department": ["engineering"]}, False),
        (EQ, {}, False),
        (HAS, {"cognito:groups": ["dev", "admins"]}, True),
        (HAS, {"cognito:groups": ["dev"]}, False),
        (HAS, {"cognito:groups": "admins"}, False),
        (ANY, {"perms": ["write", "x"]}, True),
        (ANY, {"perms": ["x", "y"]}, False),
        (ANY, {"perms": []}, False),
    ],
)  # fmt: skip
def test_custom_claim_operators(
    idp: IdpServer,
    keys: Keys,
    cache: JwksCache,
    api_rule: dict[str, Any],
    claims: dict[str, Any],
    ok: bool,
) -> None:
    cfg = AuthorizerConfig.from_api(
        {"customJWTAuthorizer": {"discoveryUrl": idp.discovery_url, "customClaims": [api_rule]}}
    )
    token = mint(access_claims(idp, **claims), keys.rsa)
    if ok:
        verify_bearer(token, cfg, cache)
    else:
        with pytest.raises(CustomClaimMismatchError, match=api_rule["inboundTokenClaimName"]):
            verify_bearer(token, cfg, cache)


def test_all_custom_claims_must_hold(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    cfg = AuthorizerConfig.from_api(
        {
            "discoveryUrl": idp.discovery_url,
            "customClaims": [
                rule("department", "STRING", "EQUALS", "eng"),
                rule("cognito:groups", "STRING_ARRAY", "CONTAINS", "admins"),
            ],
        }
    )
    verify_bearer(mint(id_claims(idp, department="eng"), keys.rsa), cfg, cache)
    with pytest.raises(CustomClaimMismatchError, match="cognito:groups"):
        verify_bearer(
            mint(id_claims(idp, department="eng", **{"cognito:groups": ["dev"]}), keys.rsa),
            cfg,
            cache,
        )


# --------------------------------------------------------------------------- Cognito hints


def test_cognito_id_token_sent_where_access_token_expected(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    token = mint(id_claims(idp), keys.rsa)
    with pytest.raises(ClientNotAllowedError) as info:
        verify_bearer(token, config(idp, allowed_clients=(CLIENT,)), cache)
    message = str(info.value)
    assert "Cognito ID token" in message
    assert "access token" in message


def test_cognito_access_token_sent_where_audience_expected(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    token = mint(access_claims(idp), keys.rsa)
    with pytest.raises(AudienceNotAllowedError) as info:
        verify_bearer(token, config(idp, allowed_audience=(CLIENT,)), cache)
    message = str(info.value)
    assert "Cognito access token" in message
    assert "client_id" in message and "allowedClients" in message and "ID token" in message


def test_plain_missing_client_id_has_no_cognito_hint(
    idp: IdpServer, keys: Keys, cache: JwksCache
) -> None:
    claims = access_claims(idp)
    del claims["client_id"]
    with pytest.raises(ClientNotAllowedError) as info:
        verify_bearer(mint(claims, keys.rsa), config(idp, allowed_clients=(CLIENT,)), cache)
    assert "Cognito" not in str(info.value)


# --------------------------------------------------------------------------- discovery


def test_discovery_unreachable(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    idp.missing.add("/.well-known/openid-configuration")
    with pytest.raises(DiscoveryError, match=r"404|could not fetch"):
        verify_bearer(mint(access_claims(idp), keys.rsa), config(idp), cache)


def test_discovery_without_jwks_uri(idp: IdpServer, keys: Keys, cache: JwksCache) -> None:
    idp.discovery_overrides["jwks_uri"] = None
    with pytest.raises(DiscoveryError, match="jwks_uri"):
        verify_bearer(mint(access_claims(idp), keys.rsa), config(idp), cache)


def test_injected_fetch_resolves_cognito_urls_locally(idp: IdpServer, keys: Keys) -> None:
    """The local AgentCore answers Cognito's public URLs from its own Cognito."""
    pool = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf"
    served: dict[str, dict[str, Any]] = {
        f"{pool}/.well-known/openid-configuration": {
            "issuer": pool,
            "jwks_uri": f"{pool}/.well-known/jwks.json",
        },
        f"{pool}/.well-known/jwks.json": {"keys": [keys.rsa.as_dict(private=False)]},
    }
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return served[url]

    cfg = AuthorizerConfig(
        discovery_url=f"{pool}/.well-known/openid-configuration", allowed_clients=(CLIENT,)
    )
    token = mint(access_claims(idp, iss=pool), keys.rsa)
    assert verify_bearer(token, cfg, JwksCache(fetch)).issuer == pool
    assert fetched == list(served)


# --------------------------------------------------------------------------- config


def test_authorizer_config_from_api_roundtrip() -> None:
    api = {
        "customJWTAuthorizer": {
            "discoveryUrl": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_x/.well-known/openid-configuration",
            "allowedClients": ["c1", "c2"],
            "allowedAudience": ["aud1"],
            "allowedScopes": ["mcp/invoke", "mcp/admin"],
            "advertisedScopeMapping": {"mcp/invoke": "openid"},
            "customClaims": [
                rule("dept", "STRING", "EQUALS", "eng"),
                rule("groups", "STRING_ARRAY", "CONTAINS", "admins"),
                rule("perms", "STRING_ARRAY", "CONTAINS_ANY", ["r", "w"]),
            ],
        }
    }
    cfg = AuthorizerConfig.from_api(api)
    assert cfg.allowed_clients == ("c1", "c2")
    assert cfg.custom_claims[2] == CustomClaimRule(
        "perms", "STRING_ARRAY", "CONTAINS_ANY", None, ("r", "w")
    )
    assert cfg.to_api() == api["customJWTAuthorizer"]
    assert cfg.advertised_scopes() == ["openid", "mcp/admin"]
    assert AuthorizerConfig.from_api(cfg.to_api()) == cfg


DISC = {"discoveryUrl": "https://i/.well-known/openid-configuration"}


@pytest.mark.parametrize(
    "inner",
    [
        {"discoveryUrl": "https://idp.example.com/oauth2/jwks"},
        {"discoveryUrl": "https://idp.example.com/.well-known/openid-configuration?x=1"},
        {},
        {**DISC, "allowedClients": []},
        {**DISC, "allowedScopes": "a b"},
        {**DISC, "customClaims": [{}]},
        {**DISC, "customClaims": [rule("a", "STRING", "CONTAINS", "x")]},
        {**DISC, "customClaims": [rule("a", "STRING_ARRAY", "EQUALS", "x")]},
        {**DISC, "customClaims": [rule("a", "STRING_ARRAY", "CONTAINS_ANY", "x")]},
        {**DISC, "customClaims": [rule("a", "STRING_ARRAY", "CONTAINS", ["x"])]},
        {**DISC, "customClaims": [rule("a", "BOOLEAN", "EQUALS", "x")]},
        {**DISC, "allowedScopes": ["a"], "advertisedScopeMapping": {"b": "c"}},
    ],
)  # fmt: skip
def test_authorizer_config_validation(inner: dict[str, Any]) -> None:
    with pytest.raises(AuthorizerConfigError):
        AuthorizerConfig.from_api({"customJWTAuthorizer": inner})


def test_discovery_url_with_tenant_suffix_is_allowed() -> None:
    url = "https://login.example.com/.well-known/oauth-authorization-server/tenant-a"
    assert AuthorizerConfig(discovery_url=url).discovery_url == url


# --------------------------------------------------------------------------- header helpers


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   abc ") == "abc"
    with pytest.raises(TokenMissingError, match="missing bearer token"):
        bearer_token(None)
    with pytest.raises(TokenMissingError, match="not 'Bearer'"):
        bearer_token("Basic dXNlcjpwYXNz")
    with pytest.raises(AuthorizationMethodMismatchError, match="Authorization method mismatch"):
        bearer_token(
            "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock-agentcore/aws4_request,"
            " SignedHeaders=host, Signature=00"
        )


def test_protected_resource_metadata_and_challenge(idp: IdpServer, cache: JwksCache) -> None:
    resource = "https://bedrock-agentcore.us-west-2.amazonaws.com/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-west-2%3A1%3Aruntime%2Fx/invocations"
    doc = cache.discovery(idp.discovery_url)
    cfg = config(
        idp, allowed_scopes=("mcp/invoke",), advertised_scope_mapping={"mcp/invoke": "openid"}
    )
    meta = protected_resource_metadata(resource, doc, cfg.advertised_scopes())
    assert meta == {
        "resource": resource,
        "authorization_servers": [idp.issuer],
        "scopes_supported": ["openid"],
        "bearer_methods_supported": ["header"],
    }
    assert protected_resource_metadata(resource, {"issuer": "https://i"}, [])[
        "authorization_servers"
    ] == ["https://i"]
    assert "scopes_supported" not in protected_resource_metadata(resource, "https://i")

    metadata_url = f"{resource}/.well-known/oauth-protected-resource?qualifier=DEFAULT"
    assert www_authenticate_header(metadata_url) == f'Bearer resource_metadata="{metadata_url}"'
    challenge = www_authenticate_header(
        metadata_url, error="invalid_token", error_description='bad "token"', scope=["a", "b"]
    )
    assert challenge == (
        f'Bearer resource_metadata="{metadata_url}", error="invalid_token", '
        'error_description="bad \\"token\\"", scope="a b"'
    )


def test_every_failure_has_its_own_class() -> None:
    classes = [
        TokenMissingError, AuthorizationMethodMismatchError, MalformedTokenError,
        AlgorithmNotAllowedError, DiscoveryError, UnknownKeyError, InvalidSignatureError,
        MissingClaimError, InvalidClaimError, TokenExpiredError, TokenNotYetValidError,
        IssuedInFutureError, IssuerMismatchError, ClientNotAllowedError, AudienceNotAllowedError,
        ScopeNotAllowedError, CustomClaimMismatchError,
    ]  # fmt: skip
    assert all(issubclass(c, JwtError) for c in classes)
    # One base for every auth failure, SigV4 and JWT alike.
    assert all(issubclass(c, AuthError) for c in [*classes, JwtError])


def test_real_clock_default(idp: IdpServer, keys: Keys) -> None:
    """Without injected now/clock, the defaults (wall clock, monotonic cache) work."""
    now = int(time.time())
    token = mint(access_claims(idp, iat=now, exp=now + 60), keys.rsa)
    assert verify_bearer(token, config(idp), JwksCache()).subject == "8f1c2d3e-user"


# --------------------------------------------------------------------------- redirects


@contextmanager
def redirector(location_for: dict[str, str]) -> Iterator[str]:
    """A real local HTTP server answering 302 from each path to another server's URL."""
    from http.server import BaseHTTPRequestHandler

    from tests.auth._servers import _serve

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", location_for[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serve(Handler) as base_url:
        yield base_url


def test_discovery_and_jwks_do_not_follow_redirects(
    idp: IdpServer, keys: Keys, clock: FakeClock
) -> None:
    discovery = "/.well-known/openid-configuration"
    paths = {discovery: idp.discovery_url, "/jwks": idp.jwks_uri}
    with redirector(paths) as bounce:
        cache = JwksCache(clock=clock)
        with pytest.raises(DiscoveryError, match=r"302 redirecting to .*not followed"):
            cache.discovery(f"{bounce}{discovery}")
        with pytest.raises(JwtError, match=r"302 redirecting to .*not followed"):
            cache.key_set(f"{bounce}/jwks")
        # A token whose authorizer's discovery URL bounces elsewhere does not verify.
        token = mint(access_claims(idp), keys.rsa)
        bounced = AuthorizerConfig(discovery_url=f"{bounce}{discovery}", allowed_clients=(CLIENT,))
        with pytest.raises(JwtError, match="not followed"):
            verify_bearer(token, bounced, cache)
        assert idp.hits["/.well-known/openid-configuration"] == 0
        assert idp.hits["/jwks.json"] == 0
        # Following is an explicit choice of the caller.
        follow = functools.partial(default_fetch, follow_redirects=True)
        assert follow(f"{bounce}{discovery}")["issuer"] == idp.issuer
        assert JwksCache(fetch=follow, clock=clock).key_set(f"{bounce}/jwks")
