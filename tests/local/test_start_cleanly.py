"""Starting and losing the local AgentCore cleanly: a busy port is one line naming its
holder and the right flag, nothing is left behind (pid file, credentials), the address is
printed only once it listens, and a SIGKILL of the local AgentCore takes the processes
its instances started along (not just the instances)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from agentcore_mcp.local.process import LocalProcessError, start_background
from agentcore_mcp.local.service import LocalSettings
from tests.support.local import (
    ANSWERING_SERVER,
    MCP_HEADERS,
    PING,
    SIGV4_AUTH,
    run_local_agentcore,
)
from tests.support.local_cli import cli_env, local_argv, local_cli
from tests.support.procs import free_port, wait_for_file


@pytest.fixture
def port_holder() -> Iterator[tuple[int, int]]:
    """(port, pid): a process of ours listening on a loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
            "print('listening', flush=True); time.sleep(120)",
            str(port),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"listening"
        yield port, proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_busy_port_foreground_is_one_line_with_the_holder(
    tmp_path: Path, port_holder: tuple[int, int]
) -> None:
    port, holder = port_holder
    home = tmp_path / "home"
    done = local_cli(home, "start", "--port", str(port), timeout=60)
    assert done.returncode == 6, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: port {port} is in use (pid {holder}): pass --port or stop it"], lines
    # Refused before anything started: no credentials written, no pid file.
    assert not (home / "credentials.json").exists()
    assert not (home / "local.pid").exists()


def test_busy_port_detached_is_one_line_and_leaves_no_pid_file(
    tmp_path: Path, port_holder: tuple[int, int]
) -> None:
    port, holder = port_holder
    home = tmp_path / "home"
    done = local_cli(home, "start", "-d", "--port", str(port), timeout=60)
    assert done.returncode == 6, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: port {port} is in use (pid {holder}): pass --port or stop it"], lines
    assert "running on" not in done.stdout
    assert not (home / "local.pid").exists()


def test_the_deployers_busy_port_message_names_its_own_flag(
    tmp_path: Path, port_holder: tuple[int, int]
) -> None:
    port, holder = port_holder
    settings = LocalSettings(home=tmp_path / "home", port=port)
    with pytest.raises(LocalProcessError) as caught:
        start_background(settings, ["false"], port_flag="--local-port")
    assert str(caught.value) == (
        f"port {port} is in use (pid {holder}): pass --local-port or stop it"
    )
    assert not settings.pid_file.exists()


def test_a_pid_file_naming_a_dead_process_is_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (home / "local.pid").write_text(f"{gone.pid} http://127.0.0.1:{free_port()}\n")
    done = local_cli(home, "status")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no local AgentCore is running" in done.stderr
    assert not (home / "local.pid").exists()


def test_the_address_is_printed_once_it_listens(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    argv = local_argv(home, "start", "--port", str(port), "--rate-limit", "0")
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(), text=True
    )
    try:
        assert proc.stderr is not None
        line = ""
        for _ in range(200):  # the first lines; the startup line comes within them
            line = proc.stderr.readline()
            if not line or "AgentCore on" in line:
                break
        assert f"AgentCore on http://127.0.0.1:{port}" in line, line
        # At once, no retry: the line promises a listening port.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert httpx2.get(f"http://127.0.0.1:{port}/_local/health", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Spawns `sleep 1000` as it starts and records its pid in $MARKS/sleep-<own pid>.
SPAWNING_MAIN = (
    """\
import os, pathlib, subprocess

child = subprocess.Popen(["sleep", "1000"])
pathlib.Path(os.environ["MARKS"], f"sleep-{os.getpid()}").write_text(str(child.pid))
"""
    + ANSWERING_SERVER
)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its (new) parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.mark.slow  # a local AgentCore of its own, killed
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_what_an_instance_started_dies_with_a_sigkilled_local_agentcore(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    sleeper: int | None = None
    try:
        with run_local_agentcore(tmp_path, extra_args=("--startup-timeout", "30")) as local:
            assert local.process is not None
            got = local.create_runtime(
                "spawner", {"main.py": SPAWNING_MAIN}, environmentVariables={"MARKS": str(marks)}
            )
            assert got["status"] == "READY", got
            url = local.invocation_url(got["agentRuntimeArn"])
            r = httpx2.post(url, content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=60)
            assert r.status_code == 200, r.text
            (session,) = [s for s in local.status()["sessions"] if s["pid"] is not None]
            text = wait_for_file(marks / f"sleep-{session['pid']}", 10)
            assert text is not None, "the instance did not record its child"
            sleeper = int(text)
            assert alive(sleeper)
            local.process.proc.send_signal(signal.SIGKILL)
            local.process.proc.wait(timeout=10)
            deadline = time.monotonic() + 20
            while alive(sleeper) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(sleeper), "the instance's child outlived the local AgentCore"
            assert not alive(session["pid"])
    finally:
        if sleeper is not None and alive(sleeper):
            with contextlib.suppress(ProcessLookupError):
                os.kill(sleeper, signal.SIGKILL)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENTCORE_MCP_LOCAL_KEEP_ALIVE_SECONDS", "soon"),
        ("AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS", "-1"),
        ("AGENTCORE_MCP_LOCAL_MIN_BODY_BYTES_PER_SECOND", "0"),
        ("AGENTCORE_MCP_LOCAL_BODY_GRACE_SECONDS", "x"),
    ],
)
@pytest.mark.parametrize("detach", [False, True], ids=["foreground", "detached"])
def test_a_bad_tuning_variable_is_one_line_and_starts_nothing(
    tmp_path: Path, variable: str, value: str, detach: bool
) -> None:
    home = tmp_path / "home"
    argv = local_argv(home, "start", *(["-d"] if detach else []), "--port", str(free_port()))
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env=cli_env({variable: value})
    )
    assert done.returncode == 6, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], lines
    assert not home.exists()
