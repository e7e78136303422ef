"""Raw-HTTP checks of each AgentCore contract rule the server kit enforces.

Each rule's cases run in this process, against the sample server's ASGI app (built as
`agentcore-mcp serve` builds it, reached through `httpx2.ASGITransport`), and one case of
each rule runs end to end against the real server process (`sample_server`). Rules that
need a process of their own (body limits over the wire, startup and SIGTERM) run only so.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from agentcore_mcp.server.app import McpFront, build_asgi_app
from agentcore_mcp.server.sample import build_sample_server
from agentcore_mcp.server.settings import ServerSettings
from tests.support.mcp_messages import (
    final_message,
    init_params,
    modern_headers,
    modern_meta,
    rpc,
    tool_call,
)
from tests.support.procs import RunningProcess, mcp_post

INIT = rpc("initialize", init_params("raw-test", protocol="2025-06-18"))
MODERN_META = modern_meta("raw-test", "0")
# What `sample_server` (tests/conftest.py) adds to the environment of its process.
SAMPLE_SERVER_ENV = {"MCP_SSE_KEEPALIVE_SECONDS": "0.2"}

IN_PROCESS = "in-process"
PROCESS = "process"
Connect = Callable[[], contextlib.AbstractAsyncContextManager[httpx2.AsyncClient]]


@contextlib.asynccontextmanager
async def in_process_client() -> AsyncIterator[httpx2.AsyncClient]:
    """A client of a fresh sample server app, running (lifespan entered) in this task."""
    settings = ServerSettings.from_env({**os.environ, **SAMPLE_SERVER_ENV})
    front = build_asgi_app(build_sample_server(), settings)
    assert isinstance(front, McpFront)
    transport = httpx2.ASGITransport(app=front)
    async with (
        front.dispatcher.lifespan(),
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client,
    ):
        yield client


@pytest.fixture
def connect(request: pytest.FixtureRequest) -> Connect:
    """Opens a client of the sample server: in process, or the real `sample_server`."""
    if request.param == PROCESS:
        server: RunningProcess = request.getfixturevalue("sample_server")
        return lambda: httpx2.AsyncClient(base_url=server.base_url, timeout=30)
    return in_process_client


def targets() -> pytest.MarkDecorator:
    """A rule with no cases: in process, and end to end."""
    return pytest.mark.parametrize("connect", [IN_PROCESS, PROCESS], indirect=True)


def cases(argname: str, values: list[Any], *, end_to_end: int = 0) -> pytest.MarkDecorator:
    """Every case of a rule in process; `values[end_to_end]` also end to end."""
    ids = [v if isinstance(v, str) and v else f"{argname}{i}" for i, v in enumerate(values)]
    params = [
        pytest.param(IN_PROCESS, value, id=f"{IN_PROCESS}-{id_}")
        for value, id_ in zip(values, ids, strict=True)
    ]
    params.append(pytest.param(PROCESS, values[end_to_end], id=f"{PROCESS}-{ids[end_to_end]}"))
    return pytest.mark.parametrize(("connect", argname), params, indirect=["connect"])


async def post(
    client: httpx2.AsyncClient,
    body: bytes | str | dict[str, object] | list[object],
    *,
    headers: dict[str, str] | None = None,
    path: str = "/mcp",
) -> httpx2.Response:
    """What `mcp_post` sends: the headers a well-behaved MCP client sends, overridable."""
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    base.update(headers or {})
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return await client.post(path, content=content, headers=base)


@cases("path", ["/mcp", "/mcp/"], end_to_end=1)
async def test_initialize_on_both_paths(connect: Connect, path: str) -> None:
    async with connect() as client:
        r = await post(client, INIT, path=path)
    assert r.status_code == 200
    result = final_message(r)["result"]
    assert isinstance(result, dict)
    assert result["protocolVersion"] == "2025-06-18"
    assert result["serverInfo"]["name"] == "agentcore-mcp-sample"


@targets()
async def test_initialized_notification_is_202(connect: Connect) -> None:
    async with connect() as client:
        r = await post(
            client,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={"mcp-protocol-version": "2025-11-25"},
        )
    assert r.status_code == 202
    assert r.content == b""


@cases("method", ["GET", "DELETE", "PUT"])
async def test_non_post_is_405(connect: Connect, method: str) -> None:
    async with connect() as client:
        r = await client.request(method, "/mcp", headers={"accept": "text/event-stream"})
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


@targets()
async def test_unknown_path_is_404(connect: Connect) -> None:
    async with connect() as client:
        r = await post(client, INIT, path="/other")
    assert r.status_code == 404


@targets()
async def test_missing_accept_is_406(connect: Connect) -> None:
    async with connect() as client:
        r = await post(client, INIT, headers={"accept": "text/html"})
    assert r.status_code == 406


@cases("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_type_is_415(connect: Connect, content_type: str) -> None:
    async with connect() as client:
        r = await post(client, INIT, headers={"content-type": content_type})
    assert r.status_code == 415
    assert "application/json" in r.json()["error"]["message"]


@targets()
async def test_json_content_type_with_charset_accepted(connect: Connect) -> None:
    async with connect() as client:
        r = await post(client, INIT, headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200


@cases(
    "origin",
    [
        "https://evil.example",
        "http://attacker.localhost.example",
        "null",
        "http://127.0.0.1@evil.example",
        "file://localhost",
        "http://localhost.:80@evil.example",
    ],
)
async def test_bad_origin_is_403(connect: Connect, origin: str) -> None:
    async with connect() as client:
        r = await post(client, INIT, headers={"origin": origin})
    assert r.status_code == 403
    assert "Origin" in r.text


@cases(
    "origin",
    [
        "http://localhost:6274",
        "http://127.0.0.1:3000",
        # The rule of every loopback door of the package (asgi.is_loopback_origin): the
        # server kit's own list had only the first four hosts.
        "http://[::1]:6274",
        "HTTPS://LOCALHOST",
        "http://127.0.0.2:3000",
        "http://inspector.localhost:6274",
    ],
    end_to_end=5,
)
async def test_loopback_origin_allowed(connect: Connect, origin: str) -> None:
    async with connect() as client:
        r = await post(client, INIT, headers={"origin": origin})
    assert r.status_code == 200


@targets()
async def test_any_host_header_accepted(connect: Connect) -> None:
    # AgentCore connects by container IP with its own Host value.
    async with connect() as client:
        r = await post(client, INIT, headers={"host": "169.254.1.7:8000"})
    assert r.status_code == 200


@cases(
    "headers",
    [
        {"mcp-session-id": "made-up-by-the-client"},
        {"mcp-session-id": "00000000-0000-0000-0000-000000000000"},
        {"x-amzn-bedrock-agentcore-runtime-session-id": "s" * 40},
        {
            "mcp-session-id": "agentcore-generated-1234",
            "x-amzn-bedrock-agentcore-runtime-session-id": "r" * 33,
        },
    ],
    end_to_end=3,
)
async def test_any_session_id_accepted(connect: Connect, headers: dict[str, str]) -> None:
    async with connect() as client:
        for body in (INIT, tool_call("echo", {"text": "x"}, id_=7)):
            hdrs = (
                {**headers, "mcp-protocol-version": "2025-06-18"} if body is not INIT else headers
            )
            r = await post(client, body, headers=hdrs)
            assert r.status_code == 200, r.text
            assert "result" in final_message(r)


@targets()
async def test_any_session_id_accepted_modern_era(connect: Connect) -> None:
    async with connect() as client:
        r = await post(
            client,
            rpc("tools/list", {"_meta": MODERN_META}),
            headers={
                "mcp-protocol-version": "2026-07-28",
                "mcp-method": "tools/list",
                "mcp-session-id": "whatever-agentcore-sent",
            },
        )
    assert r.status_code == 200, r.text
    assert "tools" in final_message(r)["result"]  # type: ignore[operator]


@targets()
async def test_ping_answered_without_handshake(connect: Connect) -> None:
    # AgentCore's health check: an unauthenticated ping with no initialize first.
    async with connect() as client:
        r = await post(client, {"jsonrpc": "2.0", "id": "health", "method": "ping"})
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "id": "health", "result": {}}


@targets()
async def test_server_discover_modern_era(connect: Connect) -> None:
    async with connect() as client:
        r = await post(
            client,
            rpc("server/discover", {"_meta": MODERN_META}),
            headers={"mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover"},
        )
    assert r.status_code == 200, r.text
    result = final_message(r)["result"]
    assert isinstance(result, dict)
    assert "2026-07-28" in result["supportedVersions"]


@targets()
async def test_modern_tools_call_with_routing_headers(connect: Connect) -> None:
    body = tool_call("echo", {"text": "modern"}, id_=7)
    body["params"]["_meta"] = MODERN_META  # type: ignore[index]
    async with connect() as client:
        r = await post(
            client,
            body,
            headers=modern_headers("tools/call", "echo"),
        )
    assert r.status_code == 200, r.text
    assert final_message(r)["result"]["content"][0]["text"] == "modern"  # type: ignore[index]


@targets()
async def test_modern_header_mismatch_rejected(connect: Connect) -> None:
    body = tool_call("echo", {"text": "x"}, id_=7)
    body["params"]["_meta"] = MODERN_META  # type: ignore[index]
    async with connect() as client:
        r = await post(
            client,
            body,
            headers=modern_headers("tools/call", "add"),
        )
    assert r.status_code == 400
    assert "error" in r.json()


SEPARATORS = "line\u0085next\u2028para\u2029end"


@cases("accept", ["application/json", "application/json, text/event-stream"], end_to_end=1)
async def test_separators_escaped_and_text_unchanged(connect: Connect, accept: str) -> None:
    async with connect() as client:
        r = await post(
            client,
            tool_call("echo", {"text": SEPARATORS}, id_=7),
            headers={"mcp-protocol-version": "2025-11-25", "accept": accept},
        )
    assert r.status_code == 200
    raw = r.content
    for ch in ("\u0085", "\u2028", "\u2029"):
        assert ch.encode() not in raw
    assert b"\\u0085" in raw and b"\\u2028" in raw and b"\\u2029" in raw
    # No line splitter can break a frame: splitlines sees only real newlines.
    for line in r.text.splitlines():
        if line.startswith("data: "):
            json.loads(line[6:])
    result = final_message(r)["result"]
    assert result["content"][0]["text"] == SEPARATORS  # type: ignore[index]
    if r.headers["content-type"] == "application/json":
        assert int(r.headers["content-length"]) == len(raw)


def test_body_over_limit_is_413_and_server_keeps_serving(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.procs import run_mcp_server

    with run_mcp_server(Path(str(tmp_path)), env={"MCP_MAX_BODY_BYTES": "1000"}) as srv:
        url = f"{srv.base_url}/mcp"
        big = tool_call("echo", {"text": "x" * 5000}, id_=7)
        r = mcp_post(url, big)
        assert r.status_code == 413
        assert "MCP_MAX_BODY_BYTES" in r.json()["error"]["message"]

        # Without Content-Length (chunked), the limit holds while streaming.
        def chunks() -> object:
            for _ in range(50):
                yield b"x" * 100

        r = httpx2.post(
            url,
            content=chunks(),  # type: ignore[arg-type]
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
            },
        )
        assert r.status_code == 413
        ok = mcp_post(url, tool_call("echo", {"text": "small"}, id_=7))
        assert final_message(ok)["result"]["content"][0]["text"] == "small"  # type: ignore[index]


def test_startup_line_and_sigterm(tmp_path: object) -> None:
    import signal
    import time
    from pathlib import Path

    from tests.support.procs import run_mcp_server

    with run_mcp_server(Path(str(tmp_path))) as srv:
        deadline = time.monotonic() + 10
        while "listening on" not in srv.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [ln for ln in srv.log().splitlines() if "listening on" in ln]
        assert len(lines) == 1
        assert f"http://127.0.0.1:{srv.port}/mcp" in lines[0]
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        assert "Traceback" not in srv.log()


def assert_still_serving(srv: RunningProcess) -> None:
    r = mcp_post(f"{srv.base_url}/mcp", {"jsonrpc": "2.0", "id": 99, "method": "ping"})
    assert r.json()["result"] == {}
