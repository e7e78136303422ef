"""Instance output to the embedded CloudWatch Logs, as AgentCore writes it.

Each line an instance prints goes to the log group
`/aws/bedrock-agentcore/runtimes/{runtimeId}-{endpoint}` (the endpoint the session was
started through; DEFAULT for a version qualifier), in one stream per session, so
`aws logs tail` and boto3 `filter_log_events` find it locally as on AWS. Lines are
collected in memory and written in batches (`put_log_events`, at most every
`interval` seconds) through the embedded AWS's own server, never one call per line.
The runtime's log file under `home/logs` (`local logs`) is written as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("agentcore_mcp.local.cloudwatch")

LOG_GROUP_PREFIX = "/aws/bedrock-agentcore/runtimes/"
# CloudWatch's limits: 10,000 events or 1 MiB a batch (26 bytes of overhead an event),
# 256 KiB an event. Lines are cut below the event limit rather than refused.
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_000_000
MAX_EVENT_BYTES = 200_000
# Lines held while the embedded Logs is slow or failing; past this, the oldest are dropped
# (the log file still has them).
MAX_PENDING = 100_000


def log_group_name(runtime_id: str, endpoint: str) -> str:
    return f"{LOG_GROUP_PREFIX}{runtime_id}-{endpoint}"


def log_stream_name(session_id: str, when: datetime | None = None) -> str:
    """`YYYY/MM/DD/[runtime-logs]{session id}`: the service's form, one stream a session."""
    day = (when or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[runtime-logs]{session_id}"


LineSink = Callable[[bytes], None]


class LogShipper:
    """Batches instance lines into the embedded CloudWatch Logs."""

    def __init__(self, client_factory: Callable[[], Any], interval: float = 0.5) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self.interval = interval
        self._pending: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._count = 0
        self.dropped = 0
        self._known: set[tuple[str, str]] = set()
        self._groups: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    def sink(self, group: str, stream: str) -> LineSink:
        key = (group, stream)

        def add(line: bytes) -> None:
            if self._count >= MAX_PENDING:
                self.dropped += 1
                return
            text = line.rstrip(b"\r\n")[:MAX_EVENT_BYTES].decode("utf-8", "replace")
            self._pending.setdefault(key, []).append((int(time.time() * 1000), text))
            self._count += 1

        return add

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:  # the shipper must outlive one bad batch
                logger.exception("writing instance output to the embedded Logs failed")

    async def flush(self) -> None:
        async with self._flushing:
            if not self._pending:
                return
            batches, self._pending, self._count = self._pending, {}, 0
            await asyncio.to_thread(self._put_all, batches)

    # --- on a worker thread ---------------------------------------------------------

    def _put_all(self, batches: dict[tuple[str, str], list[tuple[int, str]]]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        for (group, stream), events in batches.items():
            try:
                self._ensure(group, stream)
                for chunk in _chunks(events):
                    self._client.put_log_events(
                        logGroupName=group,
                        logStreamName=stream,
                        logEvents=[{"timestamp": ts, "message": msg} for ts, msg in chunk],
                    )
            except Exception as exc:  # e.g. the group was deleted by hand: recreate next time
                self._known.discard((group, stream))
                self._groups.discard(group)
                logger.warning("instance output for %s %s not written: %s", group, stream, exc)

    def _ensure(self, group: str, stream: str) -> None:
        if (group, stream) in self._known:
            return
        client = self._client
        exists = client.exceptions.ResourceAlreadyExistsException
        if group not in self._groups:
            with contextlib.suppress(exists):
                client.create_log_group(logGroupName=group)
            self._groups.add(group)
        with contextlib.suppress(exists):
            client.create_log_stream(logGroupName=group, logStreamName=stream)
        self._known.add((group, stream))


def _chunks(events: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    chunks: list[list[tuple[int, str]]] = [[]]
    size = 0
    for event in events:
        cost = len(event[1].encode("utf-8")) + 26
        if len(chunks[-1]) >= MAX_BATCH_EVENTS or (chunks[-1] and size + cost > MAX_BATCH_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += cost
    return [c for c in chunks if c]
