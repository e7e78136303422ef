"""SigV4 negative matrix against the data plane: every case refused with 403, no challenge."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx2
import pytest
from botocore.credentials import Credentials

from agentcore_mcp.auth import SigV4Signer
from tests.support.local import CREDS, REGION, LocalAgentCoreHandle

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
GOOD = Credentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"])
BASE_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme",
    # One session for every accepted request here: without it the service makes one up
    # per request, and each would start an instance that no test looks at.
    "x-amzn-bedrock-agentcore-runtime-session-id": "sigv4-matrix-" + "0" * 36,
}


def signed_request(
    url: str,
    *,
    service: str = "bedrock-agentcore",
    region: str = REGION,
    credentials: Credentials = GOOD,
    now: datetime | None = None,
    body: bytes = BODY,
) -> dict[str, str]:
    signer = SigV4Signer(credentials, region=region, service=service)
    return {**BASE_HEADERS, **signer.sign("POST", url, BASE_HEADERS, body, now=now)}


Mutation = Callable[[str], tuple[dict[str, str], bytes]]


def _cases() -> dict[str, Mutation]:
    return {
        "tampered body": lambda url: (signed_request(url), BODY.replace(b"ping", b"pong")),
        "tampered signed header": lambda url: (
            {**signed_request(url), "x-amzn-bedrock-agentcore-runtime-custom-tenant": "evil"},
            BODY,
        ),
        "wrong service": lambda url: (signed_request(url, service="bedrock"), BODY),
        "wrong region": lambda url: (signed_request(url, region="eu-west-1"), BODY),
        "expired": lambda url: (
            signed_request(url, now=datetime.now(UTC) - timedelta(minutes=10)),
            BODY,
        ),
        "from the future": lambda url: (
            signed_request(url, now=datetime.now(UTC) + timedelta(minutes=10)),
            BODY,
        ),
        "unknown key": lambda url: (
            signed_request(url, credentials=Credentials("AKIAUNKNOWNKEY000000", "x" * 40)),
            BODY,
        ),
        "wrong secret": lambda url: (
            signed_request(url, credentials=Credentials(CREDS["AWS_ACCESS_KEY_ID"], "y" * 40)),
            BODY,
        ),
        "no signature": lambda url: (dict(BASE_HEADERS), BODY),
    }


CASES = _cases()


@pytest.fixture(scope="module")
def url(local_agentcore: LocalAgentCoreHandle, sigv4_runtime: dict[str, object]) -> str:
    arn = quote(str(sigv4_runtime["agentRuntimeArn"]), safe="")
    return f"{local_agentcore.url}/runtimes/{arn}/invocations?qualifier=DEFAULT"


def test_control_case_is_accepted(url: str) -> None:
    r = httpx2.post(url, content=BODY, headers=signed_request(url), timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_403_and_no_challenge(url: str, case: str) -> None:
    headers, body = CASES[case](url)
    r = httpx2.post(url, content=body, headers=headers, timeout=60)
    assert r.status_code == 403, (case, r.text)
    assert "www-authenticate" not in r.headers
    assert r.headers["x-amzn-errortype"] == "AccessDeniedException"
    doc = r.json()
    assert doc["error"]["code"] == -32002
    assert doc["error"]["data"]["detail"]  # says what went wrong
    # The service keeps serving.
    ok = httpx2.post(url, content=BODY, headers=signed_request(url), timeout=60)
    assert ok.status_code == 200


def test_bearer_on_sigv4_runtime_is_method_mismatch(url: str) -> None:
    r = httpx2.post(
        url, content=BODY, headers={**BASE_HEADERS, "authorization": "Bearer abc.def.ghi"}
    )
    assert r.status_code == 403
    assert "Authorization method mismatch" in r.json()["error"]["data"]["detail"]


def test_control_plane_refuses_bad_signature(local_agentcore: LocalAgentCoreHandle) -> None:
    import boto3
    from botocore.exceptions import ClientError

    bad = boto3.client(
        "bedrock-agentcore-control",
        endpoint_url=local_agentcore.url,
        region_name=REGION,
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="wrong" * 8,
    )
    with pytest.raises(ClientError) as err:
        bad.list_agent_runtimes()
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_iam_user_access_key_is_accepted(local_agentcore: LocalAgentCoreHandle, url: str) -> None:
    """Keys issued by the embedded IAM verify too, not only the starter's credentials."""
    iam = local_agentcore.client("iam")
    iam.create_user(UserName="caller")
    key = iam.create_access_key(UserName="caller")["AccessKey"]
    creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    r = httpx2.post(url, content=BODY, headers=signed_request(url, credentials=creds), timeout=60)
    assert r.status_code == 200, r.text
