"""`agentcore-mcp local start -d | status | logs | stop`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.local import CREDS, REGION
from tests.support.procs import free_port


def cli(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CREDS, "AWS_REGION": REGION}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "local", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.slow
def test_background_lifecycle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    started = cli(home, "start", "-d", "--port", str(port), "--persist")
    try:
        assert started.returncode == 0, started.stderr
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in started.stdout
        pid_file = home / "local.pid"
        assert pid_file.stat().st_mode & 0o777 == 0o600
        again = cli(home, "start", "-d", "--port", str(port))
        assert again.returncode == 6 and "already running" in again.stderr

        status = cli(home, "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["url"] == f"http://127.0.0.1:{port}" and doc["runtimes"] == []

        human = cli(home, "status")
        assert "runtimes" in human.stdout and "sessions" in human.stdout

        logs = cli(home, "logs")
        assert logs.returncode == 0 and "AgentCore on" in logs.stdout
        missing = cli(home, "logs", "no_such_runtime-0123456789")
        assert missing.returncode == 6
    finally:
        stopped = cli(home, "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (home / "local.pid").exists()
    gone = cli(home, "status")
    assert gone.returncode == 4
    assert cli(home, "stop").returncode == 4


def test_help_has_examples(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "local", "start", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "Examples" in out.stdout


@pytest.mark.parametrize("command", ["stop", "status"])
def test_stop_and_status_help_have_examples(command: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "local", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "Examples" in out.stdout
    assert f"agentcore-mcp local {command}" in out.stdout
