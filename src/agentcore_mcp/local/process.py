"""Run the local AgentCore in the background: pid file, log file, readiness, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.local.instances import (
    kill_recorded_instances,
    listener_pid,
    process_start_time,
)
from agentcore_mcp.local.service import LocalSettings, PortInUse, bind_listener


class LocalProcessError(AgentCoreMcpError):
    """The background local AgentCore could not be started, found or stopped."""


def check_port_free(settings: LocalSettings, flag: str = "--port") -> None:
    """Raise `LocalProcessError` with one line (`PortInUse.message`) naming the holder's
    pid and `flag`, the port option of the command the user ran, when the port is taken."""
    try:
        bind_listener(settings.host, settings.port).close()
    except PortInUse as exc:
        raise LocalProcessError(exc.message(flag)) from None
    except OSError as exc:
        raise LocalProcessError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from None


@dataclass(frozen=True, slots=True)
class LocalProcess:
    pid: int
    url: str
    log_path: Path


def read_pid(settings: LocalSettings) -> int | None:
    """The pid of the running background local AgentCore, or None. A pid file naming a
    process that has gone, or any process that is not the one recorded (its start time
    differs from the one recorded, none was recorded, or it is not a `local start`), is
    stale: it is removed, and that process is never signalled."""
    try:
        fields = settings.pid_file.read_text().split()
        pid = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    recorded = fields[2] if len(fields) > 2 else None
    if pid <= 1 or not _is_recorded_local(pid, recorded):
        settings.pid_file.unlink(missing_ok=True)
        return None
    return pid


def _is_recorded_local(pid: int, recorded_start: str | None) -> bool:
    """Whether `pid` is this user's live `local start` process that `start_background`
    recorded. Where /proc tells (Linux), its start time must be the recorded one and its
    command line a local AgentCore's; elsewhere, a live process of this user."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False  # gone, or another user's: ours ran as this user
    if not Path("/proc/self/stat").exists():
        return True
    started = process_start_time(pid)
    if started is None or started != recorded_start:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    wanted = [b"-m", b"agentcore_mcp", b"local", b"start"]  # foreground_argv's
    return any(argv[i : i + len(wanted)] == wanted for i in range(len(argv)))


def url_from_pid_file(settings: LocalSettings) -> str | None:
    """The background local AgentCore's URL, or None when none runs (a stale pid file is
    removed on the way)."""
    if read_pid(settings) is None:
        return None
    try:
        parts = settings.pid_file.read_text().split()
    except OSError:
        return None
    return parts[1] if len(parts) > 1 else None


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        return (
            httpx2.get(f"{url}/_local/health", timeout=timeout, trust_env=False).status_code == 200
        )
    except httpx2.HTTPError:
        return False


def start_background(
    settings: LocalSettings, argv: list[str], *, wait: float = 60.0, port_flag: str = "--port"
) -> LocalProcess:
    """Spawn `argv` (a foreground `local start`) detached and wait until it listens and is
    healthy. `port_flag` is the option that sets the port in the command the user ran: a
    busy port's message names it. A failed start leaves no pid file."""
    existing = read_pid(settings)
    if existing is not None:
        raise LocalProcessError(
            f"a local AgentCore is already running (pid {existing}); "
            "`agentcore-mcp local stop` first"
        )
    # Before anything is spawned or written: one line naming the port's holder.
    check_port_free(settings, port_flag)
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = settings.home / "local.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    tmp = settings.pid_file.with_suffix(".tmp")
    # The start time tells this process from a later one that reuses its pid.
    tmp.write_text(f"{proc.pid} {settings.url} {process_start_time(proc.pid) or '-'}\n")
    tmp.chmod(0o600)
    tmp.replace(settings.pid_file)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            settings.pid_file.unlink(missing_ok=True)
            check_port_free(settings, port_flag)  # taken since the check above
            raise LocalProcessError(
                f"the local AgentCore exited with {proc.returncode}; see {log_path}"
            )
        # Healthy, and the listener is this child's: not another server on the port.
        if healthy(settings.url) and listener_pid(settings.host, settings.port) in (
            None,
            proc.pid,
        ):
            return LocalProcess(proc.pid, settings.url, log_path)
        time.sleep(0.1)
    stop_background(settings)
    raise LocalProcessError(
        f"the local AgentCore did not become healthy in {wait:g} s; see {log_path}"
    )


def stop_background(settings: LocalSettings, timeout: float = 20.0) -> int | None:
    """SIGTERM the background process and wait; returns its pid, or None if none ran.

    It ends its sessions first and bounds its own drain, so it is normally gone in a few
    seconds; one that is not is SIGKILLed. Either way, any instance it left behind (its
    pids are in home/instances.json) is then killed with its whole process group.
    """
    pid = read_pid(settings)
    if pid is None:
        settings.pid_file.unlink(missing_ok=True)
        kill_recorded_instances(settings.instances_file)
        return None
    started = process_start_time(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        # Still the same process (not a pid reused since the SIGTERM): SIGKILL it.
        if process_start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    kill_recorded_instances(settings.instances_file)
    settings.pid_file.unlink(missing_ok=True)
    return pid


def foreground_argv(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "agentcore_mcp", "local", "start", *extra]


def background_argv(settings: LocalSettings) -> list[str]:
    """The foreground `local start` that runs `settings`: what `start_background` spawns
    for `local start -d` and for a local deploy. Every setting is passed as a flag, so
    the background process runs what its starter resolved (environment included)."""
    extra = [
        "--port",
        str(settings.port),
        "--region",
        settings.region,
        "--home",
        str(settings.home),
        "--max-active-sessions",
        str(settings.max_active_sessions),
        "--startup-timeout",
        str(settings.startup_timeout),
        "--lifecycle-scale",
        str(settings.lifecycle_scale),
        "--max-starting",
        str(settings.max_starting),
        "--start-queue-timeout",
        str(settings.start_queue_timeout),
        "--max-unpacked-mb",
        str(settings.max_unpacked_bytes / 2**20),
        "--rate-limit",
        str(settings.rate_limit),
        "--request-limit-scale",
        str(settings.request_limit_scale),
    ]
    if settings.persist:
        extra.append("--persist")
    if settings.strict_credentials:
        extra.append("--strict-credentials")
    extra += ["--log-level", settings.log_level]
    return foreground_argv(extra)
