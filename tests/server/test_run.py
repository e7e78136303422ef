"""`serve(server)` from a user's own script: the startup line platforms and tests wait for."""

from __future__ import annotations

import re
import socket
import sys
import time
from pathlib import Path

from tests.support.mcp_messages import tool_call
from tests.support.procs import free_port, mcp_post, run_mcp_server, run_process

SCRIPT = (
    "from agentcore_mcp.server import serve; from tests.support.user_app import mcp; serve(mcp)"
)


def test_serve_announces_address_and_a_real_start_time(tmp_path: Path) -> None:
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port)}
    with run_process([sys.executable, "-c", SCRIPT], port=port, tmp_path=tmp_path, env=env) as p:
        deadline = time.monotonic() + 10
        while "listening on" not in p.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = next(ln for ln in p.log().splitlines() if "listening on" in ln)
    assert f"http://127.0.0.1:{port}/mcp" in line
    found = re.search(r"ready in (-?\d+) ms", line)
    assert found is not None and int(found.group(1)) > 0, line


def _status_line(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.makefile("rb").readline()


def test_a_websocket_upgrade_is_answered_as_plain_http(tmp_path: Path) -> None:
    """uvicorn runs with `ws="none"` (no WebSocket library imported before listening):
    an upgrade request gets the HTTP answer a GET gets, never a `101`, and the server
    keeps serving."""
    upgrade = (
        b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    plain_get = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with run_mcp_server(tmp_path) as server:
        got = _status_line(server.port, upgrade)
        expected = _status_line(server.port, plain_get)
        assert got == expected, (got, expected)
        assert expected.startswith(b"HTTP/1.1 405"), expected
        answer = mcp_post(f"{server.base_url}/mcp", tool_call("echo", {"text": "hi"}))
        assert answer.status_code == 200
        assert server.alive()
