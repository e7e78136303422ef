"""Many sessions starting at once: none fails with 424 because of host contention.

AgentCore gives each microVM its own 2 vCPU; here every instance shares the host's
cores. The local AgentCore starts instances --max-starting at a time (default: the core
count) and counts the readiness limit from the spawn, not from the queue.

Scaled for a test: --startup-timeout 4 and a server that burns 0.25 s of CPU before it
listens. Fifty of those at once on 2 cores need about 6 s each, so all of them used to
time out (424); queued two at a time, each gets ready in well under a second of its own
time, and the last waits at least 24 x 0.25 s in the queue: longer than the limit.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.slow  # fifty instances started at once

SESSIONS = 50
STARTUP_TIMEOUT = 4.0
BURN_SECONDS = 0.25

BURNING_MAIN = (
    """\
import os, time

began = time.process_time()
while time.process_time() - began < float(os.environ.get("BURN_SECONDS", "0.6")):
    pass
if os.path.exists(os.environ.get("SLOW_FLAG", "/nonexistent")):
    time.sleep(float(os.environ.get("SLEEP_SECONDS", "0")))
"""
    + ANSWERING_SERVER
)


crowded = local_agentcore_fixture(
    "crowd",
    "--max-active-sessions",
    str(SESSIONS + 5),
    "--startup-timeout",
    str(STARTUP_TIMEOUT),
    "--max-starting",
    "2",
    # The queue's own bound (25 s by default) is not what this module tests: on
    # a loaded machine the last of fifty can wait longer than that.
    "--start-queue-timeout",
    "600",
)


def invoke_url(handle: LocalAgentCoreHandle, name: str, **env: str) -> str:
    got = handle.create_runtime(name, {"main.py": BURNING_MAIN}, environmentVariables=env)
    return handle.invocation_url(got["agentRuntimeArn"])


def test_fifty_sessions_starting_at_once_all_succeed(crowded: LocalAgentCoreHandle) -> None:
    url = invoke_url(crowded, "burner", BURN_SECONDS=str(BURN_SECONDS))
    barrier = threading.Barrier(SESSIONS, timeout=60)
    results: list[tuple[int, float, str]] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        began = time.monotonic()
        try:
            # The caller's own timeout is generous; the data plane must not cut it short.
            r = httpx2.post(url, content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=300)
            outcome = (r.status_code, time.monotonic() - began, r.text[:200])
        except httpx2.HTTPError as exc:
            outcome = (0, time.monotonic() - began, repr(exc))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(SESSIONS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    wall = time.monotonic() - began
    failures = [r for r in results if r[0] != 200]
    waits = sorted(r[1] for r in results)
    print(
        f"\n{SESSIONS} sessions at once: {len(failures)} failures, wall {wall:.1f} s, "
        f"wait p50 {waits[len(waits) // 2]:.1f} s, max {waits[-1]:.1f} s"
    )
    assert len(results) == SESSIONS
    assert failures == [], failures[:5]
    # The last in the queue waited longer than the readiness limit, and still succeeded:
    # two at a time, it started after 24 pairs had each burnt BURN_SECONDS.
    assert waits[-1] > STARTUP_TIMEOUT, waits[-5:]
    sessions: list[dict[str, Any]] = crowded.status()["sessions"]
    assert len([s for s in sessions if s["pid"] is not None]) >= SESSIONS
    assert crowded.status()["max_active_sessions"] == SESSIONS + 5  # set by --max-active-sessions


def test_a_server_that_really_is_too_slow_still_gets_424(
    crowded: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    flag = tmp_path / "slow"
    url = invoke_url(
        crowded,
        "sleeper",
        BURN_SECONDS="0",
        SLOW_FLAG=str(flag),
        SLEEP_SECONDS=str(STARTUP_TIMEOUT + 30),
    )
    flag.touch()  # READY (the probe was quick); from now on every start is too slow
    began = time.monotonic()
    r = httpx2.post(url, content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=120)
    took = time.monotonic() - began
    assert r.status_code == 424, r.text
    assert r.json()["message"].startswith("Runtime initialization time exceeded")
    assert STARTUP_TIMEOUT <= took < STARTUP_TIMEOUT + 20, took
