"""The benchmark's MCP server: one `echo` tool, served by both the SDK baseline and ours.

`bench/servers/sdk_stateless.py` and `agentcore-mcp serve tests.support.bench_app:mcp`
import this same object, so both benchmarked servers run identical tool code.
"""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("agentcore-mcp-bench", log_level="WARNING")


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text
