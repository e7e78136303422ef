"""The HTTP front of the server kit: the AgentCore contract rules that hold for any method.

Paths `/mcp` and `/mcp/`; POST only (GET and DELETE answer 405, since a stateless server
has no standalone stream and no session to delete); any Host; an Origin guard; a body
limit enforced while reading. Accepted requests go to a `Dispatcher`; every response
body passes through separator escaping on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    declared_too_large,
    read_body,
    send_json,
)
from agentcore_mcp.server.dispatch import Dispatcher, InboundRequest, SdkDispatcher
from agentcore_mcp.server.settings import ServerSettings
from agentcore_mcp.server.wire import EnvelopeError, parse_envelope

logger = logging.getLogger("agentcore_mcp.server")

_BLANKS = (b" ", b"\t")


def _padded(value: bytes | None) -> bool:
    return value is not None and (value[-1:] in _BLANKS or value[:1] in _BLANKS)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

DispatcherFactory = Callable[[MCPServer[Any] | Server[Any], ServerSettings], Dispatcher]


async def send_json_error(
    send: Send,
    status: int,
    message: str,
    *,
    code: int = -32600,
    request_id: object = None,
    headers: dict[str, str] | None = None,
) -> None:
    """A JSON-RPC error body with an HTTP status, for requests refused before dispatch."""
    doc = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    await send_json(send, status, doc, headers)


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Loopback origins and configured ones pass; `*` in the list allows every origin."""
    if "*" in allowed or origin.rstrip("/") in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS


class McpFront:
    """The ASGI application `build_app` returns."""

    def __init__(self, dispatcher: Dispatcher, settings: ServerSettings) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        path = settings.normalized_path
        self.paths = frozenset({path, path + "/"}) if path != "/" else frozenset({"/"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] not in self.paths:
            await send_json_error(send, 404, f"Not Found: MCP is served at {self.settings.path}")
            return
        headers = dict(scope["headers"])  # ASGI servers give lowercase names
        # RFC 9110 §5.5: a field value excludes leading and trailing whitespace. uvicorn's
        # httptools parser keeps trailing spaces, which the SDK's Mcp-Method / Mcp-Name
        # checks would then reject as a header mismatch.
        if _padded(headers.get(b"mcp-method")) or _padded(headers.get(b"mcp-name")):
            scope = {**scope, "headers": [(k, v.strip(b" \t")) for k, v in scope["headers"]]}
            headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(
            origin.decode("latin-1"), self.settings.allowed_origins
        ):
            await send_json_error(
                send, 403, "Forbidden: Origin not allowed (set MCP_ALLOWED_ORIGINS to allow it)"
            )
            return
        if scope["method"] != "POST":
            await send_json_error(
                send,
                405,
                "Method Not Allowed: this stateless server answers POST only",
                headers={"allow": "POST"},
            )
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            # The SDK answers a bare-text 400 here; 415 is the HTTP status for this and
            # what the other SDKs send, with a body that says what to change.
            await send_json_error(
                send, 415, "Unsupported Media Type: Content-Type must be application/json"
            )
            return
        if declared_too_large(headers.get(b"content-length"), self.settings.max_body_bytes):
            await send_json_error(send, 413, self._too_large_message())
            return
        try:
            body = await read_body(receive, self.settings.max_body_bytes)
        except BodyTooLarge:
            await send_json_error(send, 413, self._too_large_message())
            return
        except ClientDisconnected:
            return
        try:
            message = parse_envelope(body)
        except EnvelopeError as exc:
            await send_json_error(send, 400, exc.message, code=exc.code, request_id=exc.request_id)
            return
        accept = headers.get(b"accept", b"").decode("latin-1").lower()
        version = headers.get(b"mcp-protocol-version")
        request = InboundRequest(
            scope=scope,
            body=body,
            message=message,
            accepts_sse="text/event-stream" in accept or "*/*" in accept or "text/*" in accept,
            protocol_version=version.decode("latin-1") if version is not None else None,
        )
        await self.dispatcher.dispatch(request, send)

    def _too_large_message(self) -> str:
        return (
            f"Payload Too Large: request body exceeds {self.settings.max_body_bytes} bytes "
            "(raise MCP_MAX_BODY_BYTES to accept more)"
        )

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


def build_app(
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
