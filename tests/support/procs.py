"""Start the project's real processes on 127.0.0.1 for tests, and stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not open after {timeout}s:\n{log_path.read_text()}")


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
) -> httpx.Response:
    """A raw POST with the headers a well-behaved MCP client sends, overridable."""
    import json as _json

    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    base.update(headers or {})
    content = body if isinstance(body, (bytes, str)) else _json.dumps(body)
    return httpx.post(url, content=content, headers=base, timeout=timeout)
