"""`agentcore-mcp serve [SERVER_SPEC]`."""

from __future__ import annotations

import time

import typer

SERVER_SPEC_HELP = (
    "Server spec: `module:attribute` naming your MCPServer (or a factory) "
    "[env: MCP_SERVER, default: the sample server]."
)

EPILOG = """
**Examples**

- `agentcore-mcp serve` serves the sample tools on 0.0.0.0:8000/mcp
- `agentcore-mcp serve myproject.server:mcp --port 9000`
- `PORT=8080 MCP_PATH=/ agentcore-mcp serve`
- `MCP_STARTUP_MANIFEST=.agentcore-mcp/manifest.json agentcore-mcp serve myproject.server:mcp`
  (listen before the SDK loads; see `agentcore-mcp manifest --help`)
"""


def serve(
    server_spec: str | None = typer.Argument(
        None, metavar="SERVER_SPEC", help=SERVER_SPEC_HELP, show_default=False
    ),
    host: str | None = typer.Option(None, help="Bind address [env: HOST, default 0.0.0.0]."),
    port: int | None = typer.Option(None, help="Port [env: PORT, default 8000]."),
    path: str | None = typer.Option(None, help="MCP path [env: MCP_PATH, default /mcp]."),
    response_mode: str | None = typer.Option(
        None, help="auto, json or sse [env: MCP_RESPONSE_MODE, default auto]."
    ),
    log_level: str | None = typer.Option(None, help="[env: LOG_LEVEL, default warning]."),
) -> None:
    """Serve an MCP server under the AgentCore Runtime contract (stateless, both protocol eras)."""
    started = time.perf_counter()
    from agentcore_mcp.server import ServerSettings, serve_spec
    from agentcore_mcp.server.settings import server_spec_from_env

    # A setting or server spec that cannot be used (SettingsError, ServerLoadError) goes
    # to the CLI's error handler: `error: ...`, exit 6.
    settings = ServerSettings.from_env(
        host=host, port=port, path=path, response_mode=response_mode, log_level=log_level
    )
    status = serve_spec(server_spec or server_spec_from_env(), settings, started=started)
    if status:
        raise typer.Exit(status)
