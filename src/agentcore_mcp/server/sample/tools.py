"""Deterministic sample tools: text, structured output, an error result, progress, big results."""

from __future__ import annotations

import importlib.util
import logging

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from agentcore_mcp.server.sample.web_search import register_web_search

# Long enough for any test of >1 MiB results, small enough that a typo can't exhaust memory.
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_TASK_SECONDS = 15 * 60.0

logger = logging.getLogger("agentcore_mcp.server")
_told_web_search_missing = False


def web_search_available() -> bool:
    """Whether the `openai` SDK (the `[web-search]` extra) is installed."""
    return importlib.util.find_spec("openai") is not None


class TextStats(BaseModel):
    """What `text_stats` returns, published as the tool's output schema."""

    characters: int = Field(description="Unicode code points in the text")
    words: int = Field(description="Whitespace-separated words")
    lines: int = Field(description="Lines, split on \\n only")
    utf8_bytes: int = Field(description="Length of the UTF-8 encoding")


def build_sample_server(name: str = "agentcore-mcp-sample") -> MCPServer:
    """A fresh sample server; each call returns an independent instance."""
    global _told_web_search_missing
    with_search = web_search_available()
    mcp = MCPServer(
        name,
        instructions="Sample tools for agentcore-mcp: echo, add, text_stats, fail, "
        + ("long_task, blob and web_search." if with_search else "long_task and blob."),
        log_level="WARNING",
    )

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text unchanged (a plain text result)."""
        return text

    @mcp.tool()
    def add(a: float, b: float) -> float:
        """Add two numbers (a structured result with a scalar output schema)."""
        return a + b

    @mcp.tool()
    def text_stats(text: str) -> TextStats:
        """Count characters, words, lines and UTF-8 bytes (structured output with a schema)."""
        return TextStats(
            characters=len(text),
            words=len(text.split()),
            lines=text.count("\n") + 1 if text else 0,
            utf8_bytes=len(text.encode()),
        )

    @mcp.tool()
    def fail(message: str = "this tool always fails") -> str:
        """Always fail: the result carries isError true and the message."""
        raise ToolError(message)

    @mcp.tool()
    async def long_task(ctx: Context, steps: int = 5, interval_seconds: float = 1.0) -> str:
        """Work for steps x interval_seconds, reporting progress after every step."""
        if steps < 1 or interval_seconds < 0:
            raise ToolError("steps must be >= 1 and interval_seconds >= 0")
        if steps * interval_seconds > MAX_TASK_SECONDS:
            raise ToolError(f"steps x interval_seconds must be at most {MAX_TASK_SECONDS:.0f} s")
        for step in range(1, steps + 1):
            await anyio.sleep(interval_seconds)
            await ctx.report_progress(step, steps, f"step {step} of {steps}")
        return f"completed {steps} steps"

    @mcp.tool()
    def blob(size_bytes: int) -> str:
        """Return size_bytes of deterministic ASCII text (for testing large results)."""
        if not 0 <= size_bytes <= MAX_BLOB_BYTES:
            raise ToolError(f"size_bytes must be between 0 and {MAX_BLOB_BYTES}")
        pattern = "agentcore-mcp large result 0123456789\n"
        return (pattern * (size_bytes // len(pattern) + 1))[:size_bytes]

    if with_search:
        register_web_search(mcp)
    elif not _told_web_search_missing:
        _told_web_search_missing = True  # once per process, however many servers are built
        logger.warning(
            "sample server: web_search left out, openai is not installed; "
            "pip install 'agentcore-mcp[web-search]' adds it"
        )
    return mcp
