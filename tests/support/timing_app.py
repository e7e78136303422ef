"""Sync tools for the fast path's inline-execution rules, observed without a stopwatch.

A call that "meets" waits, on a two-party barrier, for another call of its batch to run
at the same time. On worker threads concurrent calls pair up at once, however busy the
machine; run inline on the event loop, a call holds the loop, no other call can start,
and it gives up after MEET_TIMEOUT seconds (False). So the answers say where each call
ran, and no test depends on how long anything took.
"""

import threading
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

mcp = MCPServer("timing-app")
_calls = {"n": 0}
_lock = threading.Lock()


MEET_TIMEOUT = 5.0
_barriers: dict[str, threading.Barrier] = {}


def _meet(batch: str) -> bool:
    with _lock:
        barrier = _barriers.setdefault(batch, threading.Barrier(2))
    try:
        barrier.wait(MEET_TIMEOUT)
        return True
    except threading.BrokenBarrierError:
        with _lock:
            if _barriers.get(batch) is barrier:
                _barriers[batch] = threading.Barrier(2)  # a fresh one for later calls
        return False


@mcp.tool()
def quick(text: str) -> str:
    return text


@mcp.tool()
def meets(batch: str) -> bool:
    """Whether another call of `batch` ran at the same time (see the module's docstring)."""
    return _meet(batch)


@mcp.tool()
def quick_then_meets(after: int, batch: str) -> bool:
    """Quick (True) for the first `after` calls, then `meets(batch)` (slow when alone)."""
    with _lock:
        _calls["n"] += 1
        n = _calls["n"]
    if n > after:
        return _meet(batch)
    return True


@mcp.tool()
def short_text(text: str) -> Annotated[str, Field(max_length=5)]:
    """Output constrained to 5 characters: the SDK's output validation must still run."""
    return text


@mcp.tool()
async def waits_until_cancelled(marker_dir: str) -> str:
    """Writes `started` in `marker_dir`, then waits; writes `cancelled` when cancelled.

    The files say what happened to the call without anyone timing it.
    """
    import anyio

    directory = Path(marker_dir)
    (directory / "started").write_text("1")
    try:
        await anyio.sleep(600)
    except anyio.get_cancelled_exc_class():
        (directory / "cancelled").write_text("1")
        raise
    return "not cancelled"
