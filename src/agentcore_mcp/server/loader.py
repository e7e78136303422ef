"""Resolve a server spec (`module:attribute`) to a user's MCP server object."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcore_mcp.errors import AgentCoreMcpError

if TYPE_CHECKING:
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer


class ServerLoadError(AgentCoreMcpError):
    """The server spec could not be imported or does not name an MCP server."""


def load_server(server_spec: str | None) -> MCPServer[Any] | Server[Any]:
    """Import `module:attribute` (the attribute may be a zero-argument factory).

    None is the sample server.
    """
    from agentcore_mcp.server.sdk_compat import sdk_models_deferred

    # The SDK's import alone, before the user's module: its models build on first use,
    # the user's as usual (sdk_compat.sdk_models_deferred).
    with sdk_models_deferred():
        from mcp.server.lowlevel.server import Server
        from mcp.server.mcpserver import MCPServer

    if server_spec is None:
        from agentcore_mcp.server.sample import build_sample_server

        return build_sample_server()
    module_name, _, attr = server_spec.partition(":")
    if not module_name or not attr:
        raise ServerLoadError(
            f"the server spec must look like 'module:attribute', got {server_spec!r}"
        )
    # Like uvicorn, let a user run `serve myserver:mcp` from their project directory.
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ServerLoadError(f"cannot import {module_name!r}: {exc}") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError as exc:
        raise ServerLoadError(f"module {module_name!r} has no attribute {attr!r}") from exc
    if callable(obj) and not isinstance(obj, (MCPServer, Server)):
        obj = obj()
    if not isinstance(obj, (MCPServer, Server)):
        raise ServerLoadError(
            f"{server_spec} is a {type(obj).__name__}, not an mcp MCPServer or Server"
        )
    return obj
