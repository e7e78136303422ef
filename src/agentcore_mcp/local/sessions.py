"""Sessions: each one owns a dedicated instance, like a microVM per runtime session.

A request is routed by its session id to that session's instance. A new id starts a
new instance; the id of a session that ended (idle timeout, max lifetime, an explicit
stop) gets `SessionEnded`, which the data plane answers with 404. The number of active
sessions (each with a live or starting instance) is bounded so that load can never
exhaust this machine's memory: a local bound (--max-active-sessions), far below the
service's per-account quota (thousands), answered as the service answers its quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agentcore_mcp.local.instances import Instance

logger = logging.getLogger("agentcore_mcp.local.sessions")

# Ended session ids are remembered so they keep answering 404; past this many, the
# oldest are forgotten (a forgotten id would start a new session, as a made-up id does).
ENDED_MEMORY = 100_000


class SessionError(Exception):
    """A session cannot serve this request."""


class SessionEnded(SessionError):
    """The session ended (idle timeout, max lifetime or stopped) and cannot be resumed."""


class QuotaExceeded(SessionError):
    """Starting another instance would pass the local active-session bound."""


class PoolClosed(SessionError):
    """The local AgentCore is stopping: no session starts or continues."""


@dataclass
class Session:
    id: str
    runtime_id: str
    version: str
    idle_timeout: float
    max_lifetime: float
    created_at: float
    last_used: float
    instance: Instance | None = None
    inflight: int = 0
    starting: asyncio.Future[Instance] | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What `local status` shows about a session."""

    id: str
    runtime_id: str
    version: str
    pid: int | None
    age_seconds: float
    idle_seconds: float
    inflight: int


StartInstance = Callable[[Session], Awaitable[Instance]]


@dataclass
class SessionPool:
    max_active_sessions: int = 16  # sessions with a live or starting instance, at most (memory)
    reap_interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[tuple[str, str], Session] = field(default_factory=dict)
    _ended: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _reaper: asyncio.Task[None] | None = None
    _closed: bool = False

    @staticmethod
    def new_session_id() -> str:
        return str(uuid.uuid4())

    def start_reaper(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        """End every session (stopping its instance); refuse new ones from now on."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(
            *(self._end(key, "local AgentCore shutting down") for key in list(self._sessions)),
            return_exceptions=True,
        )

    def active_sessions(self) -> int:
        """Sessions whose instance is live or starting: what the quota counts."""
        return sum(
            1 for s in self._sessions.values() if s.instance is not None or s.starting is not None
        )

    def info(self) -> list[SessionInfo]:
        now = self.clock()
        return [
            SessionInfo(
                id=s.id,
                runtime_id=s.runtime_id,
                version=s.version,
                pid=s.instance.pid if s.instance else None,
                age_seconds=now - s.created_at,
                idle_seconds=now - s.last_used,
                inflight=s.inflight,
            )
            for s in self._sessions.values()
        ]

    async def acquire(
        self,
        runtime_id: str,
        session_id: str,
        *,
        version: str,
        idle_timeout: float,
        max_lifetime: float,
        start: StartInstance,
    ) -> tuple[Session, Instance]:
        """The session's running instance, starting one if needed; counts the request in."""
        key = (runtime_id, session_id)
        async with self._lock:
            if self._closed:
                raise PoolClosed(
                    "The local AgentCore is shutting down; retry once it has been started again."
                )
            if key in self._ended:
                raise SessionEnded(
                    f"Session {session_id} has ended ({self._ended[key]}). Start a new "
                    "session: send no session id, or a new one."
                )
            session = self._sessions.get(key)
            now = self.clock()
            if session is None:
                session = Session(
                    id=session_id,
                    runtime_id=runtime_id,
                    version=version,
                    idle_timeout=idle_timeout,
                    max_lifetime=max_lifetime,
                    created_at=now,
                    last_used=now,
                )
            session.inflight += 1
            session.last_used = now
            needs_start = (session.instance is None or not session.instance.alive) and (
                session.starting is None
            )
            if needs_start:
                if self.active_sessions() >= self.max_active_sessions and session.instance is None:
                    session.inflight -= 1
                    raise QuotaExceeded(
                        f"{self.max_active_sessions} sessions are active: the local "
                        "AgentCore's memory bound (each session is a process on this "
                        "machine), not AWS's per-account quota, which is in the thousands. "
                        "Raise it with `agentcore-mcp local start --max-active-sessions N`, "
                        "end a session with stopruntimesession, or wait for idle sessions "
                        "to be reaped."
                    )
                session.instance = None
                session.starting = asyncio.get_running_loop().create_future()
                self._sessions[key] = session
            starting = session.starting
        if needs_start:
            assert starting is not None
            try:
                instance = await start(session)
            except BaseException as exc:
                async with self._lock:
                    session.starting = None
                    session.inflight -= 1
                    if session.instance is None and session.inflight == 0:
                        self._sessions.pop(key, None)
                if not starting.done():
                    starting.set_exception(exc)
                    starting.exception()  # mark retrieved: waiters re-raise their own copy
                raise
            async with self._lock:
                session.instance = instance
                session.starting = None
            starting.set_result(instance)
            return session, instance
        if starting is not None:
            try:
                return session, await asyncio.shield(starting)
            except BaseException:
                async with self._lock:
                    session.inflight -= 1
                raise
        assert session.instance is not None
        return session, session.instance

    async def release(self, session: Session) -> None:
        async with self._lock:
            session.inflight = max(0, session.inflight - 1)
            session.last_used = self.clock()

    async def instance_crashed(self, session: Session, instance: Instance) -> None:
        """Forget a dead instance so the session's next request starts a fresh one."""
        async with self._lock:
            if session.instance is instance:
                session.instance = None
        await instance.stop()

    async def stop_session(self, runtime_id: str, session_id: str) -> bool:
        """End a session now (stopruntimesession). False when there was no such session."""
        key = (runtime_id, session_id)
        if key not in self._sessions:
            return False
        await self._end(key, "stopped by StopRuntimeSession")
        return True

    async def stop_runtime(self, runtime_id: str, reason: str = "runtime deleted") -> None:
        keys = [k for k in self._sessions if k[0] == runtime_id]
        await asyncio.gather(*(self._end(k, reason) for k in keys), return_exceptions=True)

    async def _end(self, key: tuple[str, str], reason: str) -> None:
        async with self._lock:
            session = self._sessions.pop(key, None)
            self._ended[key] = reason
            self._ended.move_to_end(key)
            while len(self._ended) > ENDED_MEMORY:
                self._ended.popitem(last=False)
        if session is None:
            return
        logger.info("session %s of %s ended: %s", session.id, session.runtime_id, reason)
        if session.instance is not None:
            await session.instance.stop()

    async def reap_once(self) -> list[str]:
        """End sessions past their idle timeout or max lifetime; returns their ids."""
        now = self.clock()
        due: list[tuple[tuple[str, str], str]] = []
        for key, s in list(self._sessions.items()):
            if now - s.created_at >= s.max_lifetime:
                due.append((key, f"maxLifetime of {s.max_lifetime:g} s reached"))
            elif s.inflight == 0 and s.starting is None and now - s.last_used >= s.idle_timeout:
                due.append((key, f"idle for idleRuntimeSessionTimeout of {s.idle_timeout:g} s"))
        for key, reason in due:
            await self._end(key, reason)
        return [key[1] for key, _ in due]

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval)
            try:
                await self.reap_once()
            except Exception:  # the reaper must outlive any one bad session
                logger.exception("session reaper failed")
