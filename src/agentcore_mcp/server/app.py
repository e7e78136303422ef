"""The HTTP front of the server kit: the contract checks, then a `Dispatcher`.

`front.RequestGate` does the checks that hold for any method (path, verb, Origin,
content type, body size, JSON-RPC envelope); accepted requests go to a `Dispatcher`.
Every response body passes through separator escaping on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcore_mcp.server.front import (
    RequestGate,
    origin_allowed,
    send_json_error,
)
from agentcore_mcp.server.sdk_dispatcher import Dispatcher, SdkDispatcher
from agentcore_mcp.server.settings import ServerSettings

__all__ = [
    "DispatcherFactory",
    "McpFront",
    "build_asgi_app",
    "dispatcher_for",
    "origin_allowed",
    "send_json_error",
]

logger = logging.getLogger("agentcore_mcp.server")

DispatcherFactory = Callable[[MCPServer[Any] | Server[Any], ServerSettings], Dispatcher]


class McpFront:
    """The ASGI app `build_asgi_app` returns."""

    def __init__(self, dispatcher: Dispatcher, settings: ServerSettings) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        self.gate = RequestGate(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = await self.gate.accept(scope, receive, send)
            if request is not None:
                await self.dispatcher.dispatch(request, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with self.dispatcher.lifespan():
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                assert message["type"] == "lifespan.shutdown"
        except BaseException as exc:
            logger.exception("server lifespan failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})


def dispatcher_for(settings: ServerSettings) -> DispatcherFactory:
    """The fast path unless MCP_DISPATCHER=sdk asks for the SDK's transport alone."""
    if settings.dispatcher == "sdk":
        return SdkDispatcher
    from agentcore_mcp.server.fast import FastDispatcher

    return FastDispatcher


def build_asgi_app(
    server: MCPServer[Any] | Server[Any],
    settings: ServerSettings | None = None,
    *,
    dispatcher_factory: DispatcherFactory | None = None,
) -> ASGIApp:
    """Wrap an `mcp` SDK server in an ASGI app that meets the AgentCore contract."""
    settings = settings or ServerSettings()
    factory: DispatcherFactory = dispatcher_factory or dispatcher_for(settings)
    # Escaping happens in the dispatchers: the SDK's output passes through `EscapingSend`,
    # the fast path escapes what it encodes, and the front's own errors are ASCII JSON.
    return McpFront(factory(server, settings), settings)
