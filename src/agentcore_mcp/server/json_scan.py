"""A pre-scan that bounds what parsing a large JSON body can cost, before it is parsed.

Parsed JSON costs Python 30-70 bytes per value whatever the body's size: a 99 MB body of
`[],[],...` (33 million empty arrays) took a server to 2.86 GB. `scan_json` counts a
body's values and its nesting depth without building any of them, and says what is
over the limit.

It works on 1 MiB windows with `bytes` methods (each a short C call), so a thread
running it lets the event loop in between windows instead of holding the GIL for the
whole body. A first pass only counts structural bytes, which over-counts those inside
strings; only when that bound is over a limit does a second pass count exactly, with
strings (and the escapes inside them) taken out.
"""

from __future__ import annotations

from itertools import accumulate

WINDOW = 1 << 20
# Depth is tracked over slices of this many brackets: each C call stays short.
_DEPTH_SLICE = 1 << 16

_STRUCTURAL = b'"[]{},'
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in _STRUCTURAL)
_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonLimitError(Exception):
    """A body over the value or depth limit; `message` says which and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def scan_json(body: bytes, max_values: int, max_depth: int) -> None:
    """Raise `JsonLimitError` when `body` holds more than `max_values` JSON values or
    nests deeper than `max_depth`. Malformed JSON is left to the parser.

    A value here is an array element, an object member or the top-level value; an empty
    container counts twice. That is what parsing costs, within a small factor.
    """
    n = len(body)
    commas = opens = 0
    for start in range(0, n, WINDOW):
        end = start + WINDOW
        commas += body.count(b",", start, end)
        opens += body.count(b"[", start, end) + body.count(b"{", start, end)
    if commas + opens + 1 <= max_values and opens <= max_depth:
        return  # even counting what strings hold, within both limits
    _scan_exactly(body, max_values, max_depth)


def _scan_exactly(body: bytes, max_values: int, max_depth: int) -> None:
    n = len(body)
    values = 1
    depth = deepest = 0
    in_string = False
    escaped_first = False  # the window starts with a byte a backslash escapes
    start = 0
    while start < n:
        window = body[start + escaped_first : start + WINDOW]
        start += WINDOW
        # Backslashes come in escape pairs inside strings; the state is clean at the
        # window's start, so an odd trailing run escapes the next window's first byte.
        trailing = len(window) - len(window.rstrip(b"\\"))
        escaped_first = trailing % 2 == 1
        if escaped_first:
            window = window[:-1]
        # Out go escaped backslashes, then escaped quotes: every `"` left delimits a string.
        window = window.replace(b"\\\\", b"").replace(b'\\"', b"")
        structure = window.translate(None, _NOT_STRUCTURAL)
        parts = structure.split(b'"')
        outside = b"".join(parts[1::2] if in_string else parts[0::2])
        if len(parts) % 2 == 0:
            in_string = not in_string
        values += outside.count(b",") + outside.count(b"[") + outside.count(b"{")
        if values > max_values:
            raise JsonLimitError(
                f"Invalid Request: the body holds more than {max_values} JSON values "
                "(MCP_MAX_JSON_VALUES); send fewer values per request, or raise the limit"
            )
        brackets = outside.translate(None, b",")
        for i in range(0, len(brackets), _DEPTH_SLICE):
            piece = brackets[i : i + _DEPTH_SLICE]
            deepest = max(deepest, max(accumulate(map(_DELTA.__getitem__, piece), initial=depth)))
            depth += 2 * (piece.count(b"[") + piece.count(b"{")) - len(piece)
            if deepest > max_depth:
                raise JsonLimitError(
                    f"Invalid Request: the body nests JSON deeper than {max_depth} levels "
                    "(MCP_MAX_JSON_DEPTH); flatten the arguments, or raise the limit"
                )
