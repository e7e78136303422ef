"""What `local stop` and `local status` trust on a shared machine: the recorded pid and
the process on the recorded port. A pid file naming an unrelated live process never
gets that process signalled; the admin token goes only to a process that first proves
it holds it (local/identity.py), never to a squatter on the port. And `local`'s messages
print paths and ids as they are, brackets included (not as rich markup)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore_mcp.local.credentials import (
    new_local_credentials,
    read_local_credentials,
    write_local_credentials,
)
from agentcore_mcp.local.identity import IDENTITY_PATH
from agentcore_mcp.local.instances import process_start_time
from tests.support.local_cli import local_cli
from tests.support.procs import RunningProcess, free_port
from tests.support.squatter import OTHER_UID, run_squatter

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated live process of this user, as a reused pid would be."""
    proc = subprocess.Popen(["sleep", "100"])
    yield proc
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def squatter(tmp_path: Path) -> Iterator[RunningProcess]:
    with run_squatter(tmp_path) as proc:
        yield proc


def home_with_pid_file(tmp_path: Path, pid: int, url: str, start_time: str | None) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    fields = [str(pid), url] + ([start_time] if start_time is not None else [])
    (home / "local.pid").write_text(" ".join(fields) + "\n")
    return home


@linux_only
@pytest.mark.parametrize("start_time", ["its own", "none recorded"])
def test_stop_never_signals_a_process_that_is_not_the_local_agentcore(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], start_time: str
) -> None:
    """The pid file names `sleep 100`, with that process's true start time or none: it
    is not a `local start`, so `local stop` leaves it alone and drops the stale file."""
    recorded = process_start_time(sleeper.pid) if start_time == "its own" else None
    assert start_time != "its own" or recorded is not None
    home = home_with_pid_file(tmp_path, sleeper.pid, f"http://127.0.0.1:{free_port()}", recorded)
    got = local_cli(home, "stop")
    assert got.returncode == 4, got.stdout + got.stderr
    assert "no local AgentCore is running" in got.stderr
    assert sleeper.poll() is None, f"local stop signalled pid {sleeper.pid} ({sleeper.returncode})"
    assert not (home / "local.pid").exists()
    status = local_cli(home, "status")  # the file is gone: nothing to ask
    assert status.returncode == 4 and "no local AgentCore is running" in status.stderr
    assert sleeper.poll() is None


def assert_squatter_got_no_secret(received: str, home: Path) -> None:
    creds = read_local_credentials(home)
    assert creds is not None
    for secret in (creds.admin_token, creds.secret_access_key):
        assert secret not in received
    assert "authorization" not in received.lower()
    assert "/_local/status" not in received


def test_status_sends_the_admin_token_only_to_a_process_that_proves_it_holds_it(
    tmp_path: Path, squatter: RunningProcess
) -> None:
    """The recorded local AgentCore died and another user's process took its port."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_local_credentials(home, new_local_credentials(squatter.base_url, "us-east-1", "1" * 12))
    got = local_cli(home, "status", "--url", squatter.base_url)
    received = squatter.log()
    assert got.returncode == 4, got.stdout + got.stderr
    line = got.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert f"listens on {squatter.base_url}, not the local AgentCore" in line
    assert "its admin token was not sent" in line and "agentcore-mcp local stop" in line
    if sys.platform.startswith("linux"):
        import os

        if os.getuid() == 0:
            assert f"a process of uid {OTHER_UID}" in line
    # It was asked to prove itself (a nonce), and got nothing else.
    assert f"GET {IDENTITY_PATH}?nonce=" in received
    assert received.count("\n----\n") == 1, received
    assert_squatter_got_no_secret(received, home)


@linux_only
def test_status_through_a_pid_file_naming_another_process_sends_the_squatter_nothing(
    tmp_path: Path, squatter: RunningProcess, sleeper: subprocess.Popen[bytes]
) -> None:
    """A pid file whose pid was reused (here: `sleep 100`, with its true start time)
    and a squatter on the recorded URL: no token, no status request."""
    started = process_start_time(sleeper.pid)
    home = home_with_pid_file(tmp_path, sleeper.pid, squatter.base_url, started)
    write_local_credentials(home, new_local_credentials(squatter.base_url, "us-east-1", "1" * 12))
    got = local_cli(home, "status")
    assert got.returncode == 4, got.stdout + got.stderr
    assert len(got.stderr.strip().splitlines()) == 1, got.stderr
    assert_squatter_got_no_secret(squatter.log(), home)
    assert sleeper.poll() is None


def test_status_to_a_port_where_nothing_listens_is_one_line_and_exit_4(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_local_credentials(home, new_local_credentials(url, "us-east-1", "1" * 12))
    got = local_cli(home, "status", "--url", url)
    assert got.returncode == 4, got.stdout + got.stderr
    line = got.stderr.strip()
    assert len(line.splitlines()) == 1 and f"cannot reach {url}" in line, line
    assert "local start -d" in line


def test_brackets_in_paths_and_ids_are_printed_as_they_are(tmp_path: Path) -> None:
    home = tmp_path / "agentcore-mcp[local]" / "home"
    home.mkdir(parents=True)
    missing = local_cli(home, "logs")
    assert missing.returncode == 6
    assert f"no log at {home / 'local.log'}" in missing.stderr, missing.stderr
    bad_id = local_cli(home, "logs", "mcp[local]")
    assert bad_id.returncode == 2
    assert "'mcp[local]' is not a runtime id" in bad_id.stderr, bad_id.stderr
