"""The server kit: serve any `mcp` SDK server under the AgentCore Runtime contract.

The names below load on first use, so `python -m agentcore_mcp.server` (the container
entry point) can start listening before the `mcp` SDK is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.lazy import lazy_exports

if TYPE_CHECKING:
    from agentcore_mcp.server.app import build_app
    from agentcore_mcp.server.loader import AppLoadError, load_server
    from agentcore_mcp.server.run import serve, serve_app
    from agentcore_mcp.server.settings import ServerSettings, SettingsError

__all__ = [
    "AppLoadError",
    "ServerSettings",
    "SettingsError",
    "build_app",
    "load_server",
    "serve",
    "serve_app",
]

_HOMES = {
    "AppLoadError": "agentcore_mcp.server.loader",
    "ServerSettings": "agentcore_mcp.server.settings",
    "SettingsError": "agentcore_mcp.server.settings",
    "build_app": "agentcore_mcp.server.app",
    "load_server": "agentcore_mcp.server.loader",
    "serve": "agentcore_mcp.server.run",
    "serve_app": "agentcore_mcp.server.run",
}


__getattr__ = lazy_exports(__name__, _HOMES)
