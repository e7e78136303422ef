"""Issue 8's server-kit items: Accept on every method, NaN/Infinity, bounded JSON bodies.

Each rule runs as a matrix in process (both dispatchers, both protocol eras, through
`McpFront`), and once end to end against the real server process.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from agentcore_mcp.server.app import McpFront, build_asgi_app
from agentcore_mcp.server.manifest import call_in_process
from agentcore_mcp.server.sample import build_sample_server
from agentcore_mcp.server.settings import LARGE_BODY_BYTES, ServerSettings
from tests.support.mcp_messages import (
    HANDSHAKE,
    body_messages,
    encoded,
    init_params,
    modern_headers,
    notification,
    rpc,
    with_modern_meta,
)

INIT_PARAMS = init_params("hardening", "1")
ECHO = {"name": "echo", "arguments": {"text": "hi"}}


def handshake(method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> Any:
    doc = notification(method, params) if notify else rpc(method, params)
    headers = [] if method == "initialize" else [(b"mcp-protocol-version", HANDSHAKE.encode())]
    return encoded(doc), headers


def modern(method: str, params: dict[str, Any] | None = None) -> Any:
    doc = rpc(method, with_modern_meta(params, "hardening"))
    headers = modern_headers(method, "echo" if method == "tools/call" else None)
    return encoded(doc), [(k.encode(), v.encode()) for k, v in headers.items()]


REQUESTS = {
    "handshake:initialize": handshake("initialize", INIT_PARAMS),
    "handshake:notification": handshake("notifications/initialized", notify=True),
    "handshake:ping": handshake("ping"),
    "handshake:tools/list": handshake("tools/list"),
    "handshake:tools/call": handshake("tools/call", ECHO),
    "2026-07-28:server/discover": modern("server/discover"),
    "2026-07-28:ping": modern("ping"),
    "2026-07-28:tools/list": modern("tools/list"),
    "2026-07-28:tools/call": modern("tools/call", ECHO),
}


@pytest.fixture(params=["fast", "sdk"])
def dispatcher(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def serving(dispatcher: str, **limits: int) -> AsyncIterator[McpFront]:
    """The sample server's front, running (its lifespan entered in the test's own task)."""
    settings = ServerSettings(dispatcher=dispatcher, **limits)  # type: ignore[arg-type]
    front = build_asgi_app(build_sample_server(), settings)
    assert isinstance(front, McpFront)
    async with front.dispatcher.lifespan():
        yield front


async def post(front: McpFront, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    status, _, payload = await call_in_process(front, body, headers, "/mcp")
    sse = payload.startswith(b"event:")
    docs = body_messages(payload, "text/event-stream" if sse else "application/json")
    return status, docs[0] if docs else None


# --- Accept ---------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [b"text/html", None, b"text/event-stream"])
@pytest.mark.parametrize("label", list(REQUESTS))
async def test_accept_without_json_is_406_for_every_method(
    dispatcher: str, label: str, accept: bytes | None
) -> None:
    body, headers = REQUESTS[label]
    if accept is not None:
        headers = [*headers, (b"accept", accept)]
    async with serving(dispatcher) as front:
        status, doc = await post(front, body, headers)
    assert status == 406, (label, doc)
    assert "application/json" in doc["error"]["message"]


@pytest.mark.parametrize("accept", [b"application/json", b"*/*", b"application/*;q=0.9, text/*"])
@pytest.mark.parametrize("label", list(REQUESTS))
async def test_accept_with_json_is_served(dispatcher: str, label: str, accept: bytes) -> None:
    body, headers = REQUESTS[label]
    async with serving(dispatcher) as front:
        status, doc = await post(front, body, [*headers, (b"accept", accept)])
    if label == "2026-07-28:ping":  # no such method in 2026-07-28: the SDK's answer, not a 406
        assert status == 404 and doc["error"]["code"] == -32601
        return
    assert status in (200, 202), (label, doc)
    assert doc is None or "result" in doc, (label, doc)


@pytest.mark.parametrize("method", ["ping", "tools/list", "tools/call"])
@pytest.mark.parametrize("accept", ["text/html", None])
def test_accept_406_end_to_end(mcp_url: str, method: str, accept: str | None) -> None:
    body, _ = handshake(method, ECHO if method == "tools/call" else None)
    with httpx2.Client(timeout=30) as client:
        request = client.build_request(
            "POST", mcp_url, content=body, headers={"content-type": "application/json"}
        )
        del request.headers["accept"]  # httpx2 adds */* by default
        if accept is not None:
            request.headers["accept"] = accept
        response = client.send(request)
    assert response.status_code == 406, response.text
    assert "application/json" in response.json()["error"]["message"]


# --- NaN and Infinity -----------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_non_finite_numbers_are_a_parse_error(
    dispatcher: str, literal: str, era: str
) -> None:
    base, headers = (handshake if era == "handshake" else modern)(
        "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}
    )
    body = base.replace(b'"a": 1', b'"a": ' + literal.encode())
    assert literal.encode() in body
    headers = [(k, b"add" if k == b"mcp-name" else v) for k, v in headers]
    headers.append((b"accept", b"application/json"))
    async with serving(dispatcher) as front:
        status, doc = await post(front, body, headers)
        assert status == 400
        assert doc["error"]["code"] == -32700
        assert "NaN, Infinity and -Infinity are not JSON numbers" in doc["error"]["message"]
        # The same request with a finite number is answered.
        status, doc = await post(front, base, headers)
    assert status == 200 and doc["result"]["structuredContent"] == {"result": 3.0}


def test_non_finite_number_end_to_end(mcp_url: str) -> None:
    body = b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add",'
    body += b'"arguments":{"a":Infinity,"b":1}}}'
    response = httpx2.post(
        mcp_url,
        content=body,
        headers={"content-type": "application/json", "accept": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


# --- bounded JSON bodies --------------------------------------------------------------


def echo_with_junk(junk: bytes, text: str = "hi") -> bytes:
    """An echo call whose `junk` argument (which echo ignores) holds `junk` verbatim."""
    head = json.dumps(
        {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "echo"}}
    ).encode()[:-2]
    args = b', "arguments": {"text": ' + json.dumps(text).encode() + b', "junk": ' + junk + b"}"
    return head + args + b"}}"


JSON_HEADERS = [(b"accept", b"application/json"), (b"mcp-protocol-version", b"2025-11-25")]


async def test_too_many_values_in_a_large_body_is_32600(dispatcher: str) -> None:
    over = echo_with_junk(b"[" + b"[]," * 10_000 + b"[]]", "p" * LARGE_BODY_BYTES)
    # Commas and brackets inside strings are no values: a long CSV-like text passes.
    csv = echo_with_junk(b"[" + b"0," * 9_000 + b"0]", "a,b,[c],{d}," * LARGE_BODY_BYTES)
    async with serving(dispatcher, max_json_values=10_000) as app:
        status, doc = await post(app, over, JSON_HEADERS)
        assert status == 400 and doc["error"]["code"] == -32600
        assert "more than 10000 JSON values (MCP_MAX_JSON_VALUES)" in doc["error"]["message"]
        status, doc = await post(app, csv, JSON_HEADERS)
        assert status == 200, doc
        assert doc["result"]["content"][0]["text"] == "a,b,[c],{d}," * LARGE_BODY_BYTES


async def test_too_deep_a_large_body_is_32600(dispatcher: str) -> None:
    pad = "x" * LARGE_BODY_BYTES
    deep = echo_with_junk(b"[" * 40 + b"]" * 40, pad)  # 40 + the envelope's 3 levels
    fine = echo_with_junk(b"[" * 30 + b"]" * 30, pad)
    async with serving(dispatcher, max_json_depth=40) as app:
        status, doc = await post(app, deep, JSON_HEADERS)
        assert status == 400 and doc["error"]["code"] == -32600
        assert "deeper than 40 levels (MCP_MAX_JSON_DEPTH)" in doc["error"]["message"]
        status, doc = await post(app, fine, JSON_HEADERS)
        assert status == 200 and doc["result"]["content"][0]["text"] == pad


def test_amplifying_body_refused_end_to_end_without_stalling_others(mcp_url: str) -> None:
    """20 MB of `[],` (6.6 million values: ~450 MB and seconds of event loop once parsed)
    is refused, while pings sent meanwhile keep being answered promptly."""
    big = echo_with_junk(b"[" + b"[]," * 6_600_000 + b"[]]")
    result: dict[str, Any] = {}

    def send_big() -> None:
        result["response"] = httpx2.post(
            mcp_url,
            content=big,
            headers={"content-type": "application/json", "accept": "application/json"},
            timeout=120,
        )

    sender = threading.Thread(target=send_big, daemon=True)
    latencies: list[float] = []
    ping = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    with httpx2.Client(timeout=30) as client:
        sender.start()
        deadline = time.monotonic() + 60
        for _ in range(2000):
            if not sender.is_alive() or time.monotonic() > deadline:
                break
            t0 = time.monotonic()
            r = client.post(
                mcp_url,
                content=ping,
                headers={"content-type": "application/json", "accept": "application/json"},
            )
            latencies.append(time.monotonic() - t0)
            assert r.status_code == 200
            time.sleep(0.01)
    sender.join(60)
    response = result["response"]
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert latencies, "no ping was sent while the large body was handled"
    assert max(latencies) < 1.5, sorted(latencies)[-5:]


def test_large_legitimate_echo_end_to_end(mcp_url: str) -> None:
    text = "legit, [text] {with} structure " * 700_000  # 21 MB
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": text}},
        }
    )
    response = httpx2.post(
        mcp_url,
        content=body,
        headers={"content-type": "application/json", "accept": "application/json"},
        timeout=120,
    )
    assert response.status_code == 200
    assert response.json()["result"]["content"][0]["text"] == text


# --- settings ---------------------------------------------------------------------------


def test_limit_settings_from_env_and_refused_values() -> None:
    from agentcore_mcp.server.settings import SettingsError

    settings = ServerSettings.from_env(
        {
            "MCP_MAX_JSON_VALUES": "5000",
            "MCP_MAX_JSON_DEPTH": "16",
            "MCP_LARGE_BODY_PARSES": "3",
            "MCP_MAX_HEADER_BYTES": "8192",
            "MCP_READ_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert (settings.max_json_values, settings.max_json_depth) == (5000, 16)
    assert (settings.large_body_parses, settings.max_header_bytes) == (3, 8192)
    assert settings.read_timeout_seconds == 2.5
    for name, value in [
        ("MCP_MAX_JSON_VALUES", "0"),
        ("MCP_MAX_JSON_DEPTH", "-1"),
        ("MCP_LARGE_BODY_PARSES", "0"),
        ("MCP_MAX_HEADER_BYTES", "100"),
        ("MCP_READ_TIMEOUT_SECONDS", "0"),
        ("MCP_READ_TIMEOUT_SECONDS", "soon"),
    ]:
        with pytest.raises(SettingsError, match=name if value != "soon" else "bad setting"):
            ServerSettings.from_env({name: value})
