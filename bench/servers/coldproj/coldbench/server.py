"""The cold-start benchmark's server: `tests/support/bench_app.py`'s one `echo` tool.

`bench/run_cold_call.py` deploys it in the deployer's zip (served by the kit) and in an
SDK-only start script (`streamable_http_app(stateless_http=True, json_response=True)`).
"""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("agentcore-mcp-bench", log_level="WARNING")


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text
