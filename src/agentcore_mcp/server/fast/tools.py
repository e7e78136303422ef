"""Tool running and its caches: argument plans, the plain-`str` short-cut, inline sync calls."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)
from mcp.server.mcpserver.tools.base import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult
from pydantic import ValidationError

from agentcore_mcp.server.fast.results import CallResultSerializer, QuickText


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

    def __init__(self, inline_sync_tools: bool) -> None:
        self.inline_sync_tools = inline_sync_tools
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
            if self.inline_sync_tools and not stats.demoted:
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
