"""The server kit: serve any `mcp` SDK server under the AgentCore Runtime contract.

The names below load on first use, so `python -m agentcore_mcp.server` (the container
entry point) can start listening before the `mcp` SDK is imported.

Words: a *server spec* is the `module:attribute` string naming a server (`serve_spec`,
`load_server`); the *server* is the `MCPServer` (or low-level `Server`) it names; the
*ASGI app* is what `build_asgi_app` wraps a server in, for uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.lazy import lazy_exports

if TYPE_CHECKING:
    from agentcore_mcp.server.app import build_asgi_app
    from agentcore_mcp.server.loader import ServerLoadError, load_server
    from agentcore_mcp.server.run import serve, serve_spec
    from agentcore_mcp.server.settings import ServerSettings, SettingsError

__all__ = [
    "ServerLoadError",
    "ServerSettings",
    "SettingsError",
    "build_asgi_app",
    "load_server",
    "serve",
    "serve_spec",
]

_HOMES = {
    "ServerLoadError": "agentcore_mcp.server.loader",
    "ServerSettings": "agentcore_mcp.server.settings",
    "SettingsError": "agentcore_mcp.server.settings",
    "build_asgi_app": "agentcore_mcp.server.app",
    "load_server": "agentcore_mcp.server.loader",
    "serve": "agentcore_mcp.server.run",
    "serve_spec": "agentcore_mcp.server.run",
}


__getattr__ = lazy_exports(__name__, _HOMES)
