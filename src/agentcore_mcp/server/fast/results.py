"""Result templates and serialisation: the SDK's per-version wire dump, learned per shape.

`CallResultSerializer` applies what the SDK's serializer (`ServerRunner._serialize`,
reached through `sdk_compat`) did to the last result of the same shape; `QuickText` is a
plain-`str` tool result already in its wire dump.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import CallToolResult, TextContent

# The same logger the SDK's tools/call handler writes to, so logs read the same.
sdk_logger = logging.getLogger("mcp.server.mcpserver.server")


class EncodedResult(bytes):
    """A JSON-RPC `result` already encoded, compact, as `pydantic_core.to_json` writes it."""


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
