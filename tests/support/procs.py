"""Start the project's real processes on 127.0.0.1 for tests, and stop them cleanly."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

REPO = Path(__file__).resolve().parents[2]


_BLOCK = 1500  # ports per test worker


def _port_block() -> range:
    """This test worker's own ports: below the kernel's ephemeral range, one block each.

    A port that bind(0) reports free comes from the ephemeral range, which every process
    on the host draws from: the other xdist workers' servers, the embedded moto of each
    local AgentCore under test, outgoing connections. It can be taken between the probe
    and the server's bind; the server then exits while the readiness check connects to
    the other process (CI saw a module's moto fixture fail that way). Ports handed out
    here come from a block no other worker and no bind(0) ever uses.
    """
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    blocks = max(1, (ephemeral_low - 10_000) // _BLOCK)
    start = 10_000 + (index % blocks) * _BLOCK
    return range(start, start + _BLOCK)


_block = _port_block()
# A random start, so that two runs on one host (a developer's and CI's) rarely walk in step.
_next = random.randrange(len(_block))


def free_port() -> int:
    """A loopback port free now, from this worker's block (see `_port_block`)."""
    global _next
    for _ in range(len(_block)):
        port = _block[_next]
        _next = (_next + 1) % len(_block)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_block}")


def listener_is_ours(port: int, proc: subprocess.Popen[bytes]) -> bool:
    """Whether the socket listening on 127.0.0.1:port belongs to `proc` or a descendant.

    Linux only (reads /proc); elsewhere, and whenever it cannot tell, it says yes.
    """
    from agentcore_mcp.local.instances import _listening_inodes

    inodes = _listening_inodes("127.0.0.1", port)
    if not inodes:
        return True
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return True
    for entry in entries:
        try:
            if not any(
                os.readlink(f"/proc/{entry}/fd/{fd}") in targets
                for fd in os.listdir(f"/proc/{entry}/fd")
            ):
                continue
        except OSError:
            continue
        return _descends_from(int(entry), proc.pid)
    return True


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 1:
            return False
    return False


@dataclass
class RunningProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log_path.read_text()}")
        with socket.socket() as s:
            s.settimeout(0.2)
            # Open is not enough: another process may hold the port (ours then fails to
            # bind and exits, which the poll above reports with its log).
            if s.connect_ex(("127.0.0.1", port)) == 0 and listener_is_ours(port, proc):
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not open after {timeout}s:\n{log_path.read_text()}")


def wait_for_file(path: Path, timeout: float) -> str | None:
    """The file's text once it exists and is not empty (its writer may have created it and
    not yet written), or None after `timeout` seconds: a bound for a hang, not a stopwatch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text()):
            return text
        time.sleep(0.05)
    return None


def run_to_exit(
    argv: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None, timeout: float = 90
) -> tuple[int, str]:
    """Run a start that must fail before it listens: its exit status and everything it
    printed (stdout, then stderr). `env` is added to this environment."""
    done = subprocess.run(
        list(argv),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@contextmanager
def run_process(
    argv: Sequence[str],
    *,
    port: int,
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    name: str = "proc",
    ready_timeout: float = 30.0,
) -> Iterator[RunningProcess]:
    log_path = tmp_path / f"{name}-{port}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(REPO)
        )
    try:
        wait_for_port(port, proc, log_path, ready_timeout)
        yield RunningProcess(proc, port, log_path)
    finally:
        terminate(proc)


def terminate(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: only a process we started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def run_mcp_server(
    tmp_path: Path,
    app: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[RunningProcess]:
    """`agentcore-mcp serve [APP]` on a free loopback port."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "agentcore_mcp",
        "serve",
        *([app] if app else []),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra_args,
    ]
    with run_process(argv, port=port, tmp_path=tmp_path, env=env, name="server") as running:
        yield running


def mcp_post(
    url: str,
    body: bytes | str | dict[str, object] | list[object],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> httpx2.Response:
    """A raw POST with the headers a well-behaved MCP client sends, overridable."""
    import json as _json

    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    base.update(headers or {})
    content = body if isinstance(body, (bytes, str)) else _json.dumps(body)
    return httpx2.post(url, content=content, headers=base, timeout=timeout)
