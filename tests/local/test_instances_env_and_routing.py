"""What an instance sees (PORT, HOST, env, forwarded headers), container artifacts without
an engine, and the other AWS services reached through the same port."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.local import (
    LEAVES_MID_STREAM_MAIN,
    MCP_HEADERS,
    REGION,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
)
from tests.support.mcp_messages import encoded, final_message, tool_call
from tests.support.procs import wait_for_file

INSPECT_MAIN = """\
import os
from mcp.server.mcpserver import Context, MCPServer
from agentcore_mcp.server import serve

mcp = MCPServer("inspect")

@mcp.tool()
def seen(ctx: Context) -> dict:
    request = ctx.request_context.request
    headers = dict(request.headers) if request is not None else {}
    return {
        "env": {k: os.environ.get(k) for k in ("PORT", "HOST", "GREETING", "AWS_REGION")},
        "has_role_credentials": bool(os.environ.get("AWS_SESSION_TOKEN")),
        "headers": {
            k: v
            for k, v in headers.items()
            if k.startswith(("x-amzn", "mcp-", "authorization", "x-api-key", "x-other"))
        },
    }

serve(mcp)
"""


@pytest.fixture(scope="module")
def inspect_url(local_agentcore: LocalAgentCoreHandle) -> str:
    got = local_agentcore.create_runtime(
        "inspect",
        {"main.py": INSPECT_MAIN},
        environmentVariables={"GREETING": "hello from the runtime"},
        requestHeaderConfiguration={
            "requestHeaderAllowlist": [
                "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant",
                "X-Api-Key",
                "Authorization",  # listed, but a SigV4 runtime never forwards it
            ]
        },
    )
    assert got["status"] == "READY", got
    return local_agentcore.invocation_url(got["agentRuntimeArn"])


def invoke(url: str, doc: dict[str, Any], **headers: str) -> httpx2.Response:
    """A signed handshake-era MCP invocation."""
    return httpx2.post(
        url,
        content=encoded(doc),
        auth=SIGV4_AUTH,
        timeout=60,
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-11-25",
            **headers,
        },
    )


def seen(url: str, **headers: str) -> dict[str, Any]:
    r = invoke(url, tool_call("seen", {}), **headers)
    assert r.status_code == 200, r.text
    result = final_message(r)["result"]
    assert not result.get("isError"), result
    return dict(json.loads(result["content"][0]["text"]))


def test_instance_gets_port_host_env_and_role_credentials(inspect_url: str) -> None:
    got = seen(inspect_url)
    assert got["env"]["PORT"] == "8000"  # the runtime's port, as in every microVM
    assert got["env"]["HOST"].startswith("127.77.")  # its own loopback address
    assert got["env"]["GREETING"] == "hello from the runtime"
    assert got["env"]["AWS_REGION"] == REGION
    assert got["has_role_credentials"]


def test_session_and_allowlisted_headers_are_forwarded(inspect_url: str) -> None:
    sid = "forwarded-session-0123456789-abcdefghij"
    got = seen(
        inspect_url,
        **{
            "x-amzn-bedrock-agentcore-runtime-session-id": sid,
            "x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme",
            "x-amzn-bedrock-agentcore-runtime-custom-secret": "not allowlisted",
            "x-api-key": "key-123",
            "x-other": "not allowlisted either",
        },
    )["headers"]
    assert got["mcp-session-id"] == sid
    assert got["x-amzn-bedrock-agentcore-runtime-session-id"] == sid
    assert got["x-amzn-bedrock-agentcore-runtime-custom-tenant"] == "acme"
    assert "x-amzn-bedrock-agentcore-runtime-custom-secret" not in got
    assert got["x-api-key"] == "key-123"  # any unrestricted name may be allowlisted now
    assert "x-other" not in got
    assert "authorization" not in got  # SigV4 runtimes never forward it


def test_container_artifact_without_engine_fails_creation(
    local_agentcore: LocalAgentCoreHandle,
) -> None:
    control = local_agentcore.client("bedrock-agentcore-control")
    created = control.create_agent_runtime(
        agentRuntimeName="containerized",
        agentRuntimeArtifact={
            "containerConfiguration": {
                "containerUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mcp-server:latest"
            }
        },
        roleArn=local_agentcore.role_arn,
        networkConfiguration={"networkMode": "PUBLIC"},
        protocolConfiguration={"serverProtocol": "MCP"},
    )
    got = local_agentcore.wait_status(created["agentRuntimeId"])
    assert got["status"] == "CREATE_FAILED"
    assert "docker or podman" in got["failureReason"]


def test_broken_code_artifact_fails_creation_with_its_output(
    local_agentcore: LocalAgentCoreHandle,
) -> None:
    got = local_agentcore.create_runtime(
        "broken", {"main.py": "raise SystemExit('cannot start: missing configuration X')"}
    )
    assert got["status"] == "CREATE_FAILED"
    assert "missing configuration X" in got["failureReason"]


def test_other_aws_services_share_the_port(local_agentcore: LocalAgentCoreHandle) -> None:
    ssm = local_agentcore.client("ssm")
    ssm.put_parameter(Name="/agentcore-mcp/test", Value="v1", Type="String")
    assert ssm.get_parameter(Name="/agentcore-mcp/test")["Parameter"]["Value"] == "v1"
    secrets = local_agentcore.client("secretsmanager")
    secrets.create_secret(Name="agentcore-mcp/test", SecretString="s3cr3t")
    assert secrets.get_secret_value(SecretId="agentcore-mcp/test")["SecretString"] == "s3cr3t"
    ecr = local_agentcore.client("ecr")
    repo = ecr.create_repository(repositoryName="mcp-server")["repository"]
    assert repo["repositoryName"] == "mcp-server"
    logs = local_agentcore.client("logs")
    logs.create_log_group(logGroupName="/aws/bedrock-agentcore/runtimes/test")
    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/aws/bedrock-agentcore/runtimes/test" in names
    ident = local_agentcore.client("sts").get_caller_identity()
    assert ident["Account"] == "123456789012"


def test_a_caller_that_leaves_mid_stream_is_seen_by_the_instance(
    local_agentcore: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    mark = tmp_path / "left"
    got = local_agentcore.create_runtime(
        "leaves", {"main.py": LEAVES_MID_STREAM_MAIN}, environmentVariables={"MARK": str(mark)}
    )
    assert got["status"] == "READY", got
    url = local_agentcore.invocation_url(got["agentRuntimeArn"])
    headers = {
        **MCP_HEADERS,
        "x-amzn-bedrock-agentcore-runtime-session-id": "leaving-session-0123456789-abcdefghij",
    }
    body = encoded(tool_call("anything", {}))
    with httpx2.Client(timeout=60) as client:
        with client.stream("POST", url, content=body, headers=headers, auth=SIGV4_AUTH) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert first == "event: message"
        # The stream is closed here, mid-answer: the instance must see its caller leave.
        assert wait_for_file(mark, 20) == "http.disconnect", (
            "the instance never saw the caller leave"
        )
        # The local AgentCore serves on: the session's next call gets an answer.
        with client.stream("POST", url, content=body, headers=headers, auth=SIGV4_AUTH) as again:
            assert again.status_code == 200
            assert next(again.iter_lines()) == "event: message"


def test_a_runtime_that_cannot_serve_refuses_in_its_protocols_form(
    local_agentcore: LocalAgentCoreHandle,
) -> None:
    """CREATE_FAILED (like CREATING, or being deleted): an MCP runtime's invocation gets
    the contract's JSON-RPC form, 200 and -32006 with the request's id, not a plain 400."""
    got = local_agentcore.create_runtime("cannot_serve", {"main.py": "raise SystemExit(3)"})
    assert got["status"] == "CREATE_FAILED"
    url = local_agentcore.invocation_url(got["agentRuntimeArn"])
    r = invoke(url, tool_call("echo", {"text": "hi"}, id_=41))
    assert r.status_code == 200, r.text
    assert r.headers["x-amzn-errortype"] == "ValidationException"
    doc = r.json()
    assert doc["id"] == 41
    assert doc["error"]["code"] == -32006
    assert "CREATE_FAILED" in doc["error"]["data"]["detail"]
