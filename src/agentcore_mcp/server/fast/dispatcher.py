"""Classification and dispatch: which requests the fast path answers, and its handlers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pydantic_core
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.runner import ServerRunner
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    DEFAULT_NEGOTIATED_VERSION,
    PROTOCOL_VERSION_META_KEY,
    CallToolResult,
    EmptyResult,
    ListToolsResult,
    TextContent,
)
from mcp_types import methods as _methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.types import Send

from agentcore_mcp.asgi import ClientDisconnected, unless_client_leaves
from agentcore_mcp.server import sdk_compat
from agentcore_mcp.server.fast.results import CallResultSerializer, EncodedResult, sdk_logger
from agentcore_mcp.server.fast.tools import ToolRunner
from agentcore_mcp.server.front import (
    MODERN_META_KEYS,
    AnswerEncoder,
    InboundRequest,
    is_modern_version,
    modern_headers_ok,
)
from agentcore_mcp.server.sdk_dispatcher import SdkDispatcher
from agentcore_mcp.server.settings import ServerSettings

_CALL_PARAM_KEYS = frozenset({"name", "arguments", "_meta"})


class Fallback(Exception):
    """This request is not one the fast path answers; let the SDK do it."""


def _builtin_middleware_only(server: Server[Any]) -> bool:
    from mcp.server.request_state import RequestStateBoundary

    builtin = (sdk_compat.otel_middleware_type(), RequestStateBoundary)
    return all(isinstance(m, builtin) for m in server.middleware)


def _fast_path_usable(mcp_server: MCPServer[Any] | Server[Any]) -> bool:
    """Whether this SDK has the internals the fast path needs; warns once if not."""
    global _warned_missing
    missing = sdk_compat.fast_path_missing(mcp_server)
    if missing and not _warned_missing:
        _warned_missing = True
        sdk_logger.warning(
            "agentcore-mcp fast path off: the installed mcp SDK lacks %s (checked against "
            "mcp %s); every request goes through the SDK's own transport",
            ", ".join(missing),
            ", ".join(sdk_compat.CHECKED_MCP_VERSIONS),
        )
    return not missing


_warned_missing = False


class FastDispatcher:
    """A `Dispatcher` that answers hot methods itself and delegates the rest to the SDK."""

    def __init__(self, mcp_server: MCPServer[Any] | Server[Any], settings: ServerSettings) -> None:
        self.settings = settings
        self.sdk = SdkDispatcher(mcp_server, settings)
        self.server = sdk_compat.lowlevel_server(mcp_server)
        self.mcp = mcp_server if isinstance(mcp_server, MCPServer) else None
        # Checked once: without them no request is answered here (see `eligible`).
        self.usable = self.mcp is not None and _fast_path_usable(mcp_server)
        if self.usable:
            assert self.mcp is not None
            self._get_tool, self._registered_tools = sdk_compat.tool_lookups(self.mcp)
        self.tools = ToolRunner(inline_sync_tools=settings.inline_sync_tools)
        self.call_results = CallResultSerializer(self._serialize)
        # With LOG_LEVEL=debug, answers given here carry `x-agentcore-mcp-dispatch: fast`.
        self.encoder = AnswerEncoder(settings, b"fast")
        # Per version: the SDK's serializer, bound to a runner built for that version.
        self._serializers: dict[str, Callable[[str, str, Any], dict[str, Any]]] = {}
        self._middleware_checked: tuple[int, bool] = (-1, False)
        self._surface_verdicts: dict[tuple[str, str, bytes], bool] = {}
        self._header_params: dict[tuple[int, int], bool] = {}
        self._tools_list: dict[str, tuple[tuple[int, ...], EncodedResult]] = {}
        self._handlers = {
            "ping": self._ping,
            "tools/list": self._tools_list_result,
            "tools/call": self._tools_call,
        }

    @property
    def eligible(self) -> bool:
        """Whether any request can take the fast path (else every request goes to the SDK)."""
        # User middleware may be appended after the ASGI app is built: re-check when the
        # chain changes length.
        count = len(self.server.middleware)
        if count != self._middleware_checked[0]:
            self._middleware_checked = (
                count,
                self.usable and _builtin_middleware_only(self.server),
            )
        return self._middleware_checked[1]

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with self.sdk.lifespan():
            yield

    async def dispatch(self, request: InboundRequest, send: Send) -> None:
        if self.eligible:
            try:
                status, body = await self._answer(request)
            except Fallback:
                pass
            except ClientDisconnected:
                return  # the call was cancelled: nobody is there to read an answer
            else:
                await self.encoder.send(request, send, status, body)
                return
        await self.sdk.dispatch(request, send)

    # --- classification ------------------------------------------------------------

    async def _answer(self, request: InboundRequest) -> tuple[int, dict[str, Any] | bytes | None]:
        message = request.message
        method = message.get("method")
        if not isinstance(method, str):
            raise Fallback  # a client's response to a server request
        header_version = request.protocol_version
        version = header_version if header_version is not None else DEFAULT_NEGOTIATED_VERSION
        modern = is_modern_version(version)
        if not modern and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise Fallback  # the SDK owns the unsupported-version answer
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise Fallback
        if "id" not in message:
            if modern or not method.startswith("notifications/"):
                raise Fallback
            return 202, None  # the stateless handshake-era path acknowledges and drops these
        handler = self._handlers.get(method)
        if handler is None:
            raise Fallback
        if modern:
            name = (params or {}).get("name") if method == "tools/call" else None
            if not modern_headers_ok(request, method, name) or not self._meta_ok(
                method, version, params, modern=True
            ):
                raise Fallback
        elif (
            params
            and "_meta" in params
            and (
                not isinstance(params["_meta"], dict)
                or not self._meta_ok(method, version, params, modern=False)
            )
        ):
            raise Fallback
        request_id = message["id"]
        try:
            result = await handler(params or {}, version, request)
        except MCPError as exc:
            error = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
            status = _modern_status(error["code"]) if modern else 200
            return status, {"jsonrpc": "2.0", "id": request_id, "error": error}
        if type(result) is EncodedResult:
            # What `to_json` of the whole message gives, without encoding the result again.
            return 200, b"".join(
                (
                    b'{"jsonrpc":"2.0","id":',
                    pydantic_core.to_json(request_id),
                    b',"result":',
                    result,
                    b"}",
                )
            )
        return 200, {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _meta_ok(
        self, method: str, version: str, params: dict[str, Any] | None, *, modern: bool
    ) -> bool:
        """The checks that depend on `_meta` only, remembered per `_meta` envelope.

        For 2026-07-28, the `_meta` routing rules (`_modern_meta_ok`); for every
        version, the SDK's surface check: `validate_client_request` checks that the
        method exists at this version and that its params have the spec's shape. Past
        the handlers' own checks (a string `name`, an object `arguments`, no other
        keys), what it can reject lives in `_meta`, which a client sends unchanged on
        every request: so the verdict is cached per (method, version, `_meta`), the
        version deciding which rules apply. Without `_meta`, the handshake-era shapes the
        handlers accept always pass. What it rejects, the SDK answers.
        """
        meta = (params or {}).get("_meta")
        try:
            key = (method, version, pydantic_core.to_json(meta)) if meta is not None else None
        except pydantic_core.PydanticSerializationError:
            key = None
        if key is not None and (verdict := self._surface_verdicts.get(key)) is not None:
            return verdict
        if modern and not _modern_meta_ok(meta, version):
            verdict = False
        else:
            try:
                _methods.validate_client_request(method, version, params)
                verdict = True
            except (KeyError, ValidationError):
                verdict = False
        if key is not None:
            if len(self._surface_verdicts) >= 1024:
                self._surface_verdicts.clear()
            self._surface_verdicts[key] = verdict
        return verdict

    def _routes_by_headers(self, tool: Tool) -> bool:
        """Whether the tool's input schema declares `x-mcp-header` parameters."""
        key = (id(tool), id(tool.parameters))
        found = self._header_params.get(key)
        if found is None:
            found = self._header_params[key] = b'"x-mcp-header"' in pydantic_core.to_json(
                tool.parameters
            )
        return found

    # --- handlers ------------------------------------------------------------------

    def _serialize(self, method: str, version: str, result: Any) -> dict[str, Any]:
        serialize = self._serializers.get(version)
        if serialize is None:
            connection = Connection.from_envelope(version, None, None)
            runner = ServerRunner(self.server, connection, None)
            serialize = self._serializers[version] = sdk_compat.serializer(runner)
        return serialize(method, version, result)

    async def _ping(
        self, params: dict[str, Any], version: str, request: InboundRequest
    ) -> dict[str, Any]:
        if len(params) > ("_meta" in params):  # a key besides _meta
            raise Fallback
        return self._serialize("ping", version, EmptyResult())

    async def _tools_list_result(
        self, params: dict[str, Any], version: str, request: InboundRequest
    ) -> EncodedResult:
        if len(params) > ("_meta" in params):  # a key besides _meta
            raise Fallback  # a cursor: the SDK pages
        assert self.mcp is not None
        # Cached per version, keyed on the registered tools so add/remove is seen.
        key = tuple(map(id, self._registered_tools()))
        cached = self._tools_list.get(version)
        if cached is not None and cached[0] == key:
            return cached[1]
        result = self._serialize(
            "tools/list", version, ListToolsResult(tools=await self.mcp.list_tools())
        )
        encoded = EncodedResult(pydantic_core.to_json(result))
        self._tools_list[version] = (key, encoded)
        return encoded

    async def _tools_call(
        self, params: dict[str, Any], version: str, request: InboundRequest
    ) -> dict[str, Any]:
        mcp = self.mcp
        assert mcp is not None
        name = params.get("name")
        arguments = params.get("arguments")
        if (
            not isinstance(name, str)
            or not _CALL_PARAM_KEYS.issuperset(params)
            or (arguments is not None and not isinstance(arguments, dict))
        ):
            raise Fallback
        tool = self._get_tool(name)
        if tool is None or tool.context_kwarg is not None or tool.resolved_params:
            raise Fallback  # unknown tools and tools that may talk back: the SDK's path
        if is_modern_version(version) and self._routes_by_headers(tool):
            raise Fallback  # `x-mcp-header` params: the SDK checks Mcp-Param-* against them
        try:
            call = self.tools.run(tool, arguments or {})
            if tool.is_async:
                # As the SDK's transport does: a caller that leaves cancels the call.
                # (A sync tool on a thread cannot be stopped; inline ones are quick.)
                result: Any = await unless_client_leaves(call, request.receive)
            else:
                result = await call
        except MCPError:
            raise
        except Exception as exc:
            # As the SDK's own tools/call handler does: a failure is a result, not a crash.
            if isinstance(exc, ToolError) and not isinstance(exc, UnexpectedToolError):
                if isinstance(exc.__cause__, ValidationError):
                    fields = sorted(
                        {".".join(str(p) for p in e["loc"]) for e in exc.__cause__.errors()}
                    )
                    sdk_logger.info("Tool %r rejected arguments: %r", name, fields)
                else:
                    sdk_logger.info("Tool %r failed: %r", name, str(exc))
            else:
                sdk_logger.exception("Tool %r raised an unexpected exception", name)
            result = CallToolResult(
                content=[TextContent(type="text", text=str(exc))], is_error=True
            )
        return self.call_results(version, result)

    # --- the wire ------------------------------------------------------------------


def _modern_meta_ok(meta: Any, version: str) -> bool:
    """The 2026-07-28 `_meta` routing rules (the header's version is `version`)."""
    if not isinstance(meta, dict) or not MODERN_META_KEYS.issuperset(
        k for k in meta if k.startswith("io.modelcontextprotocol/")
    ):
        return False
    if meta.get(PROTOCOL_VERSION_META_KEY) != version:
        return False
    if not isinstance(meta.get(CLIENT_CAPABILITIES_META_KEY), dict):
        return False
    info = meta.get(CLIENT_INFO_META_KEY)
    return info is None or isinstance(info, dict)


def _modern_status(code: int) -> int:
    from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS

    return ERROR_CODE_HTTP_STATUS.get(code, 200)
