"""The sample server `agentcore-mcp serve` ships: one tool per kind of result, and web search."""

from agentcore_mcp.server.sample.tools import build_sample_server

__all__ = ["build_sample_server"]
