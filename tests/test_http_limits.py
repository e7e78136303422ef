"""The HTTP limits uvicorn lacks (`agentcore_mcp.http_limits`), on both real servers.

The server kit (`agentcore-mcp serve`) and the local AgentCore (`agentcore-mcp local
start`) each run as a process on 127.0.0.1 with a 1 s read timeout; raw sockets play
the misbehaving clients. Every wait is bounded by a deadline and a count.
"""

from __future__ import annotations

import importlib.metadata
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from agentcore_mcp import http_limits
from tests.support.local import run_local_agentcore
from tests.support.procs import free_port, run_mcp_server

READ_TIMEOUT = 1.0
HEAD_LIMIT = 64 * 1024
PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'


@dataclass
class Target:
    name: str
    port: int
    path: str  # where a POST is answered without auth (kit) or refused cheaply (local)

    def small_request(self, client: httpx2.Client) -> httpx2.Response:
        return client.post(
            f"http://127.0.0.1:{self.port}{self.path}",
            content=PING,
            headers={"content-type": "application/json", "accept": "application/json"},
        )


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    env = {"MCP_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)}
    with run_mcp_server(tmp_path_factory.mktemp("kit"), env=env) as running:
        yield Target("kit", running.port, "/mcp")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    env = {"AGENTCORE_MCP_LOCAL_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)}
    with run_local_agentcore(tmp_path_factory.mktemp("local"), env=env) as handle:
        port = int(handle.url.rsplit(":", 1)[1])
        yield Target("local", port, "/_local/status")


@pytest.fixture(params=["kit", "local"])
def target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """What the server sends until it closes (True) or the deadline passes (False)."""
    got = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], min(0.2, max(0.0, deadline - time.monotonic())))
        if not ready:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionError:
            return got, True
        if not chunk:
            return got, True
        got += chunk
    return got, False


def connect(target: Target) -> socket.socket:
    return socket.create_connection(("127.0.0.1", target.port), timeout=10)


def test_oversized_head_is_431(target: Target) -> None:
    with connect(target) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000)
        got, closed = read_until_closed(sock, started + 10)
    assert got.startswith(b"HTTP/1.1 431 "), got[:200]
    assert str(HEAD_LIMIT).encode() in got and b"MAX_HEADER_BYTES" in got, got
    assert closed


def test_head_under_the_limit_is_served(target: Target) -> None:
    with httpx2.Client(timeout=10) as client:
        response = client.post(
            f"http://127.0.0.1:{target.port}{target.path}",
            content=PING,
            headers={
                "content-type": "application/json",
                "accept": "application/json",
                "x-big": "a" * (HEAD_LIMIT - 2048),
            },
        )
    assert response.status_code != 431
    if target.name == "kit":
        assert response.status_code == 200


def test_huge_head_does_not_stall_other_clients(target: Target) -> None:
    """A client streaming 64 MB of header (7 s of the event loop before this limit) while
    another makes small calls: every small call answers within a bound far below that."""
    started_sending = threading.Event()
    outcome: dict[str, object] = {}

    def flood() -> None:
        chunk = b"b" * (1 << 20)
        try:
            with connect(target) as sock:
                sock.settimeout(15)
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
                for i in range(64):
                    sock.sendall(chunk)
                    if i == 3:
                        started_sending.set()
                outcome["reply"] = sock.recv(200)
        except OSError as exc:  # reset once the server stops reading: refused too
            outcome["error"] = exc
        finally:
            started_sending.set()

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    assert started_sending.wait(20)
    latencies = []
    with httpx2.Client(timeout=5) as client:
        for _ in range(10):
            t0 = time.monotonic()
            response = target.small_request(client)
            latencies.append(time.monotonic() - t0)
            assert response.status_code != 431
    flooder.join(30)
    assert not flooder.is_alive()
    assert max(latencies) < 2.0, latencies
    reply = outcome.get("reply")
    assert (isinstance(reply, bytes) and reply.startswith(b"HTTP/1.1 431 ")) or (
        isinstance(outcome.get("error"), ConnectionError)
    ), outcome


def test_trickled_head_times_out_with_408(target: Target) -> None:
    """Header lines keep coming, one every 0.2 s, but the head never ends: 408 after the
    read timeout, not never."""
    with connect(target) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        got = b""
        for i in range(50):  # 10 s at most
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % i)
            except OSError:
                break
            ready, _, _ = select.select([sock], [], [], 0.2)
            if ready:
                got, _ = read_until_closed(sock, time.monotonic() + 5)
                break
        elapsed = time.monotonic() - started
    assert got.startswith(b"HTTP/1.1 408 "), got[:200]
    assert b"READ_TIMEOUT_SECONDS" in got
    assert elapsed >= READ_TIMEOUT * 0.9


@pytest.mark.parametrize(
    "head",
    [
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json\r\nContent-Length: 100\r\n\r\n" + PING[:10],
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"a\r\n" + PING[:10] + b"\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_stalled_body_times_out(target: Target, head: bytes) -> None:
    with connect(target) as sock:
        sock.sendall(head)
        got, closed = read_until_closed(sock, time.monotonic() + 10)
    assert closed, "the server kept a stalled request open"
    if target.name == "kit":  # the kit reads the body before answering
        assert got.startswith(b"HTTP/1.1 408 "), got[:200]


def test_slow_but_steady_body_is_served(kit: Target) -> None:
    """Progress resets the clock: a body sent over 2.5 s, a piece every 0.5 s, is fine."""
    pieces = [PING[i : i + 8] for i in range(0, len(PING), 8)][:5]
    rest = PING[sum(map(len, pieces)) :]
    with connect(kit) as sock:
        sock.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(PING)
        )
        for piece in pieces:
            time.sleep(0.5)
            sock.sendall(piece)
        sock.sendall(rest)
        got, _ = read_until_closed(sock, time.monotonic() + 10)
    assert got.startswith(b"HTTP/1.1 200 "), got[:200]
    assert b'"result":{}' in got


def test_stalled_connections_are_all_closed(target: Target) -> None:
    """40 connections that send a partial head, or nothing at all, are all closed within
    the read timeout (plus margin): they can no longer pile up until fds run out."""
    socks = [connect(target) for _ in range(40)]
    try:
        for i, sock in enumerate(socks):
            if i % 2:
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        deadline = time.monotonic() + READ_TIMEOUT + 10
        open_socks = set(socks)
        while open_socks and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_socks), [], [], 0.2)
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except ConnectionError:
                    data = b""
                if not data:
                    open_socks.discard(sock)
        assert not open_socks, f"{len(open_socks)} of 40 stalled connections still open"
    finally:
        for sock in socks:
            sock.close()


# --- the uvicorn version gate (as server/sdk_compat.py does for the mcp SDK) -------------


def test_installed_uvicorn_is_a_checked_release() -> None:
    """Fails on a uvicorn upgrade: read `LimitedHttpToolsProtocol` against the new
    `HttpToolsProtocol`, run this file, then add the version to CHECKED_UVICORN_VERSIONS."""
    installed = importlib.metadata.version("uvicorn")
    assert installed in http_limits.CHECKED_UVICORN_VERSIONS, (
        f"uvicorn {installed} is installed, but http_limits was checked against "
        f"{', '.join(http_limits.CHECKED_UVICORN_VERSIONS)}: on it the servers run without "
        "their HTTP limits"
    )
    chosen = http_limits.limited_http_protocol()
    assert issubclass(chosen, HttpToolsProtocol) and chosen is not HttpToolsProtocol


def test_unknown_uvicorn_gets_the_plain_protocol_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = http_limits.HttpLimits(4096, 7.0, min_body_rate=1000, body_grace=9.0)
    checked = http_limits.CHECKED_UVICORN_VERSIONS[0]
    with caplog.at_level(logging.WARNING, logger="agentcore_mcp.http_limits"):
        assert http_limits.protocol_for_uvicorn(limits, checked) is not HttpToolsProtocol
        assert not caplog.records
        chosen = http_limits.protocol_for_uvicorn(limits, "99.0.0")
    assert chosen is HttpToolsProtocol
    [record] = caplog.records
    warning = record.getMessage()
    assert "uvicorn 99.0.0" in warning and checked in warning, warning
    # Each limit that is not enforced, with its value.
    for part in ("over 4096 bytes", "431", "stalled for 7 s", "1000 bytes/s after 9 s", "408"):
        assert part in warning, (part, warning)


def test_the_fallback_protocol_serves_without_the_limits() -> None:
    """The fallback is a working server: it answers, and (being uvicorn's own protocol)
    does not refuse a head over the limit it was asked for."""
    limits = http_limits.HttpLimits(max_head_bytes=1024)
    protocol = http_limits.protocol_for_uvicorn(limits, "99.0.0")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"served"})

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # bounded: 200 x 0.05 s
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "uvicorn with the fallback protocol did not start in 10 s"
        with httpx2.Client(timeout=10) as client:
            response = client.get(f"http://127.0.0.1:{port}/", headers={"x-big": "a" * 4096})
        assert response.status_code == 200 and response.content == b"served"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_limits_out_of_range_are_refused() -> None:
    with pytest.raises(http_limits.HttpLimitsError, match="at least 1024"):
        http_limits.HttpLimits(max_head_bytes=100)
    with pytest.raises(http_limits.HttpLimitsError, match="read timeout must be positive"):
        http_limits.limited_http_protocol(read_timeout=0)
