"""A user's own MCPServer, as `serve module:attribute` would load it."""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("user-app")


@mcp.tool()
def shout(text: str) -> str:
    return text.upper() + "!"
