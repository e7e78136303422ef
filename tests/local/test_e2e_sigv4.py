"""SigV4 end to end: boto3 and the official mcp client reach the sample server."""

from __future__ import annotations

import json

import boto3
import pytest

from agentcore_mcp.auth import SigV4Httpx2Auth
from agentcore_mcp.client import ConnectOptions, open_client
from tests.support.local import CREDS, REGION, LocalAgentCoreHandle
from tests.support.mcp_messages import body_messages, final_message, init_params, rpc, tool_call

INIT = rpc("initialize", init_params("boto3-test", protocol="2025-06-18"))


def invocation_url(handle: LocalAgentCoreHandle, arn: str, qualifier: str = "DEFAULT") -> str:
    return handle.invocation_url(arn, qualifier)


def test_boto3_invoke_agent_runtime(
    local_agentcore: LocalAgentCoreHandle, sigv4_runtime: dict[str, object]
) -> None:
    data = local_agentcore.client("bedrock-agentcore")
    out = data.invoke_agent_runtime(
        agentRuntimeArn=sigv4_runtime["agentRuntimeArn"],
        qualifier="DEFAULT",
        payload=json.dumps(INIT).encode(),
        contentType="application/json",
        accept="application/json, text/event-stream",
    )
    assert out["statusCode"] == 200
    session = out["mcpSessionId"]
    assert session and out["runtimeSessionId"] == session
    reply = final_message(body_messages(out["response"].read(), out["contentType"]))
    assert reply["result"]["serverInfo"]["name"] == "agentcore-mcp-sample"  # type: ignore[index]

    call = tool_call("echo", {"text": "via boto3"}, id_=2)
    out2 = data.invoke_agent_runtime(
        agentRuntimeArn=sigv4_runtime["agentRuntimeArn"],
        payload=json.dumps(call).encode(),
        contentType="application/json",
        accept="application/json, text/event-stream",
        mcpSessionId=session,
        mcpProtocolVersion="2025-06-18",
    )
    assert out2["mcpSessionId"] == session
    reply2 = final_message(body_messages(out2["response"].read(), out2["contentType"]))
    assert reply2["result"]["content"][0]["text"] == "via boto3"  # type: ignore[index]


def test_runtime_id_with_account_id_in_place_of_arn(
    local_agentcore: LocalAgentCoreHandle, sigv4_runtime: dict[str, object]
) -> None:
    session = boto3.Session(
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    import httpx2

    url = (
        f"{local_agentcore.url}/runtimes/{sigv4_runtime['agentRuntimeId']}/invocations"
        f"?qualifier=DEFAULT&accountId=123456789012"
    )
    r = httpx2.post(
        url,
        content=json.dumps(INIT),
        auth=_sigv4_auth(session),
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        },
    )
    assert r.status_code == 200, r.text
    assert final_message(r)["result"]


def _sigv4_auth(session: boto3.Session) -> SigV4Httpx2Auth:
    return SigV4Httpx2Auth(credentials=session.get_credentials(), region=REGION)


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_official_mcp_client_with_sigv4(
    local_agentcore: LocalAgentCoreHandle, sigv4_runtime: dict[str, object], era: str
) -> None:
    session = boto3.Session(
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    auth = SigV4Httpx2Auth(credentials=session.get_credentials(), region=REGION)
    options = ConnectOptions(
        url=invocation_url(local_agentcore, str(sigv4_runtime["agentRuntimeArn"])),
        auth=auth,
        protocol=era,  # type: ignore[arg-type]
    )
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with open_client(options) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"echo", "long_task", "web_search"} <= names
        result = await client.call_tool(
            "long_task", {"steps": 2, "interval_seconds": 0.05}, progress_callback=on_progress
        )
        assert result.content[0].text == "completed 2 steps"  # type: ignore[union-attr]
        big = await client.call_tool("blob", {"size_bytes": 2 * 1024 * 1024})
        assert len(big.content[0].text) == 2 * 1024 * 1024  # type: ignore[union-attr]
    assert progress == [1, 2]
