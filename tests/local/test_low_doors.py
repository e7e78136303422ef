"""The local AgentCore's low doors: refused big bodies, trickled bodies, the start queue's
bound and the session bound's message, on one real local AgentCore process.

It runs with --max-starting 1 --start-queue-timeout 1 (one start at a time, a second
waits at most 1 s), --max-active-sessions 3, and a 1 s body grace at 64 KiB/s.
Raw sockets play the misbehaving clients; every wait is bounded in count and time.
"""

from __future__ import annotations

import select
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.local import (
    ANSWERING_SERVER,
    MCP_HEADERS,
    PING,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
    local_agentcore_fixture,
)
from tests.support.raw_http import read_answer, send_chunked_until_answered

BODY_GRACE = 1.0

# A plain HTTP server that answers every POST. With $GATE set, it first marks that it is
# starting ($MARKS/waiting-PID) and does not listen until the file $GATE exists.
GATED_MAIN = (
    """\
import os, pathlib, time

gate = os.environ.get("GATE")
if gate:
    pathlib.Path(os.environ["MARKS"], f"waiting-{os.getpid()}").touch()
    for _ in range(2400):  # 120 s at most
        if os.path.exists(gate):
            break
        time.sleep(0.05)
"""
    + ANSWERING_SERVER
)


local = local_agentcore_fixture(
    "low",
    "--max-starting",
    "1",
    "--start-queue-timeout",
    "1",
    "--max-active-sessions",
    "3",
    "--startup-timeout",
    "60",
    env={"AGENTCORE_MCP_LOCAL_BODY_GRACE_SECONDS": str(BODY_GRACE)},
)


@pytest.fixture(scope="module")
def gated(local: LocalAgentCoreHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A READY runtime whose instances wait for `gate` (present at first) before listening."""
    work = tmp_path_factory.mktemp("gate")
    gate, marks = work / "gate", work / "marks"
    marks.mkdir()
    gate.touch()
    got = local.create_runtime(
        "gated",
        {"main.py": GATED_MAIN},
        environmentVariables={"GATE": str(gate), "MARKS": str(marks)},
    )
    assert got["status"] == "READY", got
    url = local.invocation_url(got["agentRuntimeArn"])
    return {"url": url, "gate": gate, "marks": marks, "port": int(local.url.rsplit(":", 1)[1])}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow  # a gigabyte over loopback
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ten_refused_99_mb_bodies_leave_memory_bounded(
    local: LocalAgentCoreHandle, gated: dict[str, Any]
) -> None:
    """Each refused body used to stay in memory (a reference cycle through the refusal's
    traceback) until a full garbage collection: ten took RSS up by a gigabyte."""
    assert local.process is not None
    pid = local.process.proc.pid
    path = gated["url"].removeprefix(local.url)
    answers = [send_chunked_until_answered(gated["port"], path, 99 << 20) for _ in range(1)]
    before = rss_bytes(pid)  # after one: the allocator's and the parser's buffers exist
    answers += [send_chunked_until_answered(gated["port"], path, 99 << 20) for _ in range(10)]
    grown = rss_bytes(pid) - before
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
        assert b"100000000 byte limit" in answer
    assert grown < 250 << 20, f"RSS grew by {grown >> 20} MiB over ten refused bodies"


def test_a_body_trickled_a_byte_at_a_time_is_cut_with_408(gated: dict[str, Any]) -> None:
    """A byte every 0.2 s resets the per-pause read timeout every time; the body's total
    deadline (grace + bytes / minimum rate) still ends it."""
    path = gated["url"].split(str(gated["port"]), 1)[1]
    with socket.create_connection(("127.0.0.1", gated["port"]), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        got = b""
        for _ in range(150):  # 30 s at most: far past the grace, bounded either way
            try:
                sock.sendall(b" ")
            except OSError:
                break
            ready, _, _ = select.select([sock], [], [], 0.2)
            if ready:
                got = read_answer(sock, time.monotonic() + 10)
                break
    assert got.startswith(b"HTTP/1.1 408 "), got[:300]
    assert b"slower than 65536 bytes/s" in got, got
    assert b"AGENTCORE_MCP_LOCAL_BODY_GRACE_SECONDS" in got


def test_a_start_queued_past_its_bound_gets_the_platforms_424(gated: dict[str, Any]) -> None:
    """One start at a time (--max-starting 1); a second session's start waits at most
    --start-queue-timeout (1 s), then gets the platform's slow-start answer, not a wait
    as long as the first start takes (72 s seen, past every client's 60 s timeout)."""
    gate: Path = gated["gate"]
    marks: Path = gated["marks"]
    gate.unlink()
    waiting_before = set(marks.iterdir())
    first: dict[str, Any] = {}

    def hold_the_slot() -> None:
        try:
            r = httpx2.post(
                gated["url"], content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=120
            )
            first["status"] = r.status_code
        except httpx2.HTTPError as exc:
            first["error"] = repr(exc)

    holder = threading.Thread(target=hold_the_slot, daemon=True)
    holder.start()
    try:
        # The first session's instance is spawned and waiting for the gate: it holds the slot.
        deadline = time.monotonic() + 60
        while set(marks.iterdir()) == waiting_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(marks.iterdir()) != waiting_before, "the first instance never started"
        queued = httpx2.post(
            gated["url"], content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=30
        )
    finally:
        gate.touch()
        holder.join(timeout=60)
    assert queued.status_code == 424, queued.text
    assert queued.headers["x-amzn-errortype"] == "RuntimeClientError"
    assert queued.json()["message"].startswith("Runtime initialization time exceeded")
    assert first == {"status": 200}, first  # the one holding the slot went on to serve


def test_the_session_bound_error_says_it_is_local_and_names_the_flag(
    gated: dict[str, Any],
) -> None:
    """-32003 past --max-active-sessions: the detail says it is this machine's bound, not
    AWS's quota, and how to raise it."""
    gated["gate"].touch()
    refusal: dict[str, Any] | None = None
    for _ in range(6):  # the bound is 3: at most 4 new sessions reach it
        r = httpx2.post(
            gated["url"], content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=60
        )
        assert r.status_code == 200, r.text
        if "error" in r.json():
            refusal = r.json()
            break
    assert refusal is not None, "no session was refused past --max-active-sessions 3"
    assert refusal["error"]["code"] == -32003
    detail = refusal["error"]["data"]["detail"]
    assert "--max-active-sessions N" in detail, detail
    assert "memory bound" in detail and "not AWS's per-account quota" in detail, detail
