"""The official `mcp` client against the sample server, in both protocol eras."""

from __future__ import annotations

import time

import httpx2
import pytest
from mcp import Client

from agentcore_mcp.client import ConnectOptions, open_client
from tests.support.procs import mcp_post

ERAS = ["handshake", "2026-07-28"]


def opts(url: str, era: str) -> ConnectOptions:
    return ConnectOptions(url=url, protocol=era)  # type: ignore[arg-type]


@pytest.mark.parametrize("era", ERAS)
async def test_tools_list(mcp_url: str, era: str) -> None:
    async with open_client(opts(mcp_url, era)) as client:
        expected = "2026-07-28" if era != "handshake" else "2025-11-25"
        assert client.protocol_version == expected
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= {"echo", "add", "text_stats", "fail", "long_task", "blob", "web_search"}
    schema = tools["text_stats"].output_schema
    assert schema is not None and set(schema["properties"]) == {
        "characters",
        "words",
        "lines",
        "utf8_bytes",
    }
    assert tools["echo"].input_schema["required"] == ["text"]


@pytest.mark.parametrize("era", ERAS)
async def test_text_structured_and_error_results(mcp_url: str, era: str) -> None:
    async with open_client(opts(mcp_url, era)) as client:
        echo = await client.call_tool("echo", {"text": "héllo\u2028wörld"})
        assert not echo.is_error
        assert echo.content[0].text == "héllo\u2028wörld"  # type: ignore[union-attr]

        added = await client.call_tool("add", {"a": 2, "b": 0.5})
        assert added.structured_content == {"result": 2.5}

        stats = await client.call_tool("text_stats", {"text": "one two\nthree"})
        assert stats.structured_content == {
            "characters": 13,
            "words": 3,
            "lines": 2,
            "utf8_bytes": 13,
        }

        failed = await client.call_tool("fail", {"message": "boom"})
        assert failed.is_error
        assert "boom" in failed.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("era", ERAS)
async def test_progress_over_sse(mcp_url: str, era: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with open_client(opts(mcp_url, era)) as client:
        result = await client.call_tool(
            "long_task", {"steps": 3, "interval_seconds": 0.05}, progress_callback=on_progress
        )
    assert result.content[0].text == "completed 3 steps"  # type: ignore[union-attr]
    assert seen == [(1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3")]


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_progress_events_arrive_as_they_happen(mcp_url: str, era: str) -> None:
    """Each progress notification is flushed at once, not held until the call ends."""
    import json

    params: dict[str, object] = {
        "name": "long_task",
        "arguments": {"steps": 3, "interval_seconds": 0.4},
        "_meta": {"progressToken": "tok"},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": era,
    }
    if era == "2026-07-28":
        params["_meta"] = {  # type: ignore[index]
            "progressToken": "tok",
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
        }
        headers |= {"mcp-method": "tools/call", "mcp-name": "long_task"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    arrivals: list[float] = []
    started = time.monotonic()
    with httpx2.stream("POST", mcp_url, content=json.dumps(body), headers=headers, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("data:") and "notifications/progress" in line:
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] > 0.25 and arrivals[2] - arrivals[1] > 0.25


@pytest.mark.parametrize("era", ERAS)
async def test_result_larger_than_one_mib(mcp_url: str, era: str) -> None:
    size = 3 * 1024 * 1024 + 17
    async with open_client(opts(mcp_url, era)) as client:
        result = await client.call_tool("blob", {"size_bytes": size})
    text = result.content[0].text  # type: ignore[union-attr]
    assert len(text) == size
    assert text.startswith("agentcore-mcp large result")


@pytest.mark.parametrize("era", ERAS)
async def test_bad_arguments_and_unknown_tool(mcp_url: str, era: str) -> None:
    async with open_client(opts(mcp_url, era)) as client:
        bad = await client.call_tool("add", {"a": "not a number", "b": 1})
        assert bad.is_error
        unknown = await client.call_tool("no_such_tool", {})
        assert unknown.is_error
        assert "no_such_tool" in unknown.content[0].text  # type: ignore[union-attr]
        # The server is still there.
        assert (await client.call_tool("echo", {"text": "ok"})).content[0].text == "ok"  # type: ignore[union-attr]


def test_plain_client_class_against_url(mcp_url: str) -> None:
    """`mcp.Client("http://...")` with no options of ours works too."""
    import anyio

    async def main() -> list[str]:
        async with Client(mcp_url) as client:
            return [t.name for t in (await client.list_tools()).tools]

    assert "echo" in anyio.run(main)


@pytest.mark.slow
@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_long_silent_call_survives_idle_read_timeout_via_keepalive(mcp_url: str, era: str) -> None:
    """A call far longer than the client's idle-read timeout completes over SSE.

    The scaled-down version of a 14-minute call behind a proxy that cuts streams idle
    for 15 s: here the server's keep-alive interval is 0.2 s, the client gives up after
    1 s without a byte, and the tool is silent (one step) for 3 s.
    """
    body: dict[str, object] = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "long_task", "arguments": {"steps": 1, "interval_seconds": 3.0}},
    }
    headers = {"mcp-protocol-version": era}
    if era == "2026-07-28":
        body["params"]["_meta"] = {  # type: ignore[index]
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
        }
        headers |= {"mcp-method": "tools/call", "mcp-name": "long_task"}
    import json

    gaps: list[float] = []
    keepalives = 0
    started = time.monotonic()
    with httpx2.stream(
        "POST",
        mcp_url,
        content=json.dumps(body),
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            **headers,
        },
        timeout=httpx2.Timeout(5.0, read=1.0),
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        last = time.monotonic()
        text = ""
        for chunk in r.iter_text():
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            keepalives += chunk.count(": ping")
            text += chunk
    assert time.monotonic() - started >= 3.0
    assert "completed 1 steps" in text
    assert keepalives >= 5
    assert max(gaps) < 1.0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', -32600),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', -32600),
        (b'"just a string"', -32600),
        (b"", -32700),
        (b"\xff\xfe", -32700),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}', -32601),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"arguments": {}}}',
            -32602,
        ),
    ],
)
def test_jsonrpc_error_codes_and_server_survives(mcp_url: str, body: bytes, code: int) -> None:
    r = mcp_post(mcp_url, body, headers={"mcp-protocol-version": "2025-11-25"})
    assert r.status_code in (200, 400), r.text
    assert r.json()["error"]["code"] == code
    after = mcp_post(mcp_url, {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert after.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
