"""A caller that leaves mid-call cancels the call, on the fast path and the SDK's.

Each case sends a call to an async tool over a raw socket, waits until the tool has
started (it writes a file), closes the socket, and waits for the tool to write that it
was cancelled. Before, neither path heard the caller leave: the tool ran on, and a
SIGTERM then waited out uvicorn's 10 s graceful-shutdown bound for it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mcp_messages import (
    ACCEPT,
    HANDSHAKE,
    MODERN,
    modern_headers,
    tool_call,
    with_modern_meta,
)
from tests.support.procs import RunningProcess, run_mcp_server, wait_for_file

APP = "tests.support.timing_app:mcp"
WAIT_SECONDS = 30.0  # a bound for a hang, not a measurement


@pytest.fixture(scope="module", params=["fast", "sdk"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProcess]:
    with run_mcp_server(
        tmp_path_factory.mktemp(f"leaves-{request.param}"),
        APP,
        env={"MCP_DISPATCHER": request.param},
    ) as running:
        yield running


def _raw_post(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        "POST /mcp HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
def test_a_caller_that_leaves_cancels_the_call(
    server: RunningProcess, era: str, tmp_path: Path
) -> None:
    arguments = {"marker_dir": str(tmp_path)}
    if era == "handshake":
        doc = tool_call("waits_until_cancelled", arguments)
        headers = {"Accept": ACCEPT, "MCP-Protocol-Version": HANDSHAKE}
    else:
        doc = tool_call(
            "waits_until_cancelled",
            arguments,
            _meta=with_modern_meta(None, "leaver")["_meta"],
        )
        headers = {"Accept": ACCEPT, **modern_headers("tools/call", "waits_until_cancelled")}
        assert headers["mcp-protocol-version"] == MODERN
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(_raw_post(server.port, json.dumps(doc).encode(), headers))
        assert wait_for_file(tmp_path / "started", WAIT_SECONDS), server.log()[-2000:]
        assert not (tmp_path / "cancelled").exists()
    # The socket is closed: nobody is left to read an answer.
    assert wait_for_file(tmp_path / "cancelled", WAIT_SECONDS), (
        f"the tool ran on after its caller left ({era})\n" + server.log()[-2000:]
    )
