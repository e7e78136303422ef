"""`agentcore-mcp proxy --port`: the official Python client over Streamable HTTP on
127.0.0.1, both eras and auth methods; loopback-only guards; recovery and refusals."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from agentcore_mcp.client.session import sdk_mode
from tests.client._runtimes import Deployed
from tests.proxy.test_proxy_stdio import oauth_args, proxy_sessions
from tests.support.local import LEAVES_MID_STREAM_MAIN, MCP_HEADERS
from tests.support.mcp_messages import encoded, tool_call
from tests.support.procs import RunningProcess, free_port, run_process, wait_for_file


@contextmanager
def port_proxy(
    d: Deployed, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[RunningProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "agentcore_mcp", "proxy", "--port", str(port), *args]
    with run_process(
        argv, port=port, tmp_path=tmp_path, env=env or d.env(), name="proxy"
    ) as running:
        yield running


async def call_with_progress(client: Client) -> tuple[list[float], CallToolResult]:
    seen: list[float] = []

    async def on_progress(done: float, total: float | None, msg: str | None) -> None:
        seen.append(done)

    result = await client.call_tool(
        "long_task", {"steps": 2, "interval_seconds": 0.2}, progress_callback=on_progress
    )
    return seen, result


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_official_client_through_port_both_methods(
    deployed: Deployed, tmp_path: Path, era: str
) -> None:
    for args in (("--arn", deployed.sigv4_arn), oauth_args(deployed)):
        with port_proxy(deployed, tmp_path, *args) as proxy:
            url = f"{proxy.base_url}/mcp"
            async with Client(url, mode=sdk_mode(era)) as client:
                seen, result = await call_with_progress(client)
                assert seen == [1, 2] and not result.is_error
                echo = await client.call_tool("echo", {"text": f"{args[0]} {era}"})
                assert echo.content[0].text == f"{args[0]} {era}"  # type: ignore[union-attr]


def test_loopback_only_guards(deployed: Deployed, tmp_path: Path) -> None:
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn) as proxy:
        url = f"{proxy.base_url}/mcp"
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        accept = {"accept": "application/json, text/event-stream"}
        evil = httpx2.post(url, json=ping, headers={**accept, "origin": "https://evil.example"})
        assert evil.status_code == 403 and "Origin" in evil.json()["error"]["message"]
        rebinding = httpx2.post(url, json=ping, headers={**accept, "host": "attacker.example"})
        assert rebinding.status_code == 403
        assert httpx2.get(url, headers=accept).status_code == 405
        ok = httpx2.post(url, json=ping, headers={**accept, "origin": "http://localhost:6274"})
        assert ok.status_code == 200, ok.text


async def test_recovery_and_refusals_through_port(deployed: Deployed, tmp_path: Path) -> None:
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn) as proxy:
        async with Client(f"{proxy.base_url}/mcp", mode="legacy") as client:
            await client.call_tool("echo", {"text": "one"})
            newest = min(
                proxy_sessions(deployed, deployed.sigv4_arn), key=lambda s: s["idle_seconds"]
            )
            deployed.local.client("bedrock-agentcore").stop_runtime_session(
                agentRuntimeArn=deployed.sigv4_arn, runtimeSessionId=newest["id"]
            )
            again = await client.call_tool("echo", {"text": "two"})
            assert again.content[0].text == "two"  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while "replayed initialize" not in proxy.log():
            assert time.monotonic() < deadline, proxy.log()
            time.sleep(0.1)
    wrong = deployed.env(AWS_ACCESS_KEY_ID="AKIAREVOKED000000001", AWS_SECRET_ACCESS_KEY="x")
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn, env=wrong) as proxy:
        for _ in range(2):  # refused twice, clearly, and the proxy keeps serving
            with pytest.raises(BaseException) as info:
                async with Client(f"{proxy.base_url}/mcp", mode="legacy") as client:
                    await client.list_tools()
            leaf: BaseException = info.value
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            assert isinstance(leaf, MCPError), repr(leaf)
            assert "access key" in leaf.error.message
        assert proxy.alive()


def test_a_client_that_leaves_mid_stream_is_seen_by_the_instance(
    deployed: Deployed, tmp_path: Path
) -> None:
    """The proxy's answer stream closes upstream when its client leaves, so the runtime's
    instance hears `http.disconnect` (and a call nobody will read is cancelled there)."""
    mark = tmp_path / "left"
    got = deployed.local.create_runtime(
        "proxy_leaves",
        {"main.py": LEAVES_MID_STREAM_MAIN},
        environmentVariables={"MARK": str(mark)},
    )
    assert got["status"] == "READY", got
    with port_proxy(deployed, tmp_path, "--arn", got["agentRuntimeArn"]) as proxy:
        url = f"{proxy.base_url}/mcp"
        with httpx2.Client(timeout=60) as client:
            with client.stream(
                "POST", url, content=encoded(tool_call("any", {})), headers=MCP_HEADERS
            ) as r:
                assert r.status_code == 200
                assert next(r.iter_lines()) == "event: message"
            # Closed here, mid-answer.
            assert wait_for_file(mark, 20) == "http.disconnect", (
                f"the instance never saw the client leave:\n{proxy.log()}"
            )
            # The proxy serves on.
            with client.stream(
                "POST", url, content=encoded(tool_call("any", {})), headers=MCP_HEADERS
            ) as again:
                assert again.status_code == 200
                assert next(again.iter_lines()) == "event: message"
        assert proxy.alive()
