"""Sync tools with controllable duration, for the fast path's inline-execution rules."""

import threading
import time
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

mcp = MCPServer("timing-app")
_calls = {"n": 0}
_lock = threading.Lock()


@mcp.tool()
def quick(text: str) -> str:
    return text


@mcp.tool()
def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@mcp.tool()
def quick_then_slow(after: int, seconds: float) -> int:
    """Quick for the first `after` calls, then sleeps `seconds` each call."""
    with _lock:
        _calls["n"] += 1
        n = _calls["n"]
    if n > after:
        time.sleep(seconds)
    return n


@mcp.tool()
def short_text(text: str) -> Annotated[str, Field(max_length=5)]:
    """Output constrained to 5 characters: the SDK's output validation must still run."""
    return text
