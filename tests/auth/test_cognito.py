"""Cognito tokens via InitiateAuth, against moto's Cognito served on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agentcore_mcp.auth import (
    AudienceNotAllowedError,
    AuthorizerConfig,
    ClientNotAllowedError,
    CognitoAuthError,
    CognitoChallengeError,
    CognitoNotAuthorizedError,
    CognitoUserError,
    JwksCache,
    TokenSet,
    get_user_token,
    refresh,
    secret_hash,
    verify_bearer,
)
from tests.support.procs import free_port

REGION = "us-east-1"
PASSWORD = "Corr3ct-Horse-Battery!"


@dataclass
class Pool:
    endpoint: str
    client: Any
    pool_id: str
    client_id: str
    secret_client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        idp = boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pool_id = idp.create_user_pool(PoolName="auth-tests")["UserPool"]["Id"]
        flows: list[Any] = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="public", ExplicitAuthFlows=flows
        )["UserPoolClient"]["ClientId"]
        secret_client = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="confidential",
            ExplicitAuthFlows=flows,
            GenerateSecret=True,
        )["UserPoolClient"]
        idp.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True
        )
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username="newbie",
            TemporaryPassword=PASSWORD,
            MessageAction="SUPPRESS",
        )
        yield Pool(
            endpoint,
            idp,
            pool_id,
            client_id,
            secret_client["ClientId"],
            secret_client["ClientSecret"],
        )
    finally:
        server.stop()


def test_secret_hash_matches_the_documented_formula() -> None:
    expected = base64.b64encode(
        hmac.new(b"s3cret", b"alice" + b"client123", hashlib.sha256).digest()
    ).decode()
    assert secret_hash("alice", "client123", "s3cret") == expected


def test_get_user_token_and_refresh(pool: Pool) -> None:
    tokens = get_user_token(pool.client, pool.client_id, "alice", PASSWORD)
    assert tokens.access_token and tokens.id_token and tokens.refresh_token
    assert tokens.token_type == "Bearer"
    assert not tokens.expired()
    assert tokens.expired(datetime.now(UTC) + timedelta(seconds=tokens.expires_in + 1))

    again = refresh(pool.client, pool.client_id, tokens.refresh_token or "")
    assert again.access_token
    assert again.refresh_token == tokens.refresh_token  # kept when Cognito does not rotate it


def test_token_set_repr_hides_tokens(pool: Pool) -> None:
    tokens = get_user_token(pool.client, pool.client_id, "alice", PASSWORD)
    text = repr(tokens)
    assert tokens.access_token not in text
    assert tokens.refresh_token is not None and tokens.refresh_token not in text
    assert "expires_in" in text


def test_client_secret_adds_secret_hash(pool: Pool) -> None:
    tokens = get_user_token(
        pool.client, pool.secret_client_id, "alice", PASSWORD, client_secret=pool.client_secret
    )
    assert tokens.access_token
    with pytest.raises(CognitoAuthError, match="username="):
        refresh(
            pool.client,
            pool.secret_client_id,
            tokens.refresh_token or "",
            client_secret=pool.client_secret,
        )
    again = refresh(
        pool.client,
        pool.secret_client_id,
        tokens.refresh_token or "",
        client_secret=pool.client_secret,
        username="alice",
    )
    assert again.access_token


def test_wrong_password_does_not_leak_it(pool: Pool) -> None:
    with pytest.raises(CognitoNotAuthorizedError) as info:
        get_user_token(pool.client, pool.client_id, "alice", "wrong-Passw0rd!")
    assert "wrong-Passw0rd!" not in str(info.value)
    assert "NotAuthorizedException" in str(info.value)


def test_unknown_user(pool: Pool) -> None:
    with pytest.raises(CognitoUserError, match="does not exist"):
        get_user_token(pool.client, pool.client_id, "mallory", PASSWORD)


def test_revoked_refresh_token(pool: Pool) -> None:
    with pytest.raises(CognitoNotAuthorizedError, match="refresh token"):
        refresh(pool.client, pool.client_id, "not-a-refresh-token")


def test_new_password_challenge(pool: Pool) -> None:
    with pytest.raises(CognitoChallengeError, match="NEW_PASSWORD_REQUIRED") as info:
        get_user_token(pool.client, pool.client_id, "newbie", PASSWORD)
    assert info.value.challenge == "NEW_PASSWORD_REQUIRED"


def test_cognito_tokens_verify_as_agentcore_would(pool: Pool) -> None:
    """Access token + allowedClients passes; each token type fails the other check with a hint."""
    tokens: TokenSet = get_user_token(pool.client, pool.client_id, "alice", PASSWORD)
    discovery = f"{pool.endpoint}/{pool.pool_id}/.well-known/openid-configuration"
    cache = JwksCache()

    by_client = AuthorizerConfig(discovery_url=discovery, allowed_clients=(pool.client_id,))
    verified = verify_bearer(tokens.access_token, by_client, cache)
    assert verified.client_id == pool.client_id
    assert verified.issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"

    assert tokens.id_token
    with pytest.raises(ClientNotAllowedError, match="Cognito ID token"):
        verify_bearer(tokens.id_token, by_client, cache)

    by_audience = AuthorizerConfig(discovery_url=discovery, allowed_audience=(pool.client_id,))
    assert verify_bearer(tokens.id_token, by_audience, cache).audience == (pool.client_id,)
    claims = verify_bearer(tokens.access_token, by_client, cache).claims
    if "aud" not in claims:  # moto may add aud to access tokens; real Cognito does not
        with pytest.raises(AudienceNotAllowedError, match="Cognito access token"):
            verify_bearer(tokens.access_token, by_audience, cache)
