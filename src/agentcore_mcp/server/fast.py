"""The stateless fast path: hot requests answered directly, everything else by the SDK.

For each POST the SDK's stateless transport builds a transport, a task group, a stream
pair, a dispatcher and a server session, then tears them down: about 95% of the cost
of a `tools/call`. This dispatcher answers `ping`, `tools/list` and `tools/call` (for
tools that take no `Context`) in the request's own task, with the SDK's own pieces:

- the registered tools, through `MCPServer.call_tool` (argument validation, result
  conversion, output schemas), with the error handling of the SDK's `tools/call`
  handler;
- the SDK's wire serializer for each protocol version (`ServerRunner._serialize`);

The SDK internals it needs come from `sdk_compat`; when the installed SDK lacks one,
every request goes to `SdkDispatcher` instead (one warning at start).
- the SDK's JSON-RPC envelope types.

Anything it does not recognise exactly (initialize, other methods, unusual params,
tools that take a `Context` and so may report progress, log or ask the client,
servers with user middleware, unknown or unsupported versions, modern-era header
checks that fail) goes to `SdkDispatcher` unchanged, so the SDK produces the answer
and its error shapes. `tests/server/test_fast_equivalence.py` sends one corpus to both
and compares the responses field by field.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pydantic_core
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)
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
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.types import Send

from agentcore_mcp.server import sdk_compat
from agentcore_mcp.server.dispatch import SdkDispatcher
from agentcore_mcp.server.front import (
    MODERN_META_KEYS,
    AnswerEncoder,
    InboundRequest,
    modern_headers_ok,
)
from agentcore_mcp.server.settings import ServerSettings

# The same logger the SDK's tools/call handler writes to, so logs read the same.
sdk_logger = logging.getLogger("mcp.server.mcpserver.server")

_CALL_PARAM_KEYS = frozenset({"name", "arguments", "_meta"})


class EncodedResult(bytes):
    """A JSON-RPC `result` already encoded, compact, as `pydantic_core.to_json` writes it."""


class Fallback(Exception):
    """This request is not one the fast path answers; let the SDK do it."""


def _builtin_middleware_only(server: Server[Any]) -> bool:
    from mcp.server.request_state import RequestStateBoundary

    builtin = (sdk_compat.otel_middleware_type(), RequestStateBoundary)
    return all(isinstance(m, builtin) for m in server.middleware)


def _fast_path_usable(app: MCPServer[Any] | Server[Any]) -> bool:
    """Whether this SDK has the internals the fast path needs; warns once if not."""
    global _warned_missing
    missing = sdk_compat.fast_path_missing(app)
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


@dataclass
class _SyncToolStats:
    quick_calls: int = 0
    inline: bool = False
    demoted: bool = False
    inline_average: float = 0.0


class ToolRunner:
    """`Tool.run` for tools without a Context, with adaptive inline sync calls.

    The SDK runs every sync tool on a worker thread, which costs more than a small tool
    itself (a thread hop is 100-250 us here). A sync tool that has finished within
    `QUICK_SECONDS` on `PROMOTE_AFTER` calls (timed inside the worker) runs inline on
    the event loop from then on. One call over `SLOW_SECONDS`, in the thread or inline,
    or an inline average creeping over `QUICK_SECONDS`, sends it back to the thread for
    good; so the loop is held up by at most one slow call per tool. Times are
    wall-clock, because a tool that blocks on I/O uses no CPU; a call slowed by a busy
    host (waiting for the GIL) only delays the promotion.
    `MCP_INLINE_SYNC_TOOLS=never` keeps the SDK's behaviour for every call. Results and
    errors are the same either way.
    """

    PROMOTE_AFTER = 8
    QUICK_SECONDS = 0.001
    SLOW_SECONDS = 0.010

    def __init__(self, inline_allowed: bool) -> None:
        self.inline_allowed = inline_allowed
        self._stats: dict[int, _SyncToolStats] = {}
        self._str_results: dict[int, _StrShortcut] = {}
        self._argument_plans: dict[int, _ArgumentPlan] = {}

    async def run(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        # Mirrors mcp.server.mcpserver.tools.base.Tool.run for tools with no context
        # and no resolvers, including its exception mapping.
        try:
            validated = self._validate_arguments(tool.fn_metadata, arguments)
        except ValidationError as exc:
            raise ToolError(f"Error executing tool {tool.name}: {exc}") from exc
        except MCPError:
            raise
        except Exception as exc:
            raise UnexpectedToolError(f"Error executing tool {tool.name}") from exc
        try:
            if tool.is_async:
                result = await tool.fn(**validated)
            elif (stats := self._stats.get(id(tool))) is not None and stats.inline:
                result = self._call_inline(tool, validated, stats)
            else:
                result = await self._call_sync(tool, validated)
            return self._convert(tool, result)
        except MCPError:
            raise
        except (UnexpectedToolError, UnexpectedResourceError) as exc:
            raise UnexpectedToolError(f"Error executing tool {tool.name}: {exc}") from exc
        except (ToolError, ResourceError) as exc:
            raise ToolError(f"Error executing tool {tool.name}: {exc}") from exc
        except Exception as exc:
            raise UnexpectedToolError(f"Error executing tool {tool.name}") from exc

    def _convert(self, tool: Tool, result: Any) -> Any:
        """`FuncMetadata.convert_result`, with a learned short-cut for plain `str` results.

        For a `str` returned by a tool whose output is unstructured or wrapped as
        `{"result": str}`, the SDK's conversion is one text block plus that wrapper, and
        validating a `str` against a `str` field changes nothing. The first such result
        of each tool (and every `RECHECK`th) goes through the SDK and is compared with
        the short-cut; the short-cut is used only while they agree. It returns a
        `QuickText`: the result already in its wire dump, so `CallResultSerializer`
        builds no model for it unless it has to ask the SDK.
        """
        metadata = tool.fn_metadata
        if type(result) is not str:
            return metadata.convert_result(result)
        shortcut = self._str_results.get(id(tool))
        schema = metadata.output_schema
        wrapped = metadata.wrap_output
        if (
            shortcut is None
            or shortcut.metadata is not metadata
            or shortcut.schema is not schema
            or shortcut.wrapped != wrapped
        ):
            shortcut = self._str_results[id(tool)] = _StrShortcut(
                metadata, schema, wrapped, _plain_str_output(schema, wrapped)
            )
        if not shortcut.plain:
            return metadata.convert_result(result)
        shortcut.calls += 1
        quick = QuickText(result, schema is not None)
        if shortcut.agrees is None or shortcut.calls % CallResultSerializer.RECHECK == 0:
            converted = metadata.convert_result(result)
            shortcut.agrees = isinstance(converted, CallToolResult) and quick.matches(converted)
            return converted
        return quick if shortcut.agrees else metadata.convert_result(result)

    def _validate_arguments(self, metadata: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        """`FuncMetadata.validate_arguments`, the same steps with the model's layout cached.

        `pre_parse_json` only changes string values of non-`str` fields, and returns a
        copy otherwise; so it runs only when there is such a value. Validation is the
        model's own; the one-level dump reads the same fields under the same names.
        """
        model = metadata.arg_model
        plan = self._argument_plans.get(id(metadata))
        if plan is None or plan.model is not model:
            plan = self._argument_plans[id(metadata)] = _ArgumentPlan(model)
        keys = plan.parses_strings
        if keys and any(k in keys and isinstance(v, str) for k, v in arguments.items()):
            # A string where the model wants something else: the SDK's pre-parse itself.
            arguments = metadata.pre_parse_json(arguments)
        parsed = model.model_validate(arguments)
        return {output: getattr(parsed, name) for name, output in plan.names}

    def _call_inline(self, tool: Tool, kwargs: dict[str, Any], stats: _SyncToolStats) -> Any:
        started = time.perf_counter()
        try:
            return tool.fn(**kwargs)
        finally:
            elapsed = time.perf_counter() - started
            stats.inline_average = 0.9 * stats.inline_average + 0.1 * elapsed
            if elapsed > self.SLOW_SECONDS or stats.inline_average > self.QUICK_SECONDS:
                stats.inline, stats.demoted = False, True

    async def _call_sync(self, tool: Tool, kwargs: dict[str, Any]) -> Any:
        stats = self._stats.get(id(tool))
        if stats is None:
            stats = self._stats[id(tool)] = _SyncToolStats()
        if stats.inline:
            return self._call_inline(tool, kwargs, stats)
        call = functools.partial(tool.fn, **kwargs)
        own = [0.0]

        def timed() -> Any:
            # Timed in the worker: the tool's own cost, without the hop.
            t0 = time.perf_counter()
            try:
                return call()
            finally:
                own[0] = time.perf_counter() - t0

        try:
            return await anyio.to_thread.run_sync(timed)
        finally:
            if self.inline_allowed and not stats.demoted:
                if own[0] > self.SLOW_SECONDS:
                    stats.demoted = True
                elif own[0] <= self.QUICK_SECONDS:
                    stats.quick_calls += 1
                    stats.inline = stats.quick_calls >= self.PROMOTE_AFTER


class _ArgumentPlan:
    """What `FuncMetadata.validate_arguments` reads of an argument model, read once.

    The SDK's `pre_parse_json` rebuilds its key-to-field map on every call and
    `model_dump_one_level` walks `model_fields` again; both depend only on the model.
    """

    __slots__ = ("model", "names", "parses_strings")

    def __init__(self, model: Any) -> None:
        self.model = model
        fields = model.model_fields
        # Keys (names and aliases) whose string values `pre_parse_json` may parse as JSON.
        self.parses_strings = frozenset(
            key
            for name, info in fields.items()
            if info.annotation is not str
            for key in (name, info.alias)
            if key
        )
        self.names = tuple((name, info.alias or name) for name, info in fields.items())


class _StrShortcut:
    """One tool's plain-`str` short-cut: whether it applies to the tool's current output
    metadata, whether it agreed with the SDK when last compared, and calls so far."""

    __slots__ = ("agrees", "calls", "metadata", "plain", "schema", "wrapped")

    def __init__(self, metadata: Any, schema: Any, wrapped: bool, plain: bool) -> None:
        self.metadata = metadata
        self.schema = schema
        self.wrapped = wrapped
        self.plain = plain
        self.agrees: bool | None = None
        self.calls = 0


class QuickText:
    """A plain-`str` tool result as the short-cut converts it.

    `dumped()` is what `CallToolResult.model_dump(by_alias=True, mode="json",
    exclude_none=True)` gives for `model()`, key order included: `matches` checks that
    (and that the SDK's own conversion gives the same) whenever the short-cut is
    compared with the SDK.
    """

    __slots__ = ("structured", "text")

    def __init__(self, text: str, structured: bool) -> None:
        self.text = text
        self.structured = structured

    def dumped(self) -> dict[str, Any]:
        text = self.text
        if self.structured:
            return {
                "content": [{"type": "text", "text": text}],
                "structuredContent": {"result": text},
                "isError": False,
                "resultType": "complete",
            }
        return {
            "content": [{"type": "text", "text": text}],
            "isError": False,
            "resultType": "complete",
        }

    def model(self) -> CallToolResult:
        return CallToolResult(
            content=[TextContent(type="text", text=self.text)],
            structured_content={"result": self.text} if self.structured else None,
        )

    def matches(self, converted: CallToolResult) -> bool:
        """Whether the SDK's conversion, this model and this dump all agree exactly."""
        model = self.model()
        if converted.model_dump() != model.model_dump():
            return False
        # `repr`: key order and value types count (1 == True, but not as text), and
        # unlike a JSON encoding it cannot fail (a lone surrogate fails only on the wire,
        # as it does without the short-cut).
        dumped = repr(self.dumped())
        return all(
            repr(m.model_dump(by_alias=True, mode="json", exclude_none=True)) == dumped
            for m in (model, converted)
        )


def _plain_str_output(schema: dict[str, Any] | None, wrapped: bool) -> bool:
    """No output schema, or `{"result": str}` with no constraint a value could fail."""
    if schema is None:
        return True
    if not wrapped or schema.get("required") != ["result"]:
        return False
    properties = schema.get("properties")
    if not isinstance(properties, dict) or set(properties) != {"result"}:
        return False
    field = properties["result"]
    return (
        isinstance(field, dict)
        and set(field) <= {"type", "title", "description"}
        and field.get("type") == "string"
    )


_NOT_SIMPLE = object()


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the SDK's serializer changed a result of one shape: keys dropped, keys added."""

    dropped: frozenset[str]
    added: tuple[tuple[str, Any], ...]


class CallResultSerializer:
    """The SDK's per-version `tools/call` serializer, learned per result shape.

    `ServerRunner._serialize` validates a result against the protocol version's model
    and dumps it again: for a given version and result shape (which top-level keys,
    text-only content blocks) it only ever drops fields that version lacks and adds
    constant envelope fields (2026-07-28's `resultType` and `serverInfo` stamp). The
    first result of each shape goes through the SDK and the difference is recorded;
    later ones get the same difference applied, and every `RECHECK`th result of a
    shape goes through the SDK again and is compared. Any shape that is not a plain
    drop/add (nested changes, other content types) always goes through the SDK.
    """

    RECHECK = 1024

    def __init__(self, serialize: Callable[[str, str, Any], dict[str, Any]]) -> None:
        self._serialize = serialize
        self._plans: dict[tuple[Any, ...], Any] = {}
        self._seen = 0
        # (version, structured) -> a `QuickText`'s plan applied in advance, or `_NO_PLAN`
        # when its shape has no usable plan; emptied whenever a plan is (re)learned.
        self._quick: dict[tuple[str, bool], _QuickTemplate] = {}

    def __call__(self, version: str, result: Any) -> dict[str, Any]:
        if type(result) is QuickText:
            # Already dumped: with a learned plan and no recheck due, no model is built.
            if (self._seen + 1) % self.RECHECK:
                structured = result.structured
                template = self._quick.get((version, structured))
                if template is None:
                    template = self._quick_template(version, structured)
                if template is not _NO_PLAN:
                    self._seen += 1
                    return template.fill(result.text)
            result = result.model()  # the SDK's turn: exactly as for any other result
        if not isinstance(result, CallToolResult):
            return self._serialize("tools/call", version, result)
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        shape = _simple_shape(dumped)
        if shape is None:
            return self._serialize("tools/call", version, result)
        key = (version, shape)
        plan = self._plans.get(key)
        self._seen += 1
        if plan is None or self._seen % self.RECHECK == 0:
            full = self._serialize("tools/call", version, result)
            learned = _learn(dumped, full)
            if plan is not None and plan is not _NOT_SIMPLE and learned != plan:
                sdk_logger.warning("tools/call serialization changed for %r; re-learning", key)
            self._plans[key] = learned
            self._quick.clear()
            return full
        if plan is _NOT_SIMPLE:
            return self._serialize("tools/call", version, result)
        for name in plan.dropped:
            dumped.pop(name, None)
        dumped.update(plan.added)
        return dumped

    def _quick_template(self, version: str, structured: bool) -> _QuickTemplate:
        plan = self._plans.get((version, _QUICK_SHAPES[structured]))
        template = (
            _NO_PLAN if plan is None or plan is _NOT_SIMPLE else _QuickTemplate(plan, structured)
        )
        self._quick[(version, structured)] = template
        return template


class _QuickTemplate:
    """A plan applied in advance to a `QuickText`'s dump, for `fill` to put the text in.

    The plan only drops keys and adds keys the dump lacks, and assigning an existing key
    keeps its place: so the template with the text filled in is, key order included,
    the plan applied to the dump with that text.
    """

    __slots__ = ("content", "structured", "template")

    def __init__(self, plan: _Plan, structured: bool) -> None:
        template = QuickText("", structured).dumped()
        for name in plan.dropped:
            template.pop(name, None)
        template.update(plan.added)
        self.template = template
        # Where the text goes: only into keys that came from the dump itself.
        added = {name for name, _ in plan.added}
        self.content = "content" in template and "content" not in added
        self.structured = (
            structured and "structuredContent" in template and "structuredContent" not in added
        )

    def fill(self, text: str) -> dict[str, Any]:
        dumped = self.template.copy()
        if self.content:
            dumped["content"] = [{"type": "text", "text": text}]
        if self.structured:
            dumped["structuredContent"] = {"result": text}
        return dumped


_NO_PLAN = _QuickTemplate.__new__(_QuickTemplate)


def _simple_shape(dumped: dict[str, Any]) -> tuple[Any, ...] | None:
    """Top-level keys and content-block keys, when every block is plain text."""
    blocks = dumped.get("content")
    if not isinstance(blocks, list):
        return None
    block_keys = []
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "text" or len(block) != 2:
            return None
        block_keys.append(len(block))
    return (tuple(dumped), len(block_keys))


# The shape key `CallResultSerializer` learns a `QuickText`'s plan under, by `structured`.
_QUICK_SHAPES: dict[bool, tuple[Any, ...]] = {
    structured: _simple_shape(QuickText("", structured).dumped()) or ()
    for structured in (False, True)
}


def _learn(dumped: dict[str, Any], full: dict[str, Any]) -> Any:
    if any(name in full and full[name] != value for name, value in dumped.items()):
        return _NOT_SIMPLE
    return _Plan(
        dropped=frozenset(name for name in dumped if name not in full),
        added=tuple((name, value) for name, value in full.items() if name not in dumped),
    )


class FastDispatcher:
    """A `Dispatcher` that answers hot methods itself and delegates the rest to the SDK."""

    def __init__(self, app: MCPServer[Any] | Server[Any], settings: ServerSettings) -> None:
        self.settings = settings
        self.sdk = SdkDispatcher(app, settings)
        self.server = sdk_compat.lowlevel_server(app)
        self.mcp = app if isinstance(app, MCPServer) else None
        # Checked once: without them no request is answered here (see `eligible`).
        self.usable = self.mcp is not None and _fast_path_usable(app)
        if self.usable:
            assert self.mcp is not None
            self._get_tool, self._registered_tools = sdk_compat.tool_lookups(self.mcp)
        self.tools = ToolRunner(inline_allowed=settings.inline_sync_tools)
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
        # User middleware may be appended after the app is built: re-check when the
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
        modern = version in MODERN_PROTOCOL_VERSIONS
        if not modern and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise Fallback  # the SDK owns the unsupported-version answer
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise Fallback
        if "id" not in message:
            if modern or not method.startswith("notifications/"):
                raise Fallback
            return 202, None  # the stateless legacy path acknowledges and drops these
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
            result = await handler(params or {}, version)
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
        version deciding which rules apply. Without `_meta`, the 2025-era shapes the
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

    async def _ping(self, params: dict[str, Any], version: str) -> dict[str, Any]:
        if len(params) > ("_meta" in params):  # a key besides _meta
            raise Fallback
        return self._serialize("ping", version, EmptyResult())

    async def _tools_list_result(self, params: dict[str, Any], version: str) -> EncodedResult:
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

    async def _tools_call(self, params: dict[str, Any], version: str) -> dict[str, Any]:
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
        if version in MODERN_PROTOCOL_VERSIONS and self._routes_by_headers(tool):
            raise Fallback  # `x-mcp-header` params: the SDK checks Mcp-Param-* against them
        try:
            result: Any = await self.tools.run(tool, arguments or {})
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
