"""Issue 8's high-severity hole, closed: nobody who merely reaches the port can mint keys,
read code or deploy it. Every step of the probe's chain is tried with a fake signature and
with a rebinding Host/Origin, and refused; legitimate boto3 use of each embedded service
still works, presigned S3 URLs included.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
import httpx2
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from agentcore_mcp.local.credentials import credentials_path, read_local_credentials
from tests.support.local import (
    ACCOUNT,
    CREDS,
    REGION,
    TRUST_POLICY,
    LocalAgentCoreHandle,
    local_agentcore_fixture,
    run_local_agentcore,
)

FAKE_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE0000/{day}/us-east-1/{svc}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
REBIND = {"Host": "evil.example:8700", "Origin": "http://evil.example:8700"}


local = local_agentcore_fixture("guard")


@pytest.fixture(scope="module")
def runtime(local: LocalAgentCoreHandle) -> dict[str, Any]:
    got = local.create_runtime("guarded")
    assert got["status"] == "READY", got
    return got


def fake_headers(svc: str, **extra: str) -> dict[str, str]:
    """A well-formed, current SigV4 header with a made-up key and signature."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    auth = FAKE_AUTH.format(svc=svc, day=now[:8])
    return {"Authorization": auth, "X-Amz-Date": now, **extra}


def client_with(
    local: LocalAgentCoreHandle,
    service: str,
    key: str,
    secret: str,
    *,
    signature_version: str | None = None,
    **kw: Any,
) -> Any:
    return boto3.client(
        service,
        endpoint_url=local.url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, signature_version=signature_version),
        **kw,
    )


# --------------------------------------------------------------------------- the chain


def test_status_needs_the_admin_token_and_a_loopback_host(local: LocalAgentCoreHandle) -> None:
    bare = httpx2.get(f"{local.url}/_local/status")
    assert bare.status_code == 401
    assert "admin token" in bare.json()["message"]
    assert (
        "Bearer"
        in httpx2.get(
            f"{local.url}/_local/status", headers={"Authorization": "Bearer wrong"}
        ).json()["message"]
    )
    # Even the right token is refused from a rebinding page.
    token = local.admin_headers()
    for extra in ({"Host": REBIND["Host"]}, {"Origin": REBIND["Origin"]}):
        refused = httpx2.get(f"{local.url}/_local/status", headers={**token, **extra})
        assert refused.status_code == 403, extra
    ok = httpx2.get(f"{local.url}/_local/status", headers=token)
    assert ok.status_code == 200 and "sessions" in ok.json()
    # Liveness says nothing but "ok", so it needs no token (still loopback only).
    assert httpx2.get(f"{local.url}/_local/health").json() == {"status": "ok"}
    assert httpx2.get(f"{local.url}/_local/health", headers=REBIND).status_code == 403


@pytest.mark.parametrize("action", ["CreateUser", "CreateAccessKey", "CreateRole"])
def test_iam_with_a_fake_signature_is_refused_as_iam_refuses(
    local: LocalAgentCoreHandle, action: str
) -> None:
    body = f"Action={action}&Version=2010-05-08&UserName=mallory&RoleName=mallory"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in (fake_headers("iam", **form), {**fake_headers("iam", **form), **REBIND}):
        got = httpx2.post(local.url + "/", content=body, headers=headers)
        assert got.status_code == 403, got.text
    got = httpx2.post(local.url + "/", content=body, headers=fake_headers("iam", **form))
    assert "<Code>InvalidClientTokenId</Code>" in got.text
    # No signature at all: the query protocol's own code.
    unsigned = httpx2.post(local.url + "/", content=body, headers=form)
    assert unsigned.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in unsigned.text
    # Nothing was made.
    iam = local.client("iam")
    assert "mallory" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert "mallory" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_boto3_with_unknown_or_wrong_keys_raises_what_aws_raises(
    local: LocalAgentCoreHandle,
) -> None:
    unknown = client_with(local, "iam", "AKIAUNKNOWN000000000", "x" * 40)
    with pytest.raises(ClientError) as caught:
        unknown.create_user(UserName="mallory")
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert "AKIAUNKNOWN000000000" in caught.value.response["Error"]["Message"]
    wrong = client_with(local, "iam", CREDS["AWS_ACCESS_KEY_ID"], "wrong-secret")
    with pytest.raises(ClientError) as caught:
        wrong.create_access_key(UserName="anyone")
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    s3 = client_with(local, "s3", CREDS["AWS_ACCESS_KEY_ID"], "wrong-secret")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=local.bucket, Key="evil.zip", Body=b"PK")
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    sm = client_with(local, "secretsmanager", "AKIAUNKNOWN000000000", "x" * 40)
    with pytest.raises(ClientError) as caught:
        sm.list_secrets()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_code_zips_cannot_be_read_or_replaced_without_a_signature(
    local: LocalAgentCoreHandle, runtime: dict[str, Any]
) -> None:
    key = local.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=runtime["agentRuntimeId"]
    )["agentRuntimeArtifact"]["codeConfiguration"]["code"]["s3"]["prefix"]
    url = f"{local.url}/{local.bucket}/{key}"
    for headers in ({}, fake_headers("s3"), {**fake_headers("s3"), **REBIND}):
        got = httpx2.get(url, headers=headers)
        assert got.status_code == 403, headers
        assert b"PK" not in got.content
    assert "<Code>AccessDenied</Code>" in httpx2.get(url).text
    assert "<Code>InvalidAccessKeyId</Code>" in httpx2.get(url, headers=fake_headers("s3")).text
    put = httpx2.put(url, content=b"PK-evil", headers=fake_headers("s3"))
    assert put.status_code == 403
    # The real object is unchanged and readable by its owner.
    body = local.client("s3").get_object(Bucket=local.bucket, Key=key)["Body"].read()
    assert body.startswith(b"PK\x03\x04")


def test_runtime_creation_with_a_fake_signature_or_rebinding_host_is_refused(
    local: LocalAgentCoreHandle,
) -> None:
    doc = {
        "agentRuntimeName": "evil",
        "roleArn": local.role_arn,
        "agentRuntimeArtifact": {
            "codeConfiguration": {
                "code": {"s3": {"bucket": local.bucket, "prefix": "x.zip"}},
                "runtime": "PYTHON_3_11",
                "entryPoint": ["main.py"],
            }
        },
        "networkConfiguration": {"networkMode": "PUBLIC"},
    }
    for headers in (
        fake_headers("bedrock-agentcore"),
        {**fake_headers("bedrock-agentcore"), **REBIND},
    ):
        got = httpx2.put(f"{local.url}/runtimes/", json=doc, headers=headers)
        assert got.status_code == 403, got.text
    names = [
        r["agentRuntimeName"]
        for r in local.client("bedrock-agentcore-control").list_agent_runtimes()["agentRuntimes"]
    ]
    assert "evil" not in names


def test_invocation_from_a_rebinding_page_is_refused_before_auth(
    local: LocalAgentCoreHandle, runtime: dict[str, Any]
) -> None:
    arn = quote(runtime["agentRuntimeArn"], safe="")
    got = httpx2.post(
        f"{local.url}/runtimes/{arn}/invocations",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={**fake_headers("bedrock-agentcore"), **REBIND},
    )
    assert got.status_code == 403
    assert "loopback" in got.json()["message"]


# --------------------------------------------------------------------------- legitimate use


def test_local_credentials_file_is_private_and_its_key_works(local: LocalAgentCoreHandle) -> None:
    path = credentials_path(local.home)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    creds = read_local_credentials(local.home)
    assert creds is not None and creds.url == local.url and creds.region == REGION
    assert creds.secret_access_key not in repr(creds) and creds.admin_token not in repr(creds)
    iam = boto3.client("iam", **creds.boto3_kwargs())
    assert any(r["RoleName"] == "AgentCoreRuntimeRole" for r in iam.list_roles()["Roles"])
    control = boto3.client("bedrock-agentcore-control", **creds.boto3_kwargs())
    assert "agentRuntimes" in control.list_agent_runtimes()


def test_each_embedded_service_works_for_signed_boto3(local: LocalAgentCoreHandle) -> None:
    iam = local.client("iam")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    # A key the embedded IAM issued works at once, for every service.
    s3 = client_with(local, "s3", key["AccessKeyId"], key["SecretAccessKey"])
    s3.put_object(Bucket=local.bucket, Key="alice.txt", Body=b"hello")
    assert s3.get_object(Bucket=local.bucket, Key="alice.txt")["Body"].read() == b"hello"
    sts = local.client("sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT
    assumed = sts.assume_role(RoleArn=local.role_arn, RoleSessionName="guard-test")["Credentials"]
    sm = client_with(
        local,
        "secretsmanager",
        assumed["AccessKeyId"],
        assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    sm.create_secret(Name="guard-test", SecretString="s3cr3t")
    assert sm.get_secret_value(SecretId="guard-test")["SecretString"] == "s3cr3t"
    # An assumed role's key without its session token is not enough.
    no_token = client_with(
        local, "secretsmanager", assumed["AccessKeyId"], assumed["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as caught:
        no_token.list_secrets()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    ssm = local.client("ssm")
    ssm.put_parameter(Name="/guard/p", Value="v", Type="String")
    assert ssm.get_parameter(Name="/guard/p")["Parameter"]["Value"] == "v"
    logs = local.client("logs")
    logs.create_log_group(logGroupName="/guard/logs")
    assert logs.describe_log_groups(logGroupNamePrefix="/guard")["logGroups"]
    ecr = local.client("ecr")
    ecr.create_repository(repositoryName="guard-repo")
    assert ecr.describe_repositories()["repositories"]
    iam.create_role(RoleName="guard-role", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))


@pytest.mark.parametrize("signature_version", ["s3v4", None])
def test_presigned_urls_from_a_known_key_work_and_tampered_ones_do_not(
    local: LocalAgentCoreHandle, signature_version: str | None
) -> None:
    # boto3 presigns S3 with SigV2 unless told s3v4; both forms must keep working.
    s3 = client_with(
        local,
        "s3",
        CREDS["AWS_ACCESS_KEY_ID"],
        CREDS["AWS_SECRET_ACCESS_KEY"],
        signature_version=signature_version,
    )
    s3.put_object(Bucket=local.bucket, Key="shared.txt", Body=b"shared")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": local.bucket, "Key": "shared.txt"}, ExpiresIn=300
    )
    assert httpx2.get(url).content == b"shared"
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": local.bucket, "Key": "up.txt"}, ExpiresIn=300
    )
    assert httpx2.put(put_url, content=b"uploaded").status_code == 200
    assert s3.get_object(Bucket=local.bucket, Key="up.txt")["Body"].read() == b"uploaded"
    tampered = url.replace("shared.txt", "up.txt")
    got = httpx2.get(tampered)
    assert got.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in got.text
    foreign = client_with(
        local, "s3", "AKIAUNKNOWN000000000", "x" * 40, signature_version=signature_version
    ).generate_presigned_url("get_object", Params={"Bucket": local.bucket, "Key": "shared.txt"})
    assert "<Code>InvalidAccessKeyId</Code>" in httpx2.get(foreign).text
    assert httpx2.get(url, headers={"Host": REBIND["Host"]}).status_code == 403


def test_what_aws_serves_unsigned_stays_unsigned_but_loopback_only(
    local: LocalAgentCoreHandle,
) -> None:
    idp = local.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="guard")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool, Username="u", Password="Passw0rd!x", Permanent=True
    )
    anon = boto3.client(
        "cognito-idp",
        endpoint_url=local.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED),
    )
    tokens = anon.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "u", "PASSWORD": "Passw0rd!x"},
    )["AuthenticationResult"]
    assert tokens["AccessToken"]
    with pytest.raises(ClientError):  # SignUp is unsigned on AWS; it reaches moto here too
        anon.sign_up(ClientId=client_id, Username="u", Password="Passw0rd!x")
    # An operation AWS signs stays signed, even for Cognito.
    with pytest.raises(ClientError) as caught:
        anon.list_user_pools(MaxResults=5)
    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    jwks = httpx2.get(f"{local.url}/{pool}/.well-known/jwks.json")
    assert jwks.status_code == 200 and "keys" in jwks.json()
    assert (
        httpx2.get(f"{local.url}/{pool}/.well-known/jwks.json", headers=REBIND).status_code == 403
    )
    web = boto3.client(
        "sts", endpoint_url=local.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )
    # Served unsigned, so STS itself answers: no OIDC provider is registered for this
    # pool (the whole web identity flow: tests/local/test_web_identity.py).
    with pytest.raises(ClientError) as caught:
        web.assume_role_with_web_identity(
            RoleArn=local.role_arn, RoleSessionName="web", WebIdentityToken=tokens["IdToken"]
        )
    assert caught.value.response["Error"]["Code"] == "InvalidIdentityToken"
    # The same unsigned call from a rebinding page is refused.
    body = (
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=w"
        f"&RoleArn={quote(local.role_arn, safe='')}&WebIdentityToken=x"
    )
    refused = httpx2.post(
        local.url + "/",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **REBIND},
    )
    assert refused.status_code == 403


def test_the_rest_of_the_control_plane_is_served_by_the_embedded_aws(
    local: LocalAgentCoreHandle,
) -> None:
    """Gateways and memories go to moto's bedrock-agentcore-control models, signed."""
    control = local.client("bedrock-agentcore-control")
    gateway = control.create_gateway(
        name="guard-gateway",
        roleArn=local.role_arn,
        protocolType="MCP",
        authorizerType="AWS_IAM",
    )
    assert control.get_gateway(gatewayIdentifier=gateway["gatewayId"])["name"] == "guard-gateway"
    assert [g["gatewayId"] for g in control.list_gateways()["items"]] == [gateway["gatewayId"]]
    memory = control.create_memory(name="guard_memory", eventExpiryDuration=30)["memory"]
    assert control.get_memory(memoryId=memory["id"])["memory"]["name"] == "guard_memory"
    control.delete_memory(memoryId=memory["id"])
    control.delete_gateway(gatewayIdentifier=gateway["gatewayId"])
    assert control.list_gateways()["items"] == []
    # Runtimes stay ours, on the same client.
    assert "agentRuntimes" in control.list_agent_runtimes()
    forged = client_with(local, "bedrock-agentcore-control", "AKIAUNKNOWN000000000", "x" * 40)
    with pytest.raises(ClientError) as caught:
        forged.list_gateways()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


# --------------------------------------------------------------------------- credentials


def test_the_well_known_pair_works_and_unknown_keys_are_told_what_works(
    local: LocalAgentCoreHandle,
) -> None:
    test_pair = client_with(local, "s3", "test", "test")
    assert local.bucket in [b["Name"] for b in test_pair.list_buckets()["Buckets"]]
    control = client_with(local, "bedrock-agentcore-control", "test", "test")
    assert "agentRuntimes" in control.list_agent_runtimes()
    unknown = client_with(local, "bedrock-agentcore-control", "AKIAUNKNOWN000000000", "x" * 40)
    with pytest.raises(ClientError) as caught:
        unknown.list_agent_runtimes()
    message = caught.value.response["Error"]["Message"]
    creds = read_local_credentials(local.home)
    assert creds is not None
    assert "AKIAUNKNOWN000000000" in message  # names the key it did not know
    assert creds.access_key_id in message and "local env" in message  # and what works
    assert creds.secret_access_key not in message


def test_local_env_prints_exports_that_boto3_accepts(local: LocalAgentCoreHandle) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "local", "env", "--home", str(local.home)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    assert exports["AWS_ENDPOINT_URL"] == local.url
    s3 = boto3.client(
        "s3",
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name=exports["AWS_REGION"],
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )
    assert local.bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_strict_credentials_refuses_the_well_known_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with run_local_agentcore(
        tmp_path_factory.mktemp("strict"), extra_args=("--strict-credentials",)
    ) as strict:
        with pytest.raises(ClientError) as caught:
            client_with(strict, "s3", "test", "test").list_buckets()
        assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        assert "test/test" not in caught.value.response["Error"]["Message"]
        # Its own key and the starter's still work.
        creds = read_local_credentials(strict.home)
        assert creds is not None
        assert boto3.client("s3", **creds.boto3_kwargs()).list_buckets()["Buckets"]
        assert strict.client("s3").list_buckets()["Buckets"]
