"""A small process that outlives the local AgentCore to kill what its instances started.

Each instance leads its own process group and gets SIGKILL when the local AgentCore dies
(Linux's parent-death signal), but the processes an instance started do not: after a
SIGKILL of the local AgentCore (which runs no cleanup) they lived on. This watchdog
holds the read end of a pipe whose write end only the local AgentCore holds; the kernel
closes it however that process ends, SIGKILL included, and the watchdog then kills every
recorded instance's process group (home/instances.json), leader gone or not.

Portable (a pipe's end of file), so it is also the fallback where there is no
parent-death signal. A process that left its instance's group (setsid, a daemon) is out
of its reach.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path


class Watchdog:
    """The running watchdog and the pipe end that keeps it waiting."""

    def __init__(self, pids_file: Path) -> None:
        read_end, self._write_end = os.pipe()  # both not inheritable (PEP 446)
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "agentcore_mcp.local.watchdog", str(pids_file)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                # Its own session: a terminal's Ctrl-C or a kill of the local AgentCore's
                # process group must not take the watchdog along.
                start_new_session=True,
            )
        finally:
            os.close(read_end)

    def close(self, timeout: float = 5.0) -> None:
        """The local AgentCore stopped its instances itself: let the watchdog go."""
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def main(argv: list[str]) -> int:
    from agentcore_mcp.local.instances import kill_recorded_instances

    if len(argv) != 1:
        print("usage: python -m agentcore_mcp.local.watchdog INSTANCES_FILE", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Nothing is ever written: read returns b"" once the local AgentCore has gone.
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            pass
    kill_recorded_instances(Path(argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
