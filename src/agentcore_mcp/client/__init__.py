"""MCP clients for plain URLs and AgentCore runtime URLs."""

from agentcore_mcp.client.session import (
    ConnectOptions,
    call_tool,
    list_tools,
    open_client,
    parse_arguments,
)

__all__ = ["ConnectOptions", "call_tool", "list_tools", "open_client", "parse_arguments"]
