"""One running copy of a runtime version: a process (code zip) or a container.

AgentCore gives each session its own microVM; locally each session gets its own
process on its own loopback port. Its output goes to the runtime's log file, one line
at a time, prefixed with the session id, like a CloudWatch log stream per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentcore_mcp.files import write_atomically


class InstanceError(Exception):
    """An instance could not be started or stopped."""


class StartupTimeout(InstanceError):
    """The instance did not listen within the startup limit (AgentCore: 30 s → 424)."""


class StartQueueTimeout(StartupTimeout):
    """The start waited in the local start queue (--max-starting) past its bound; the
    caller gets the same answer as for a slow start: no instance was ready in time."""


class StartupCrashed(InstanceError):
    """The instance exited before it was ready."""

    def __init__(self, message: str, exit_code: int | None, log_tail: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.log_tail = log_tail


class LoopbackAddresses:
    """Hands out addresses in 127.77.0.0/16, one per live instance.

    AgentCore gives every session's microVM the same port (8000, or the configured
    one). Locally, each instance gets its own loopback address instead, with PORT
    unchanged, so a server written for the contract runs as-is as long as it binds HOST.
    """

    def __init__(self) -> None:
        self._in_use: set[str] = set()
        # A random start: every local AgentCore on the host (other homes, other users,
        # test runs) draws from this one range, and two walking it in step from .0.2
        # collide, the loser's instance then answering for the winner's session.
        self._next = random.randrange(2, 65_000)

    def take(self, port: int) -> str:
        for _ in range(65_000):
            n, self._next = self._next, self._next + 1 if self._next < 65_000 else 2
            address = f"127.77.{n >> 8}.{n & 255}"
            if address not in self._in_use and _bindable(address, port):
                self._in_use.add(address)
                return address
        raise InstanceError("no free loopback address for another instance")

    def give_back(self, address: str) -> None:
        self._in_use.discard(address)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def container_engine() -> str | None:
    """docker or podman, when one is installed and its daemon answers."""
    import subprocess

    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path is None:
            continue
        try:
            done = subprocess.run([path, "info"], capture_output=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return path
    return None


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """How to start one instance: the command, where, and what it sees."""

    runtime_id: str
    version: str
    session_id: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    host: str  # a loopback address of its own, so every instance can use the same PORT
    port: int
    path: str  # the MCP (or HTTP) path, e.g. /mcp
    log_path: Path
    startup_timeout: float = 30.0


@dataclass
class Instance:
    spec: InstanceSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    on_spawn: Callable[[int], None] | None = None  # told the pid as soon as it exists
    on_output: Callable[[bytes], None] | None = None  # every output line (CloudWatch Logs)
    _pump: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def url(self) -> str:
        return f"http://{self.spec.host}:{self.spec.port}{self.spec.path}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Spawn and wait until the port accepts connections, or fail clearly."""
        spec = self.spec
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *spec.argv,
                cwd=str(spec.cwd),
                env=dict(spec.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=parent_death_signal(),
            )
        except OSError as exc:
            raise StartupCrashed(f"cannot run {spec.argv[0]!r}: {exc}", None, "") from exc
        await self._until_ready()

    async def adopt(self, process: asyncio.subprocess.Process, go: Callable[[], None]) -> None:
        """Become `process`, an interpreter already running (a primer, `primed.py`):
        `go` tells it to run this spec; then wait as `start` does."""
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        self.process = process
        try:
            go()
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise StartupCrashed(f"the primed interpreter went away: {exc}", None, "") from exc
        await self._until_ready()

    async def _until_ready(self) -> None:
        assert self.process is not None
        self._pump = asyncio.create_task(self._pump_output())
        try:
            if self.on_spawn is not None:
                self.on_spawn(self.process.pid)
            await self._wait_until_listening()
        except BaseException:
            # Cancelled (the runtime was deleted, the AgentCore is stopping) or failed
            # while starting: leave no process behind holding its loopback address. No
            # await here: a cancelled task may not get another turn.
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            raise

    async def _wait_until_listening(self) -> None:
        spec = self.spec
        assert self.process is not None
        deadline = self.started_at + spec.startup_timeout
        while True:
            if self.process.returncode is not None or self.exited.is_set():
                await self._wait_pump()
                raise StartupCrashed(
                    f"instance exited with status {self.process.returncode} before it was ready",
                    self.process.returncode,
                    self.log_tail(),
                )
            if await _port_open(spec.host, spec.port) and _listener_is_ours(
                spec.host, spec.port, self.process.pid
            ):
                return
            if time.monotonic() >= deadline:
                await self.stop()
                raise StartupTimeout(
                    f"instance did not listen on port {spec.port} within {spec.startup_timeout:g} s"
                )
            # Often at first (a server with a startup manifest listens in ~0.2 s, and
            # each poll's delay is added to a new session's first answer), then less.
            await asyncio.sleep(0.01 if time.monotonic() - self.started_at < 2 else 0.05)

    async def _pump_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        prefix = (
            f"[{self.spec.session_id[:12]} v{self.spec.version} pid {self.process.pid}] ".encode()
        )
        with self.spec.log_path.open("ab", buffering=0) as log:
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    break
                log.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
                if self.on_output is not None:
                    self.on_output(line)
            await self.process.wait()
            log.write(prefix + f"exited with status {self.process.returncode}\n".encode())
        self.exited.set()

    async def _wait_pump(self) -> None:
        if self._pump is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), timeout=2)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.spec.log_path.read_text(errors="replace")
        except OSError:
            return ""
        mine = [ln for ln in text.splitlines() if f"pid {self.pid}]" in ln]
        return "\n".join(mine[-lines:])

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL after `grace` seconds."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            await self._wait_pump()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        await self._wait_pump()


_PR_SET_PDEATHSIG = 1


def parent_death_signal(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A preexec_fn that has Linux send the child `sig` when its parent dies.

    For an instance (SIGKILL when the local AgentCore dies): even a SIGKILL of the local
    AgentCore (which runs no cleanup) then leaves no orphan instance holding its loopback
    address. Linux only; elsewhere `local stop` kills the recorded process groups instead.
    The libc function is looked up here, in the parent: the child of a threaded process
    (moto runs in a thread) should do as little as possible between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: no signal will come
            os._exit(1)

    return preexec


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), to tell a recorded pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


class InstancePids:
    """The live instances' pids (each its own process group) in a 0600 JSON file.

    `local stop` reads it to kill the instances of a local AgentCore that did not stop
    them itself (stuck, or killed), wherever the platform has no parent-death signal.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._live: dict[int, str | None] = {}

    def add(self, pid: int) -> None:
        self._live[pid] = process_start_time(pid)
        self._write()

    def discard(self, pid: int) -> None:
        if self._live.pop(pid, "absent") != "absent":
            self._write()

    def _write(self) -> None:
        doc = [{"pid": pid, "start_time": started} for pid, started in self._live.items()]
        write_atomically(self.path, json.dumps(doc))

    def remove(self) -> None:
        self._live.clear()
        self.path.unlink(missing_ok=True)


def kill_recorded_instances(path: Path) -> list[int]:
    """SIGKILL the process group of every recorded instance; remove the file.

    A pid whose start time no longer matches the record was reused by another process
    and is left alone. A pid that no longer exists at all may still name a process group:
    the instance died (the parent-death signal) and what it started lives on in its
    group, which is killed too (no new group can take that id while the old one has
    members). Returns the pids signalled.
    """
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    killed: list[int] = []
    for item in doc if isinstance(doc, list) else []:
        pid = item.get("pid") if isinstance(item, dict) else None
        if not isinstance(pid, int) or pid <= 1:
            continue
        recorded = item.get("start_time")
        started = process_start_time(pid)
        if started is None and recorded is not None:
            # The leader is gone (reaped): its group's other members, if any, are ours.
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            killed.append(pid)
            continue
        if started != recorded:
            continue  # a different process now (None == None only off Linux)
        try:
            if os.getpgid(pid) != pid:
                continue  # every instance leads its own group; this pid does not
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        killed.append(pid)
    path.unlink(missing_ok=True)
    return killed


def _listener_is_ours(host: str, port: int, group: int) -> bool:
    """Whether the socket listening on host:port belongs to process group `group`.

    The address was free when handed out, but another process on the host may bind it
    before the instance does; connecting to it would then look like readiness, and the
    session's requests would reach that process. Linux only (reads /proc); elsewhere,
    and whenever it cannot tell, it says yes.
    """
    inodes = _listening_inodes(host, port)
    if not inodes:
        return True
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat[stat.rfind(")") + 2 :].split()[2]) != group:
                continue
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in targets:
                    return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def _listening_inodes(host: str, port: int, *, any_address: bool = False) -> set[str]:
    """The inodes of the IPv4 sockets listening on host:port, from /proc/net/tcp; with
    `any_address`, also those listening on 0.0.0.0:port (they hold host:port too)."""
    try:
        packed = socket.inet_aton(host)
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except (OSError, ValueError):
        return set()
    # The kernel prints the address as a host-order u32 and the port as 4 hex digits.
    wanted = {f"{int.from_bytes(packed, sys.byteorder):08X}:{port:04X}"}
    if any_address:
        wanted.add(f"00000000:{port:04X}")
    return {
        fields[9]
        for fields in map(str.split, lines)
        if len(fields) > 9 and fields[1] in wanted and fields[3] == "0A"  # 0A: LISTEN
    }


def listener_pid(host: str, port: int) -> int | None:
    """The pid of a process holding a socket that listens on host:port (or 0.0.0.0:port),
    or None when it cannot tell: not Linux, or the holder is another user's process."""
    inodes = _listening_inodes(host, port, any_address=True)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            if any(
                os.readlink(f"/proc/{entry}/fd/{fd}") in targets
                for fd in os.listdir(f"/proc/{entry}/fd")
            ):
                return int(entry)
        except OSError:
            continue
    return None


async def _port_open(host: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def code_argv(
    unpacked: Path, runtime: str, entry_point: Sequence[str], *, write_bytecode: bool = False
) -> tuple[str, ...]:
    """The command for a direct-code-deploy artifact, run with this interpreter or node."""
    first, rest = entry_point[0], tuple(entry_point[1:])
    if runtime.startswith("NODE"):
        node = shutil.which("node") or "node"
        return (node, first, *rest)
    if first.endswith(".py"):
        # -S: no site, so no site-packages of this environment (the zip and the standard
        # library only, as on the runtime); -s -B: no user site, no bytecode written.
        flags = ("-S", "-s") if write_bytecode else ("-S", "-s", "-B")
        return (sys.executable, *flags, first, *rest)
    # A console script such as `opentelemetry-instrument main.py`: the zip's own bin/
    # first, then this interpreter's environment.
    for candidate in (unpacked / "bin" / first, Path(sys.executable).parent / first):
        if candidate.exists():
            return (str(candidate), *rest)
    found = shutil.which(first)
    return (found or first, *rest)
