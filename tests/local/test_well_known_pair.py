"""Issue 18: the well-known `test`/`test` pair. It is public, and a URL presigned with it
needs no header and no CORS: `<img src>` on any web page makes the browser send it to
127.0.0.1 with a loopback Host and no Origin. Such URLs are refused, as is a GET that
changes something; the local AgentCore's own key still presigns, and the one the
deployer starts by itself refuses the pair altogether.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from agentcore_mcp.local.credentials import read_local_credentials
from tests.support.local import REGION, TRUST_POLICY, LocalAgentCoreHandle, run_local_agentcore
from tests.support.procs import free_port


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(tmp_path_factory.mktemp("pair")) as handle:
        iam = handle.client("iam")
        iam.create_user(UserName="victim")
        iam.create_role(RoleName="victim-role", AssumeRolePolicyDocument=_json(TRUST_POLICY))
        yield handle


def _json(doc: Any) -> str:
    import json

    return json.dumps(doc)


def well_known(local: LocalAgentCoreHandle, service: str, **kw: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=local.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, **kw),
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("create_user", {"UserName": "mallory"}),
        ("create_access_key", {"UserName": "victim"}),
        ("delete_role", {"RoleName": "victim-role"}),
    ],
)
def test_a_presigned_iam_write_with_the_well_known_pair_is_refused(
    local: LocalAgentCoreHandle, operation: str, params: dict[str, str]
) -> None:
    url = well_known(local, "iam").generate_presigned_url(operation, Params=params)
    got = httpx2.get(url)  # what <img src=url> sends: a GET, loopback Host, no Origin
    assert got.status_code == 403, got.text
    assert "<Code>InvalidClientTokenId</Code>" in got.text
    assert "presigned" in got.text and "local env" in got.text
    iam = local.client("iam")
    assert "mallory" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert iam.list_access_keys(UserName="victim")["AccessKeyMetadata"] == []
    assert iam.get_role(RoleName="victim-role")["Role"]["RoleName"] == "victim-role"


@pytest.mark.parametrize("signature_version", ["s3v4", None])
def test_presigned_s3_downloads_need_a_key_other_than_the_well_known_pair(
    local: LocalAgentCoreHandle, signature_version: str | None
) -> None:
    creds = read_local_credentials(local.home)
    assert creds is not None
    own = boto3.client(
        "s3", **creds.boto3_kwargs(), config=Config(signature_version=signature_version)
    )
    own.put_object(Bucket=local.bucket, Key="report.txt", Body=b"report")
    params = {"Bucket": local.bucket, "Key": "report.txt"}
    assert httpx2.get(own.generate_presigned_url("get_object", Params=params)).content == (
        b"report"
    )
    pair = well_known(local, "s3", signature_version=signature_version)
    got = httpx2.get(pair.generate_presigned_url("get_object", Params=params))
    assert got.status_code == 403
    assert "<Code>InvalidAccessKeyId</Code>" in got.text
    # Header-signed, as an SDK or the CLI sends it, the pair still works.
    assert pair.get_object(**params)["Body"].read() == b"report"


def _signed_get(
    local: LocalAgentCoreHandle, query: str, key: str, secret: str, form: str = ""
) -> httpx2.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    request = AWSRequest(method="GET", url=f"{local.url}/?{query}", data=form, headers=headers)
    SigV4Auth(Credentials(key, secret), "iam", REGION).add_auth(request)
    return httpx2.request(
        "GET", request.url, content=form.encode(), headers=dict(request.headers.items())
    )


def test_a_get_that_changes_something_is_refused_for_the_pair_and_reads_work(
    local: LocalAgentCoreHandle,
) -> None:
    refused = _signed_get(
        local, "Action=CreateUser&Version=2010-05-08&UserName=eve", "test", "test"
    )
    assert refused.status_code == 403, refused.text
    assert "<Code>InvalidClientTokenId</Code>" in refused.text
    listed = _signed_get(local, "Action=ListUsers&Version=2010-05-08", "test", "test")
    assert listed.status_code == 200 and "<UserName>victim</UserName>" in listed.text
    # A read in the query and a write in a form body: moto runs the form's.
    smuggled = _signed_get(
        local,
        "Action=ListUsers&Version=2010-05-08",
        "test",
        "test",
        form="Action=CreateUser&Version=2010-05-08&UserName=eve",
    )
    assert smuggled.status_code == 403, smuggled.text
    creds = read_local_credentials(local.home)
    assert creds is not None
    own = _signed_get(
        local,
        "Action=CreateUser&Version=2010-05-08&UserName=own-get",
        creds.access_key_id,
        creds.secret_access_key,
    )
    assert own.status_code == 200, own.text
    users = [u["UserName"] for u in local.client("iam").list_users()["Users"]]
    assert "own-get" in users and "eve" not in users


@pytest.mark.slow  # starts a local AgentCore in the background, as the deployer does
def test_the_local_agentcore_the_deployer_starts_refuses_the_well_known_pair(
    tmp_path: Path,
) -> None:
    from agentcore_mcp.deploy.config import load_config
    from agentcore_mcp.deploy.target import open_target
    from agentcore_mcp.local.process import stop_background
    from agentcore_mcp.local.service import LocalSettings

    home, port = tmp_path / "home", free_port()
    try:
        target = open_target(load_config(tmp_path, local_home=home, local_port=port))
        assert target.started_local
        assert target.client("s3").list_buckets()["Buckets"] == []  # its own key works
        pair = boto3.client(
            "s3",
            endpoint_url=target.endpoint_url,
            region_name=target.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        with pytest.raises(ClientError) as caught:
            pair.list_buckets()
        assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    finally:
        with contextlib.suppress(Exception):
            stop_background(LocalSettings(home=home, port=port))
