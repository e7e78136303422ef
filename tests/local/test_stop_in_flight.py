"""Stopping the local AgentCore while a long streaming call runs leaves no instance behind.

Three ways: `local stop`, SIGTERM, SIGKILL. Each test starts two sessions, each with a
90 s `long_task` streaming progress, waits until both are in flight, stops, and then
checks by pid (bounded wait) that no instance process survives.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.local import (
    MCP_HEADERS,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
    run_local_agentcore,
)
from tests.support.local_cli import local_cli
from tests.support.mcp_messages import encoded, tool_call
from tests.support.procs import free_port

pytestmark = pytest.mark.slow  # local AgentCores stopped and killed mid-call

LONG_CALL = encoded(
    tool_call(
        "long_task",
        {"steps": 90, "interval_seconds": 1.0},
        _meta={"progressToken": "stop-test"},
    )
)


@dataclass
class InFlight:
    """A streaming long_task on its own thread; `progressing` is set at the first progress."""

    url: str
    progressing: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with httpx2.stream(
                "POST",
                self.url,
                content=LONG_CALL,
                headers=MCP_HEADERS,
                auth=SIGV4_AUTH,
                timeout=120,
            ) as r:
                self.outcome = f"HTTP {r.status_code}"
                for line in r.iter_lines():
                    if "notifications/progress" in line:
                        self.progressing.set()
                    if line.strip():
                        self.outcome = line
        except httpx2.HTTPError as exc:
            self.outcome = f"{type(exc).__name__}: {exc}"


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in ("Z", "X")


def wait_all_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still running after `timeout` s (checked every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if not gone(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def start_long_calls(
    handle: LocalAgentCoreHandle, count: int = 2
) -> tuple[list[InFlight], list[int]]:
    """`count` sessions, each with a long call in flight; their instance pids."""
    got = handle.create_runtime("long_calls")
    assert got["status"] == "READY", got
    url = handle.invocation_url(got["agentRuntimeArn"])
    calls = [InFlight(url) for _ in range(count)]
    for call in calls:
        if not call.progressing.wait(timeout=90):
            own_log = handle.process.log() if handle.process else ""
            pytest.fail(
                f"no progress in 90 s: {call.outcome!r}\nruntime log:\n"
                f"{handle.log(got['agentRuntimeId'])[-3000:]}\nlocal log:\n{own_log[-3000:]}"
            )
    sessions: list[dict[str, Any]] = handle.status()["sessions"]
    pids = [int(s["pid"]) for s in sessions if s["pid"] is not None and s["inflight"]]
    assert len(pids) == count, sessions
    assert not any(gone(p) for p in pids)
    return calls, pids


def test_local_stop_with_a_call_in_flight(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    started = local_cli(home, "start", "-d", "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        handle = LocalAgentCoreHandle(process=None, home=home, url=f"http://127.0.0.1:{port}")
        handle.provision()
        calls, pids = start_long_calls(handle)
        assert (home / "instances.json").exists()
        began = time.monotonic()
        stopped = local_cli(home, "stop", timeout=60)
        took = time.monotonic() - began
    finally:
        local_cli(home, "stop", timeout=60)  # whatever happened above: no process left
    print(f"\nlocal stop with 2 calls in flight took {took:.1f} s")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert wait_all_gone(pids, timeout=10) == []
    assert took < 20, f"local stop took {took:.1f} s"
    for call in calls:  # the callers got an answer, not a hang
        call.thread.join(timeout=10)
        assert not call.thread.is_alive()
    assert not (home / "instances.json").exists()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_signal_with_a_call_in_flight(tmp_path: Path, how: signal.Signals) -> None:
    with run_local_agentcore(tmp_path) as handle:
        calls, pids = start_long_calls(handle)
        assert handle.process is not None
        proc = handle.process.proc
        began = time.monotonic()
        proc.send_signal(how)
        proc.wait(timeout=30)
        took = time.monotonic() - began
        print(f"\n{how.name} with 2 calls in flight: exited in {took:.1f} s")
        # SIGKILL runs no cleanup at all: the parent-death signal ends the instances.
        assert wait_all_gone(pids, timeout=10) == []
        if how == signal.SIGTERM:
            assert took < 20, f"SIGTERM took {took:.1f} s"
            assert not (handle.home / "instances.json").exists()
        for call in calls:
            call.thread.join(timeout=10)
            assert not call.thread.is_alive()
