"""Issue 18's gateway doors, closed on one real local AgentCore process:

- moto's own routes (`/moto-api/...`: reset, a state dump with secret keys, seeding,
  recording, proxy passthrough; its dashboard; its metadata emulation) are refused with
  a 404 whatever the signature, the well-known test/test pair's and this start's own;
- request bodies bound for the control plane and moto are bounded per route while they
  are read: a declared Content-Length over the bound is refused before a byte of the
  body, a chunked body as soon as it passes the bound, each with 413 in the service's
  own error shape; an S3 upload past the small bound still works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest
from botocore.credentials import Credentials
from moto.moto_api._internal.urls import url_paths

from agentcore_mcp.auth import SigV4Httpx2Auth
from agentcore_mcp.local.credentials import read_local_credentials
from agentcore_mcp.local.gateway import (
    MAX_AWS_REQUEST_BYTES,
    MAX_CONTROL_REQUEST_BYTES,
    MAX_S3_UPLOAD_BYTES,
)
from tests.support.local import CREDS, REGION, LocalAgentCoreHandle, run_local_agentcore
from tests.support.raw_http import send_chunked_until_answered, send_declared_length


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(tmp_path_factory.mktemp("doors")) as handle:
        handle.client("s3").put_object(Bucket=handle.bucket, Key="keep.txt", Body=b"kept")
        yield handle


def moto_paths() -> list[str]:
    """Every path of moto's own URL table, as a client would send it."""
    paths = [p.replace("{0}", "").removesuffix("$") for p in url_paths]
    assert "/moto-api/reset" in paths and "/moto-api/data.json" in paths
    return [*paths, "/moto-api", "/favicon.ico", "/latest/meta-data/", "/latest/api/token"]


# The same routes spelled so that a decoder or a URL normalizer on the way makes them
# moto's again.
DISGUISED = [
    "/%6Doto-api/reset",
    "/moto%2Dapi/data.json",
    "//moto-api/reset",
    "/./moto-api/reset",
    "/x/../moto-api/reset",
    "/MOTO-API/reset",
]


def signers(local: LocalAgentCoreHandle) -> list[SigV4Httpx2Auth]:
    own = read_local_credentials(local.home)
    assert own is not None
    keys = [("test", "test"), (own.access_key_id, own.secret_access_key)]
    keys.append((CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"]))
    return [
        SigV4Httpx2Auth(Credentials(key, secret), region=REGION, service=service)
        for key, secret in keys
        for service in ("s3", "sts")
    ]


def test_moto_own_routes_are_refused_whatever_the_signature(local: LocalAgentCoreHandle) -> None:
    s3 = local.client("s3")
    # Full URLs: httpx2 would read a path starting with // as a host when joining one.
    with httpx2.Client(trust_env=False, timeout=30) as http:
        for auth in signers(local):
            for path in moto_paths() + DISGUISED:
                for method in ("GET", "POST"):
                    got = http.request(method, local.url + path, content=b"{}", auth=auth)
                    assert got.status_code == 404, (method, path, got.status_code, got.text)
                    assert got.headers["x-amzn-errortype"] == "UnknownOperationException"
                    assert "not an AWS API" in got.json()["message"]
                    assert "aws_secret_access_key" not in got.text.lower()
        unsigned = http.post(f"{local.url}/moto-api/reset")
        assert unsigned.status_code == 404
    # Nothing was reset: the bucket, its object and the role are all still there.
    assert s3.get_object(Bucket=local.bucket, Key="keep.txt")["Body"].read() == b"kept"
    assert local.client("iam").get_role(RoleName="AgentCoreRuntimeRole")["Role"]["Arn"]


def scoped(service: str) -> dict[str, str]:
    """A well-formed current SigV4 header for `service` (the bound comes before the
    signature check, so the signature itself need not verify)."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    auth = (
        f"AWS4-HMAC-SHA256 Credential={CREDS['AWS_ACCESS_KEY_ID']}/{now[:8]}/{REGION}/"
        f"{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    )
    return {"Authorization": auth, "X-Amz-Date": now, "Content-Type": "application/json"}


def port_of(local: LocalAgentCoreHandle) -> int:
    return int(local.url.rsplit(":", 1)[1])


def test_a_declared_length_over_the_bound_is_refused_before_the_body(
    local: LocalAgentCoreHandle,
) -> None:
    """Only the request's head is sent: an answer at all proves nothing was waited for."""
    port = port_of(local)
    s3_put = send_declared_length(
        port,
        "/agentcore-code/huge.zip",
        MAX_S3_UPLOAD_BYTES + 1,
        method="PUT",
        headers=scoped("s3"),
    )
    assert s3_put.startswith(b"HTTP/1.1 413 "), s3_put[:300]
    assert b"<Code>EntityTooLarge</Code>" in s3_put
    iam = send_declared_length(port, "/", MAX_AWS_REQUEST_BYTES + 1, headers=scoped("iam"))
    assert iam.startswith(b"HTTP/1.1 413 "), iam[:300]
    assert b"<Code>RequestEntityTooLarge</Code>" in iam and b"<ErrorResponse>" in iam
    logs = send_declared_length(port, "/", MAX_AWS_REQUEST_BYTES + 1, headers=scoped("logs"))
    assert logs.startswith(b"HTTP/1.1 413 "), logs[:300]
    doc = json.loads(logs.split(b"\r\n\r\n", 1)[1])
    assert doc["__type"] == "RequestEntityTooLargeException"
    assert f"{MAX_AWS_REQUEST_BYTES} byte limit" in doc["message"]
    control = send_declared_length(
        port, "/runtimes/", MAX_CONTROL_REQUEST_BYTES + 1, headers=scoped("bedrock-agentcore")
    )
    assert control.startswith(b"HTTP/1.1 413 "), control[:300]
    assert b"x-amzn-errortype: validationexception" in control.lower()


def test_a_chunked_body_over_the_bound_is_refused_while_it_is_read(
    local: LocalAgentCoreHandle,
) -> None:
    port = port_of(local)
    sts = send_chunked_until_answered(
        port, "/", MAX_AWS_REQUEST_BYTES + (4 << 20), headers=scoped("sts")
    )
    assert sts.startswith(b"HTTP/1.1 413 "), sts[:300]
    assert b"<Code>RequestEntityTooLarge</Code>" in sts
    control = send_chunked_until_answered(
        port,
        "/runtimes/",
        MAX_CONTROL_REQUEST_BYTES + (4 << 20),
        headers=scoped("bedrock-agentcore"),
    )
    assert control.startswith(b"HTTP/1.1 413 "), control[:300]
    assert f"{MAX_CONTROL_REQUEST_BYTES} byte limit".encode() in control
    # The service still answers, and an S3 upload past the small bound works.
    body = b"z" * (MAX_AWS_REQUEST_BYTES + (1 << 20))
    client = local.client("s3")
    client.put_object(Bucket=local.bucket, Key="big.bin", Body=body)
    assert client.get_object(Bucket=local.bucket, Key="big.bin")["Body"].read() == body


def test_head_object_says_the_objects_size(local: LocalAgentCoreHandle) -> None:
    """moto's Content-Length is relayed: HeadObject's ContentLength is the only size an
    S3 client has before it downloads (it was dropped with the hop-by-hop headers)."""
    client = local.client("s3")
    client.put_object(Bucket=local.bucket, Key="sized.bin", Body=b"q" * 12345)
    head = client.head_object(Bucket=local.bucket, Key="sized.bin")
    assert head["ContentLength"] == 12345
    got = client.get_object(Bucket=local.bucket, Key="sized.bin")
    assert got["ContentLength"] == 12345 and got["Body"].read() == b"q" * 12345
