"""The seam between the HTTP front (`app.py`) and whatever answers a JSON-RPC POST.

`app.py` does the contract checks that never depend on the MCP method (path, verb,
Origin, body size) and then hands a fully-read request to a `Dispatcher`. The SDK
dispatcher below runs each request through the official SDK's stateless
Streamable HTTP machinery; a faster dispatcher can implement the same protocol and
fall back to this one for requests that need the SDK's streaming.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import anyio
import sse_starlette.sse
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Send

from agentcore_mcp.server import sdk_compat
from agentcore_mcp.server.front import InboundRequest
from agentcore_mcp.server.settings import ServerSettings
from agentcore_mcp.server.wire import DeferredSse, EscapingSend

# Handshake-era requests that may run long or report progress: these are the ones worth
# an SSE stream (keep-alives, progress notifications). Everything else is answered
# with a single JSON body, which every client parses and which is much cheaper.
STREAMING_METHODS = frozenset(
    {"tools/call", "prompts/get", "resources/read", "completion/complete"}
)


def _sdk_routes_as_2026_era(version: str | None) -> bool:
    """Whether the SDK's transport takes this request down its 2026-07-28 path.

    Not `front.is_modern_version` (the supported 2026-07-28 era, which the fast path
    and the front check): any version from 2026 on, supported or not, goes to the SSE
    manager, whose modern path answers it (an unsupported version included).
    """
    return version is not None and version >= "2026"


class Dispatcher(Protocol):
    """Answers one accepted POST with a complete HTTP response."""

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def dispatch(self, request: InboundRequest, send: Send) -> None: ...


# Kept here as well: callers import it from this module.
lowlevel_server = sdk_compat.lowlevel_server


def apply_keepalive_interval(seconds: float) -> None:
    """Make the SDK's SSE streams send keep-alive comments every `seconds`.

    The SDK builds its SSE responses itself and exposes no parameter for the interval,
    so the two module-level defaults it reads are the only knob (the 2026-07-28 era's is
    private, hence `sdk_compat`). They are process-wide,
    which matches how the kit runs: one server per process.
    """
    sse_starlette.sse.EventSourceResponse.DEFAULT_PING_INTERVAL = seconds  # type: ignore[assignment]
    sdk_compat.set_modern_sse_ping_interval(seconds)


class SdkDispatcher:
    """Every request through the official SDK's stateless Streamable HTTP transport.

    Two session managers share one server: one answers with JSON bodies, the other with
    SSE streams. `response_mode="auto"` picks SSE only for handshake-era requests in
    `STREAMING_METHODS` from clients that accept it; the 2026-07-28 era always uses the
    SSE manager, whose modern path itself answers JSON unless the handler streams or
    outlives one keep-alive interval.
    """

    def __init__(self, mcp_server: MCPServer[Any] | Server[Any], settings: ServerSettings) -> None:
        self.settings = settings
        server = lowlevel_server(mcp_server)
        # AgentCore reaches the container by IP with arbitrary Host headers; the Origin
        # check that DNS-rebinding protection would add is done by the front instead.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        common: dict[str, Any] = {
            "app": server,
            "stateless": True,
            "security_settings": security,
            "max_request_body_size": settings.max_body_bytes,
        }
        self._json = StreamableHTTPSessionManager(json_response=True, **common)
        self._sse = StreamableHTTPSessionManager(json_response=False, **common)
        apply_keepalive_interval(settings.sse_keepalive_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with self._json.run(), self._sse.run():
            yield

    def wants_sse(self, request: InboundRequest) -> bool:
        mode = self.settings.response_mode
        if mode == "json" or not request.accepts_sse:
            return False
        if mode == "sse":
            return True
        if _sdk_routes_as_2026_era(request.protocol_version):
            return True
        return request.method in STREAMING_METHODS

    async def dispatch(self, request: InboundRequest, send: Send) -> None:
        escaping = EscapingSend(send)
        await self._dispatch(request, escaping)
        await escaping.finish()

    async def _dispatch(self, request: InboundRequest, send: Send) -> None:
        if not self.wants_sse(request):
            await self._json.handle_request(request.scope, request.replay_receive(), send)
            return
        if (
            _sdk_routes_as_2026_era(request.protocol_version)
            or self.settings.response_mode == "sse"
        ):
            # The modern path already answers JSON unless the handler streams or runs long.
            await self._sse.handle_request(request.scope, request.replay_receive(), send)
            return
        deferred = DeferredSse(send, self.settings.sse_keepalive_seconds)

        async def commit_when_window_passes() -> None:
            await anyio.sleep(self.settings.sse_keepalive_seconds)
            await deferred.tick()

        async with anyio.create_task_group() as tg:
            tg.start_soon(commit_when_window_passes)
            await self._sse.handle_request(request.scope, request.replay_receive(), deferred)
            tg.cancel_scope.cancel()
