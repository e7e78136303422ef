"""Tools that need `tabulate`, which is not a dependency of agentcore-mcp."""

from mcp.server.mcpserver import MCPServer
from tabulate import tabulate

mcp = MCPServer("tabletool")


@mcp.tool()
def table(rows: list[list[str]]) -> str:
    """Render rows as a plain-text table."""
    return tabulate(rows, tablefmt="plain")
