"""A pre-started instance per runtime, for `agentcore-mcp dev` (local only).

A version's readiness probe starts an instance and, normally, stops it once it listens.
For a runtime tagged `WARM_SPARE_TAG` (which `dev` sets), the probe's instance is kept
instead, and the next new session of that version takes it: the first call after a
save then skips the server's cold start (0.6-0.8 s). AWS has no such thing; it is a
local-only shortcut for the edit loop, off for every other runtime.

At most one spare per runtime: a newer version's replaces it, and it is stopped when
unused for `keep_seconds`, when its runtime is deleted, and when the local AgentCore
stops. A spare is no session: it is not counted by --max-active-sessions until taken.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentcore_mcp.local.instances import Instance

WARM_SPARE_TAG = "agentcore-mcp:warm-spare"
SPARE_SECONDS = 300.0


@dataclass
class _Spare:
    version: str
    instance: Instance
    expiry: asyncio.TimerHandle


class SpareInstances:
    def __init__(self, keep_seconds: float = SPARE_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._spares: dict[str, _Spare] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def put(self, runtime_id: str, version: str, instance: Instance) -> None:
        """Keep `instance` for the next new session of (runtime, version)."""
        self._drop(runtime_id)
        loop = asyncio.get_running_loop()
        expiry = loop.call_later(self.keep_seconds, self._expire, runtime_id, instance)
        self._spares[runtime_id] = _Spare(version, instance, expiry)

    def take(self, runtime_id: str, version: str) -> Instance | None:
        """The spare of that version, if alive; it is no longer a spare."""
        spare = self._spares.get(runtime_id)
        if spare is None or spare.version != version:
            return None
        del self._spares[runtime_id]
        spare.expiry.cancel()
        if not spare.instance.alive:
            return None
        return spare.instance

    def versions(self) -> dict[str, str]:
        """runtime id -> the version of its spare (for `local status`)."""
        return {rid: s.version for rid, s in self._spares.items()}

    def discard(self, runtime_id: str) -> None:
        self._drop(runtime_id)

    async def close(self) -> None:
        for runtime_id in list(self._spares):
            self._drop(runtime_id)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    def _expire(self, runtime_id: str, instance: Instance) -> None:
        spare = self._spares.get(runtime_id)
        if spare is not None and spare.instance is instance:
            self._drop(runtime_id)

    def _drop(self, runtime_id: str) -> None:
        spare = self._spares.pop(runtime_id, None)
        if spare is None:
            return
        spare.expiry.cancel()
        task = asyncio.get_running_loop().create_task(spare.instance.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        # mark the outcome retrieved: a failed stop has nothing left to do here
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
