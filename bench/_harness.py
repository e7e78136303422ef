"""Process plumbing shared by the benchmark scripts: ports, spawning, stopping, machine facts.

Every server is a real process on 127.0.0.1, started with this interpreter from the
repository root (so `tests.support.bench_app` imports), its output in a log file.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
SERVERS = BENCH / "servers"
PYTHON = sys.executable


def add_repo_to_path() -> None:
    """Make `tests.support...` importable from a script started as `python bench/X.py`."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


add_repo_to_path()
from tests.support import procs  # noqa: E402  (the one set of process helpers)
from tests.support.procs import free_port  # noqa: E402

__all__ = ["free_port"]


def log(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the table or the JSON."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How to start one server on a given port."""

    name: str
    argv: tuple[str, ...]  # `{port}` is replaced by the port
    env: tuple[tuple[str, str], ...] = ()

    def command(self, port: int) -> list[str]:
        return [a.replace("{port}", str(port)) for a in self.argv]

    def environment(self, port: int) -> dict[str, str]:
        return {k: v.replace("{port}", str(port)) for k, v in self.env}


@dataclass(slots=True)
class Running:
    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def spawn(spec: ServerSpec, port: int, log_dir: Path) -> Running:
    log_path = log_dir / f"{spec.name}-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.environment(port)}
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            spec.command(port), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(REPO)
        )
    return Running(spec, proc, port, log_path)


def wait_for_port(running: Running, timeout: float = 60.0) -> None:
    try:
        procs.wait_for_port(running.port, running.proc, running.log_path, timeout)
    except RuntimeError as exc:
        raise RuntimeError(f"{running.spec.name}: {exc}") from None


def stop(running: Running) -> None:
    procs.terminate(running.proc)


@contextmanager
def serving(spec: ServerSpec, log_dir: Path, timeout: float = 60.0) -> Iterator[Running]:
    running = spawn(spec, free_port(), log_dir)
    try:
        wait_for_port(running, timeout)
        yield running
    finally:
        stop(running)


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a live process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        for line in with_model.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
    }


def source_revision() -> str:
    """The commit the measured code is at, `+dirty` when src/ has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def package_versions(names: Sequence[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def env_pairs(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(env.items()))


# --- how much CPU the rest of the machine took while we measured ------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    wall: float
    machine_busy_s: float  # every CPU, every process
    ours_s: float  # the measured server, this script and its finished children (wrk)


def _machine_busy_s() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def _stat_fields(pid: str) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd on (state, ppid, ...)


def _tree_cpu_s(roots: Sequence[int]) -> float:
    """utime + stime of the given processes and all their live descendants."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(entry.name)
        except (OSError, ValueError):
            continue  # exited while we looked
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    wanted = set(roots)
    total = 0.0
    for pid, seconds in cpu.items():
        p, hops = pid, 0
        while p > 1 and hops < 64:
            if p in wanted:
                total += seconds
                break
            p, hops = parent.get(p, 0), hops + 1
    return total


def cpu_snapshot(*pids: int) -> CpuSnapshot | None:
    """CPU used so far by the machine and by the benchmark: this script, its finished
    children (wrk) and the given live processes with their descendants. None where /proc
    is missing (not Linux): the figure is then simply not reported."""
    import resource

    try:
        own = sum(
            r.ru_utime + r.ru_stime
            for r in (
                resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN),
            )
        )
        return CpuSnapshot(time.monotonic(), _machine_busy_s(), _tree_cpu_s(pids) + own)
    except (OSError, ValueError, IndexError):
        return None


def foreign_cpu_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """The share of all CPUs used by processes other than the benchmark's, between two
    snapshots: other people's test runs on a shared machine make the figures unreliable."""
    if before is None or after is None or after.wall <= before.wall:
        return None
    foreign = (after.machine_busy_s - before.machine_busy_s) - (after.ours_s - before.ours_s)
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    return max(0.0, foreign / capacity)


def wait_quiet(max_wait_s: float, threshold: float = 0.10) -> float | None:
    """Wait (at most `max_wait_s`) for a 1 s window in which the machine's CPUs are at most
    `threshold` busy; return the last window's busy share (None without /proc)."""
    deadline = time.monotonic() + max_wait_s
    share: float | None = None
    while True:
        try:
            start_busy, start = _machine_busy_s(), time.monotonic()
            time.sleep(1.0)
            busy, now = _machine_busy_s(), time.monotonic()
        except (OSError, ValueError):
            return None
        share = (busy - start_busy) / ((now - start) * (os.cpu_count() or 1))
        if share <= threshold or time.monotonic() >= deadline:
            return share
