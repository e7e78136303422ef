"""Issue 18: keys without a signature. AssumeRoleWithWebIdentity is served unsigned, as
AWS serves it, but only for a token STS would accept: signed by a registered OIDC
provider's keys, current, for one of its client ids, and allowed by the role's trust
policy. Each refusal is tried next to the real flow against the embedded Cognito, with
boto3 raising the exceptions it raises against AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import httpx2
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.auth._servers import IdpServer, idp_server
from tests.support.local import ACCOUNT, REGION, LocalAgentCoreHandle, run_local_agentcore

PASSWORD = "Passw0rd!web"
THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(tmp_path_factory.mktemp("webid")) as handle:
        yield handle


@dataclass
class Pool:
    pool_id: str
    issuer: str
    client_id: str  # the audience the trust policy names
    other_client_id: str  # registered with the provider, but not in the trust policy
    provider_arn: str
    role_arn: str  # trusts the provider, with aud = client_id


def anonymous(local: LocalAgentCoreHandle, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=local.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )


def federated_trust(provider_arn: str, conditions: dict[str, Any] | None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def pool(local: LocalAgentCoreHandle) -> Pool:
    """A user pool, two app clients and a user; an OIDC provider for the pool's issuer in
    the embedded IAM; a role that trusts it for the first client only."""
    idp, iam = local.client("cognito-idp"), local.client("iam")
    pool_id = idp.create_user_pool(PoolName="web")["UserPool"]["Id"]
    clients = [
        idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=name, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for name in ("app", "other-app")
    ]
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True
    )
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    provider_arn = iam.create_open_id_connect_provider(
        Url=issuer, ClientIDList=clients, ThumbprintList=[THUMBPRINT]
    )["OpenIDConnectProviderArn"]
    host_path = issuer.removeprefix("https://")
    role = iam.create_role(
        RoleName="web-identity-role",
        AssumeRolePolicyDocument=federated_trust(
            provider_arn, {"StringEquals": {f"{host_path}:aud": clients[0]}}
        ),
    )["Role"]
    return Pool(pool_id, issuer, clients[0], clients[1], provider_arn, role["Arn"])


def id_token(local: LocalAgentCoreHandle, client_id: str) -> str:
    """An ID token from the embedded Cognito, by unsigned InitiateAuth as an app does."""
    got = anonymous(local, "cognito-idp").initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    token: str = got["AuthenticationResult"]["IdToken"]
    return token


def assume(local: LocalAgentCoreHandle, role_arn: str, token: str) -> dict[str, Any]:
    got: dict[str, Any] = anonymous(local, "sts").assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="web", WebIdentityToken=token
    )
    return got


def refused(local: LocalAgentCoreHandle, role_arn: str, token: str) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        assume(local, role_arn, token)
    error: dict[str, str] = caught.value.response["Error"]
    return error


def test_a_junk_token_gets_no_keys(local: LocalAgentCoreHandle, pool: Pool) -> None:
    error = refused(local, pool.role_arn, "junk")
    assert error["Code"] == "InvalidIdentityToken"
    # nor does a token-shaped string that nobody signed
    unsigned = "eyJhbGciOiJub25lIn0." + _b64({"iss": pool.issuer, "aud": pool.client_id}) + "."
    assert refused(local, pool.role_arn, unsigned)["Code"] == "InvalidIdentityToken"


def test_a_token_signed_with_motos_packaged_cognito_key_is_not_the_pools(
    local: LocalAgentCoreHandle, pool: Pool
) -> None:
    """moto ships the private key it signs every pool's tokens with; this local AgentCore's
    Cognito signs with a key of its own, so a token forged with moto's is refused."""
    from moto.utilities.utils import load_resource

    packaged = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    now = int(time.time())
    claims = {
        "iss": pool.issuer,
        "aud": pool.client_id,
        "sub": "mallory",
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
    }
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, packaged)
    error = refused(local, pool.role_arn, forged)
    assert error["Code"] == "InvalidIdentityToken"
    assert "signature" in error["Message"].lower()


def test_the_trusted_audience_gets_keys_that_work_and_another_is_refused(
    local: LocalAgentCoreHandle, pool: Pool
) -> None:
    got = assume(local, pool.role_arn, id_token(local, pool.client_id))
    creds = got["Credentials"]
    s3 = boto3.client(
        "s3",
        endpoint_url=local.url,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert local.bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # The provider knows the other client, so its token passes the provider's check; the
    # trust policy's aud condition is what refuses it.
    error = refused(local, pool.role_arn, id_token(local, pool.other_client_id))
    assert error["Code"] == "AccessDenied"
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in error["Message"]


def test_a_role_without_a_federated_trust_is_refused(
    local: LocalAgentCoreHandle, pool: Pool
) -> None:
    # local.role_arn trusts bedrock-agentcore.amazonaws.com only (tests/support/local.py).
    error = refused(local, local.role_arn, id_token(local, pool.client_id))
    assert error["Code"] == "AccessDenied"
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    assert refused(local, missing, id_token(local, pool.client_id))["Code"] == "AccessDenied"


# --------------------------------------------------------------- an issuer the test signs for


@dataclass
class Issuer:
    server: IdpServer
    key: RSAKey

    def token(self, audience: str, *, expires_in: int = 3600, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.server.issuer,
            "aud": audience,
            "sub": "bob",
            "iat": now - 10,
            "exp": now + expires_in,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, payload, self.key)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    """An OIDC issuer on 127.0.0.1 (discovery + JWKS) whose key the test holds."""
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})
    with idp_server() as server:
        server.jwks = {"keys": [key.as_dict(private=False)]}
        yield Issuer(server, key)


def test_a_validly_signed_token_from_an_unregistered_issuer_is_refused(
    local: LocalAgentCoreHandle, issuer: Issuer
) -> None:
    role = local.client("iam").create_role(
        RoleName="trusts-an-unregistered-issuer",
        AssumeRolePolicyDocument=federated_trust(
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.server.issuer.removeprefix('http://')}",
            None,
        ),
    )["Role"]["Arn"]
    error = refused(local, role, issuer.token("client-a"))
    assert error["Code"] == "InvalidIdentityToken"
    assert "No OpenIDConnect provider found" in error["Message"]
    assert issuer.server.hits == {}  # refused before anything was fetched from the issuer


def test_a_registered_loopback_issuer_works_and_an_expired_token_does_not(
    local: LocalAgentCoreHandle, issuer: Issuer
) -> None:
    iam = local.client("iam")
    registered = iam.create_open_id_connect_provider(
        Url=issuer.server.issuer, ClientIDList=["client-a"], ThumbprintList=[THUMBPRINT]
    )["OpenIDConnectProviderArn"]
    host = issuer.server.issuer.removeprefix("http://")
    role = iam.create_role(
        RoleName="trusts-the-test-issuer",
        AssumeRolePolicyDocument=federated_trust(registered, {"StringLike": {f"{host}:sub": "b*"}}),
    )["Role"]["Arn"]
    assert assume(local, role, issuer.token("client-a"))["Credentials"]["AccessKeyId"]
    expired = refused(local, role, issuer.token("client-a", expires_in=-600))
    assert expired["Code"] == "ExpiredTokenException"
    # The provider's client list: an audience it does not know is refused by STS itself.
    assert refused(local, role, issuer.token("client-b"))["Code"] == "InvalidIdentityToken"
    # The trust policy's sub condition: StringLike "b*" does not match "mallory".
    assert refused(local, role, issuer.token("client-a", sub="mallory"))["Code"] == "AccessDenied"
    # Signed by another key with the same kid: not the issuer's.
    other = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    stranger = Issuer(issuer.server, other).token("client-a")
    assert refused(local, role, stranger)["Code"] == "InvalidIdentityToken"


def test_trust_policies_deny_and_fail_closed(local: LocalAgentCoreHandle, issuer: Issuer) -> None:
    iam = local.client("iam")
    host = issuer.server.issuer.removeprefix("http://")
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"
    if provider not in [
        p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    ]:
        iam.create_open_id_connect_provider(
            Url=issuer.server.issuer, ClientIDList=["client-a"], ThumbprintList=[THUMBPRINT]
        )
    allow = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": ["sts:AssumeRole*"],
        "Condition": {"ForAnyValue:StringLike": {f"{host}:aud": ["client-*"]}},
    }
    policies = {
        "allowed": [allow],
        "denied": [
            allow,
            {**allow, "Effect": "Deny", "Condition": {"StringEquals": {f"{host}:sub": "bob"}}},
        ],
        "unknown-operator": [{**allow, "Condition": {"NumericLessThan": {f"{host}:sub": "1"}}}],
        "other-provider": [{**allow, "Principal": {"Federated": provider + "x"}}],
    }
    outcomes = {}
    for name, statements in policies.items():
        role = iam.create_role(
            RoleName=f"policy-{name}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )["Role"]["Arn"]
        try:
            assume(local, role, issuer.token("client-a"))
            outcomes[name] = "keys"
        except ClientError as exc:
            outcomes[name] = exc.response["Error"]["Code"]
    assert outcomes == {
        "allowed": "keys",
        "denied": "AccessDenied",
        "unknown-operator": "AccessDenied",
        "other-provider": "AccessDenied",
    }


def test_an_issuer_whose_keys_cannot_be_had_within_bounds_is_refused(
    local: LocalAgentCoreHandle,
) -> None:
    """The local AgentCore fetches a registered issuer's JWKS: at most 1 MiB of it."""
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})
    with idp_server() as server:
        server.jwks = {"keys": [key.as_dict(private=False)], "padding": "x" * (2 << 20)}
        iam = local.client("iam")
        provider = iam.create_open_id_connect_provider(
            Url=server.issuer, ClientIDList=["client-a"], ThumbprintList=[THUMBPRINT]
        )["OpenIDConnectProviderArn"]
        role = iam.create_role(
            RoleName="trusts-a-huge-jwks",
            AssumeRolePolicyDocument=federated_trust(provider, None),
        )["Role"]["Arn"]
        error = refused(local, role, Issuer(server, key).token("client-a"))
        assert error["Code"] == "IDPCommunicationError"
        assert "1048576 bytes" in error["Message"]
        assert server.hits["/jwks.json"] == 1


def test_assume_role_with_saml_is_refused_unsigned(local: LocalAgentCoreHandle) -> None:
    with pytest.raises(ClientError) as caught:
        anonymous(local, "sts").assume_role_with_saml(
            RoleArn=local.role_arn,
            PrincipalArn=f"arn:aws:iam::{ACCOUNT}:saml-provider/none",
            SAMLAssertion="PHNhbWw+PC9zYW1sPg==",
        )
    assert caught.value.response["Error"]["Code"] == "InvalidIdentityToken"
    assert "SAML" in caught.value.response["Error"]["Message"]


def _b64(doc: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


# ---------------------------------------------- unsigned means what the embedded AWS runs


def test_an_action_label_in_the_query_does_not_make_an_s3_listing_unsigned(
    local: LocalAgentCoreHandle,
) -> None:
    got = httpx2.get(f"{local.url}/?Action=AssumeRoleWithWebIdentity")
    assert got.status_code == 403, got.text
    assert local.bucket not in got.text  # moto serves `GET /` as S3's ListBuckets


@pytest.mark.parametrize(
    ("path", "smuggled", "username"),
    [
        # moto's Cognito runs the query string's Action before the target's operation.
        ("/?Action=AdminCreateUser", {}, "mallory"),
        # With no form and no query string, moto reads the body as a form for an Action.
        ("/", {"x": "&Action=AdminCreateUser&y="}, "mallory-json"),
    ],
    ids=["in-the-query", "json-body-read-as-a-form"],
)
def test_an_unsigned_cognito_target_cannot_carry_a_signed_operation(
    local: LocalAgentCoreHandle, pool: Pool, path: str, smuggled: dict[str, str], username: str
) -> None:
    body = {"UserPoolId": pool.pool_id, "Username": username, "MessageAction": "SUPPRESS"}
    got = httpx2.post(
        f"{local.url}{path}",
        content=json.dumps({**body, **smuggled}),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
    )
    assert got.status_code in (400, 403), got.text
    users = local.client("cognito-idp").list_users(UserPoolId=pool.pool_id)["Users"]
    assert username not in [u["Username"] for u in users]


def test_a_well_known_path_cannot_carry_an_sts_call_in_its_body(
    local: LocalAgentCoreHandle, pool: Pool
) -> None:
    """A form body with an Action makes moto route the request to STS, whatever the path."""
    body = (
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=w"
        f"&RoleArn={quote(local.role_arn, safe='')}&WebIdentityToken=junk"
    )
    got = httpx2.request(
        "GET",
        f"{local.url}/{pool.pool_id}/.well-known/jwks.json",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert got.status_code == 403, got.text
    assert "SecretAccessKey" not in got.text
    # the same document without a body is served unsigned, as AWS serves it
    assert "keys" in httpx2.get(f"{local.url}/{pool.pool_id}/.well-known/jwks.json").json()
