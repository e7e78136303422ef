"""A tool that reports the version of `typer` the runtime imports: the project's pin."""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("pinnedtyper")


@mcp.tool()
def typer_version() -> str:
    """The version of typer this server imports."""
    import typer

    return typer.__version__
