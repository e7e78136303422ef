"""Drive the local AgentCore through its CLI (`agentcore-mcp local ...`), as a user does."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.local import CREDS, REGION, LocalAgentCoreHandle


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user who exported the test credentials and nothing else."""
    # The tests' hand-made code zips carry only main.py: their instances also see this
    # environment's packages (see run_local_agentcore's host_path).
    env = {
        **os.environ,
        **CREDS,
        "AWS_REGION": REGION,
        "AGENTCORE_MCP_LOCAL_INSTANCE_HOST_PATH": "1",
        **(extra or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("PYTHONUNBUFFERED", None)  # a terminal user's default: stdout to a pipe is buffered
    return env


def local_argv(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "agentcore_mcp", "local", *args, "--home", str(home)]


def local_cli(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """`agentcore-mcp local ARGS --home HOME`, run to completion."""
    return subprocess.run(
        local_argv(home, *args), capture_output=True, text=True, timeout=timeout, env=cli_env()
    )


@contextmanager
def background_local(home: Path, port: int, *extra: str) -> Iterator[LocalAgentCoreHandle]:
    """`local start -d --port PORT EXTRA`; `local stop` on the way out, whatever happened.

    The body's failure wins; after a clean body, `stop` must succeed and remove the pid file.
    """
    started = local_cli(home, "start", "-d", "--port", str(port), *extra)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield LocalAgentCoreHandle(process=None, home=home, url=f"http://127.0.0.1:{port}")
    finally:
        stopped = local_cli(home, "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert not (home / "local.pid").exists()


class LineReader:
    """A process started with stdout piped, its lines collected by a thread as they come."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=dict(env),
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._queue.put(raw.decode(errors="replace"))

    def wait_for(self, *needles: str, timeout: float) -> str | None:
        """The first line (seen so far or arriving within `timeout` s) holding every needle."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if all(n in line for n in needles):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self.lines.append(self._queue.get(timeout=min(remaining, 0.2)))
            except queue.Empty:
                continue
            while True:  # take whatever else is already there
                try:
                    self.lines.append(self._queue.get_nowait())
                except queue.Empty:
                    break

    def stop(self, sig: int = signal.SIGINT, timeout: float = 5.0) -> tuple[int | None, float]:
        """Send `sig`; (exit status or None if still running after `timeout` s, seconds taken)."""
        began = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - began

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(timeout=2)  # the pipe is at EOF once the process is gone
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
