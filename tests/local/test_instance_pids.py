"""The instances file `local stop` reads: it kills recorded groups, never a reused pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore_mcp.local.instances import InstancePids, kill_recorded_instances, process_start_time

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process group leader with a child, like an instance that started a helper."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "time.sleep(60)",
        ],
        start_new_session=True,
    )
    yield proc
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the leader and its child, whatever the test did
    proc.wait(timeout=10)


def group_members(pgid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "-g", str(pgid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def wait_for(predicate: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_recorded_group_is_killed_and_the_file_removed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    assert wait_for(lambda: len(group_members(sleeper.pid)) == 2)
    pids = InstancePids(tmp_path / "instances.json")
    pids.add(sleeper.pid)
    assert (tmp_path / "instances.json").stat().st_mode & 0o777 == 0o600
    assert kill_recorded_instances(tmp_path / "instances.json") == [sleeper.pid]
    sleeper.wait(timeout=10)
    assert wait_for(lambda: group_members(sleeper.pid) == [])  # the helper child too
    assert not (tmp_path / "instances.json").exists()


def test_a_pid_with_another_start_time_is_left_alone(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    path = tmp_path / "instances.json"
    started = process_start_time(sleeper.pid)
    assert started is not None
    path.write_text(json.dumps([{"pid": sleeper.pid, "start_time": str(int(started) - 1)}]))
    assert kill_recorded_instances(path) == []
    assert sleeper.poll() is None


def test_an_unreadable_file_kills_nothing(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.write_text("not json")
    assert kill_recorded_instances(path) == []
    path.write_text(json.dumps([{"pid": 1, "start_time": None}, "x", {"pid": "2"}]))
    assert kill_recorded_instances(path) == []
