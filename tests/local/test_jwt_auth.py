"""JWT inbound auth end to end: Cognito tokens from the embedded Cognito, and a negative
matrix against a user's own IdP on loopback. Every refusal is 401 with the challenge."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from agentcore_mcp.auth import get_user_token
from agentcore_mcp.client import ConnectOptions, open_client
from tests.auth._servers import IdpServer, idp_server
from tests.support.local import LocalAgentCoreHandle

CLIENT = "test-client-1"
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()


def url_for(handle: LocalAgentCoreHandle, arn: str) -> str:
    return handle.invocation_url(arn, "DEFAULT")


# --- Cognito, the embedded one ------------------------------------------------------


@pytest.fixture(scope="module")
def cognito(local_agentcore: LocalAgentCoreHandle) -> dict[str, str]:
    idp = local_agentcore.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="mcp-users")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="mcp",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool, Username="alice", Password="Passw0rd!x", Permanent=True
    )
    tokens = get_user_token(idp, client, "alice", "Passw0rd!x")
    return {
        "pool": pool,
        "client": client,
        "access": tokens.access_token,
        "id": tokens.id_token or "",
    }


@pytest.fixture(scope="module")
def cognito_runtime(
    local_agentcore: LocalAgentCoreHandle, cognito: dict[str, str]
) -> dict[str, Any]:
    discovery = (
        f"https://cognito-idp.us-east-1.amazonaws.com/{cognito['pool']}"
        "/.well-known/openid-configuration"
    )
    got = local_agentcore.create_runtime(
        "sample_cognito",
        authorizerConfiguration={
            "customJWTAuthorizer": {
                "discoveryUrl": discovery,
                "allowedClients": [cognito["client"]],
            }
        },
    )
    assert got["status"] == "READY", got
    return got


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_official_client_with_cognito_access_token(
    local_agentcore: LocalAgentCoreHandle,
    cognito: dict[str, str],
    cognito_runtime: dict[str, Any],
    era: str,
) -> None:
    options = ConnectOptions(
        url=url_for(local_agentcore, cognito_runtime["agentRuntimeArn"]),
        headers={"Authorization": f"Bearer {cognito['access']}"},
        protocol=era,  # type: ignore[arg-type]
    )
    async with open_client(options) as client:
        result = await client.call_tool("echo", {"text": "via cognito"})
    assert result.content[0].text == "via cognito"  # type: ignore[union-attr]


def test_id_token_where_access_token_expected_says_so(
    local_agentcore: LocalAgentCoreHandle, cognito: dict[str, str], cognito_runtime: dict[str, Any]
) -> None:
    assert cognito["id"], "the embedded Cognito issues ID tokens"
    r = httpx2.post(
        url_for(local_agentcore, cognito_runtime["agentRuntimeArn"]),
        content=PING,
        headers={**HEADERS, "authorization": f"Bearer {cognito['id']}"},
        timeout=60,
    )
    assert r.status_code == 401
    detail = r.json()["error"]["data"]["detail"]
    assert "ID token" in detail and "access token" in detail


def test_missing_token_challenge_and_protected_resource_metadata(
    local_agentcore: LocalAgentCoreHandle, cognito: dict[str, str], cognito_runtime: dict[str, Any]
) -> None:
    url = url_for(local_agentcore, cognito_runtime["agentRuntimeArn"])
    r = httpx2.post(url, content=PING, headers=HEADERS, timeout=60)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == -32001
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer resource_metadata="')
    metadata_url = challenge.split('"')[1]
    assert "/invocations/.well-known/oauth-protected-resource?qualifier=DEFAULT" in metadata_url
    doc = httpx2.get(metadata_url, timeout=60).json()
    assert doc["resource"].endswith("/invocations?qualifier=DEFAULT")
    assert doc["authorization_servers"] == [
        f"https://cognito-idp.us-east-1.amazonaws.com/{cognito['pool']}"
    ]
    assert doc["bearer_methods_supported"] == ["header"]


def test_sigv4_on_jwt_runtime_is_method_mismatch(
    local_agentcore: LocalAgentCoreHandle, cognito_runtime: dict[str, Any]
) -> None:
    data = local_agentcore.client("bedrock-agentcore")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        data.invoke_agent_runtime(
            agentRuntimeArn=cognito_runtime["agentRuntimeArn"],
            payload=PING,
            contentType="application/json",
            accept="application/json, text/event-stream",
        )
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


# --- a user's own IdP on loopback: the negative matrix -------------------------------

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"})
ROGUE = RSAKey.generate_key(2048, parameters={"kid": "rogue", "alg": "RS256"})


@pytest.fixture(scope="module")
def idp() -> Iterator[IdpServer]:
    with idp_server() as server:
        server.jwks = {"keys": [RSA.as_dict(private=False), EC.as_dict(private=False)]}
        yield server


@pytest.fixture(scope="module")
def own_idp_runtimes(local_agentcore: LocalAgentCoreHandle, idp: IdpServer) -> dict[str, str]:
    clients = local_agentcore.create_runtime(
        "own_idp_clients",
        authorizerConfiguration={
            "customJWTAuthorizer": {
                "discoveryUrl": idp.discovery_url,
                "allowedClients": [CLIENT],
                "allowedScopes": ["mcp/invoke"],
            }
        },
    )
    audience = local_agentcore.create_runtime(
        "own_idp_audience",
        authorizerConfiguration={
            "customJWTAuthorizer": {
                "discoveryUrl": idp.discovery_url,
                "allowedAudience": ["mcp-api"],
            }
        },
    )
    assert clients["status"] == audience["status"] == "READY"
    return {"clients": clients["agentRuntimeArn"], "audience": audience["agentRuntimeArn"]}


def claims(idp: IdpServer, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": idp.issuer,
        "sub": "u1",
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "mcp/invoke openid",
        "iat": now,
        "exp": now + 600,
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any = RSA, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(idp: IdpServer) -> str:
    import hashlib
    import hmac

    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims(idp)).encode())
    pem = RSA.as_pem(private=False)
    sig = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(sig)}"


def tampered(idp: IdpServer) -> str:
    head, _body, sig = sign(claims(idp)).split(".")
    return ".".join([head, b64(json.dumps(claims(idp, sub="admin")).encode()), sig])


MATRIX: dict[str, tuple[str, Callable[[IdpServer], str]]] = {
    "alg none": (
        "clients",
        lambda i: (
            f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(claims(i)).encode())}."
        ),
    ),
    "HS256 signed with the public key": ("clients", hs256_with_public_key),
    "wrong iss": ("clients", lambda i: sign(claims(i, iss="https://evil.example"))),
    "expired": (
        "clients",
        lambda i: sign(claims(i, exp=int(time.time()) - 600, iat=int(time.time()) - 1200)),
    ),
    "nbf in the future": ("clients", lambda i: sign(claims(i, nbf=int(time.time()) + 600))),
    "wrong client": ("clients", lambda i: sign(claims(i, client_id="someone-else"))),
    "wrong audience": ("audience", lambda i: sign(claims(i, aud="other-api", client_id=None))),
    "missing scope": ("clients", lambda i: sign(claims(i, scope="openid"))),
    "unknown kid": ("clients", lambda i: sign(claims(i), key=ROGUE)),
    "tampered payload": ("clients", tampered),
    "garbage": ("clients", lambda i: "not-a-jwt"),
}


@pytest.mark.parametrize(("which", "extra"), [("clients", {}), ("audience", {"aud": "mcp-api"})])
def test_valid_tokens_pass_rsa_and_ec(
    local_agentcore: LocalAgentCoreHandle,
    idp: IdpServer,
    own_idp_runtimes: dict[str, str],
    which: str,
    extra: dict[str, Any],
) -> None:
    for key, alg in ((RSA, "RS256"), (EC, "ES256")):
        token = sign(claims(idp, **extra), key=key, alg=alg)
        r = httpx2.post(
            url_for(local_agentcore, own_idp_runtimes[which]),
            content=PING,
            headers={**HEADERS, "authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.json()["result"] == {}


def test_rotated_key_is_fetched(
    local_agentcore: LocalAgentCoreHandle, idp: IdpServer, own_idp_runtimes: dict[str, str]
) -> None:
    new = RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "alg": "RS256"})
    idp.jwks = {"keys": [*idp.jwks["keys"], new.as_dict(private=False)]}
    token = sign(claims(idp), key=new)
    # The local AgentCore re-fetches a JWKS for an unknown kid at most every 5 s.
    deadline = time.monotonic() + 8
    while True:
        r = httpx2.post(
            url_for(local_agentcore, own_idp_runtimes["clients"]),
            content=PING,
            headers={**HEADERS, "authorization": f"Bearer {token}"},
            timeout=60,
        )
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        assert "rsa-2" in r.json()["error"]["data"]["detail"]
        time.sleep(0.5)
    assert r.status_code == 200, r.text
    assert idp.hits["/jwks.json"] >= 2


# After the rotation test: an unknown kid spends the JWKS re-fetch allowance.
@pytest.mark.parametrize("case", sorted(MATRIX))
def test_jwt_negative_matrix(
    local_agentcore: LocalAgentCoreHandle,
    idp: IdpServer,
    own_idp_runtimes: dict[str, str],
    case: str,
) -> None:
    which, make = MATRIX[case]
    url = url_for(local_agentcore, own_idp_runtimes[which])
    r = httpx2.post(
        url, content=PING, headers={**HEADERS, "authorization": f"Bearer {make(idp)}"}, timeout=60
    )
    assert r.status_code == 401, (case, r.text)
    assert r.headers["www-authenticate"].startswith('Bearer resource_metadata="')
    assert r.json()["error"]["code"] == -32001
    assert r.json()["error"]["data"]["detail"]
