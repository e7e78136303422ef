"""Runtime sessions the proxy opens end when their client is done: a client's DELETE
(StopRuntimeSession, both auth methods), stdin's EOF on `--stdio`, the proxy's shutdown.
After a redeploy, a new client through a running proxy reaches the new version. And the
read limits: an answer that outlives AgentCore's limit is given up, not waited on forever."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from agentcore_mcp.client.request_auth import runtime_auth
from agentcore_mcp.proxy.forwarder import Forwarder, ProxySession
from tests.client._runtimes import Deployed
from tests.proxy._stdio import RawStdio, raw_proxy
from tests.proxy.test_proxy_door import local_session, local_target
from tests.proxy.test_proxy_http import port_proxy
from tests.proxy.test_proxy_stdio import oauth_args, proxy_sessions
from tests.support.local import LEAVES_MID_STREAM_MAIN
from tests.support.mcp_messages import ACCEPT, HANDSHAKE, encoded, rpc, tool_call
from tests.support.procs import terminate

JSON_HEADERS = {"accept": ACCEPT, "content-type": "application/json"}


def session_ids(d: Deployed, arn: str) -> set[str]:
    return {s["id"] for s in proxy_sessions(d, arn)}


def initialize(url: str) -> str:
    """A handshake-era client's first request, raw; the proxy's session id."""
    params = {
        "protocolVersion": HANDSHAKE,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    response = httpx2.post(
        url, content=encoded(rpc("initialize", params)), headers=JSON_HEADERS, timeout=60
    )
    assert response.status_code == 200, response.text
    sid = response.headers["mcp-session-id"]
    echo = httpx2.post(
        url,
        content=encoded(tool_call("echo", {"text": "x"}, id_=2)),
        headers={**JSON_HEADERS, "mcp-session-id": sid, "mcp-protocol-version": HANDSHAKE},
        timeout=60,
    )
    assert echo.status_code == 200 and '"x"' in echo.text, echo.text
    return sid


@contextmanager
def stdio_proxy_with_a_session(deployed: Deployed, errlog: Path) -> Iterator[tuple[RawStdio, str]]:
    """A raw `proxy --stdio` whose first tools/call opened one runtime session; (the
    proxy, that session's id)."""
    before = session_ids(deployed, deployed.sigv4_arn)
    with raw_proxy(deployed.env(), errlog, "--arn", deployed.sigv4_arn) as proxy:
        answer = proxy.request(1, "tools/call", {"name": "echo", "arguments": {"text": "x"}})
        assert "result" in answer, answer
        opened = session_ids(deployed, deployed.sigv4_arn) - before
        assert len(opened) == 1, opened
        yield proxy, opened.pop()


@pytest.mark.parametrize("auth", ["sigv4", "oauth"])
async def test_delete_and_shutdown_end_the_runtime_session(
    deployed: Deployed, tmp_path: Path, auth: str
) -> None:
    args = ("--arn", deployed.sigv4_arn) if auth == "sigv4" else oauth_args(deployed)
    arn = args[args.index("--arn") + 1]
    with port_proxy(deployed, tmp_path, *args) as proxy:
        url = f"{proxy.base_url}/mcp"
        sid = initialize(url)
        assert sid in session_ids(deployed, arn)
        # Refused DELETEs end nothing: a web page's, and one that names no session.
        evil = httpx2.delete(url, headers={"mcp-session-id": sid, "origin": "null"})
        assert evil.status_code == 403
        bare = httpx2.delete(url)
        assert bare.status_code == 400 and "Mcp-Session-Id" in bare.text, bare.text
        unknown = httpx2.delete(url, headers={"mcp-session-id": "not-a-session"})
        assert unknown.status_code == 404, unknown.text
        assert sid in session_ids(deployed, arn)
        gone = httpx2.delete(url, headers={"mcp-session-id": sid}, timeout=30)
        assert gone.status_code == 200, gone.text
        assert sid not in session_ids(deployed, arn)
        # Twice is fine (already gone), and the proxy serves on.
        assert httpx2.delete(url, headers={"mcp-session-id": sid}, timeout=30).status_code == 200
        # The official client ends its session as it leaves (its DELETE).
        before = session_ids(deployed, arn)
        async with Client(url, mode="legacy") as client:
            await client.call_tool("echo", {"text": "sdk"})
            opened = session_ids(deployed, arn) - before
            assert len(opened) == 1, opened
        assert not opened & session_ids(deployed, arn)
        assert proxy.alive()
        # A session left open when the proxy shuts down is ended by the proxy.
        left_open = initialize(url)
        assert left_open in session_ids(deployed, arn)
    # run_process's exit sent SIGINT/SIGTERM and waited for the process.
    assert left_open not in session_ids(deployed, arn), proxy.log()
    assert "stopped runtime session" in proxy.log()


def test_stdio_eof_ends_the_session(deployed: Deployed, tmp_path: Path) -> None:
    errlog = tmp_path / "err"
    with stdio_proxy_with_a_session(deployed, errlog) as (proxy, opened):
        assert proxy.proc.stdin is not None
        proxy.proc.stdin.close()  # the client is done: EOF
        try:
            proxy.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            terminate(proxy.proc)
            raise AssertionError(errlog.read_text()) from None
        assert proxy.proc.returncode == 0, errlog.read_text()
    assert opened not in session_ids(deployed, deployed.sigv4_arn), errlog.read_text()
    assert f"stopped runtime session {opened}" in errlog.read_text()


def test_stdio_sigterm_ends_the_session_even_mid_call(deployed: Deployed, tmp_path: Path) -> None:
    """A client that quits with SIGTERM while a call is running (the SDKs do, 2 s after
    closing stdin): the proxy ends its runtime session before it exits."""
    errlog = tmp_path / "err"
    with stdio_proxy_with_a_session(deployed, errlog) as (proxy, opened):
        # A call that would run for a minute, in flight when the signal comes.
        proxy.send(
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "long_task", "arguments": {"steps": 60, "interval_seconds": 1},
                        "_meta": {"progressToken": "p"}}}
        )  # fmt: skip
        first = json.loads(proxy.lines.get(timeout=60))
        assert first["method"] == "notifications/progress", first  # the call is running
        proxy.proc.send_signal(signal.SIGTERM)
        try:
            code = proxy.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(errlog.read_text()) from None
    assert code == 128 + signal.SIGTERM, errlog.read_text()
    assert opened not in session_ids(deployed, deployed.sigv4_arn), errlog.read_text()


# A sample-like server whose `version` tool answers the environment's VERSION.
VERSIONED_MAIN = """
import os
from agentcore_mcp.server import serve
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("versioned")

@mcp.tool()
def version() -> str:
    return os.environ["VERSION"]

serve(mcp)
"""


async def version_through(url: str, mode: str = "auto") -> str:
    async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("version", {})
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


@pytest.mark.slow  # a create and an update of a runtime: two deploys
async def test_new_client_reaches_a_redeployed_version(deployed: Deployed, tmp_path: Path) -> None:
    """A running `proxy --port`; the runtime is redeployed; a 2026-07-28 client that starts
    then (it sends `server/discover` first, as the SDK's default mode does) gets a new
    runtime session on the new version, and the old session is ended."""
    files = {"main.py": VERSIONED_MAIN}
    rt = deployed.local.create_runtime(
        "proxy_redeploy", files, environmentVariables={"VERSION": "one"}
    )
    assert rt["status"] == "READY", rt
    arn = rt["agentRuntimeArn"]
    with port_proxy(deployed, tmp_path, "--arn", arn) as proxy:
        url = f"{proxy.base_url}/mcp"
        assert await version_through(url) == "one"
        first = session_ids(deployed, arn)
        assert len(first) == 1, first
        control = deployed.local.client("bedrock-agentcore-control")
        current = control.get_agent_runtime(agentRuntimeId=rt["agentRuntimeId"])
        control.update_agent_runtime(
            agentRuntimeId=rt["agentRuntimeId"],
            agentRuntimeArtifact=current["agentRuntimeArtifact"],
            roleArn=current["roleArn"],
            networkConfiguration=current["networkConfiguration"],
            protocolConfiguration=current["protocolConfiguration"],
            environmentVariables={"VERSION": "two"},
        )
        got = deployed.local.wait_status(rt["agentRuntimeId"])
        assert (got["status"], got["agentRuntimeVersion"]) == ("READY", "2"), got
        assert await version_through(url) == "two"
        # The old version's session was ended once nothing was in flight on it.
        assert not first & session_ids(deployed, arn), proxy.log()
        # And a handshake-era client, which always opened its own session, too.
        assert await version_through(url, "legacy") == "two"


async def test_answer_past_the_stream_limit_is_given_up(deployed: Deployed, tmp_path: Path) -> None:
    """A stream that goes silent forever: the forwarder stops waiting once its limit
    passes (AgentCore's 60 minutes plus a minute; seconds here) instead of hanging."""
    rt = deployed.local.create_runtime(
        "proxy_stalls",
        {"main.py": LEAVES_MID_STREAM_MAIN},
        environmentVariables={"MARK": str(tmp_path / "left")},
    )
    assert rt["status"] == "READY", rt
    target = local_target(deployed, rt["agentRuntimeArn"])
    forwarder = Forwarder(
        target, runtime_auth(target, local_session()), sync_limit=20, stream_limit=2
    )
    chunks: list[bytes] = []
    try:
        with anyio.fail_after(60):  # a bound for a hang, not a stopwatch
            answer = await forwarder.forward(
                encoded(tool_call("any", {})),
                ProxySession.new(),
                {"mcp-protocol-version": HANDSHAKE},
            )
            assert answer.headers["content-type"].startswith("text/event-stream")
            with pytest.raises(TimeoutError, match="time limit"):
                async for chunk in answer.chunks():
                    chunks.append(chunk)
            answer.close()
    finally:
        await forwarder.aclose()
    assert b"started" in b"".join(chunks)  # the event before the silence was relayed
