"""The one SSE decoder of the package: the `data` of each event of a `text/event-stream`.

Three places read SSE: the server kit's `DeferredSse` (its own stream, to answer a quick
call as JSON), the startup manifest (the recorded answers) and the stdio proxy (the
runtime's stream, event by event). httpx2, the `mcp` SDK's HTTP stack, ships a decoder,
but only behind `httpx2.EventSource`, over an `httpx2.Response` and on decoded text; the
proxy's HTTP client is `upstream.py` and the server reads bytes it wrote, so this one
works on bytes. It follows the same rules (tests/test_sse.py checks it gives what
httpx2's gives on a corpus):

- a line ends at CRLF, LF or a lone CR, also when a chunk boundary splits a CRLF; never
  at U+0085, U+2028 or U+2029 (`splitlines` would, and cut a JSON string);
- a line starting with `:` is a comment (keep-alives); `data:` drops one space after the
  colon; the `data` lines of an event are joined with LF; other fields carry no message;
- an event ends at a blank line; an event the stream ends in the middle of is dropped;
- an event whose data is empty carries no message (the `mcp` client skips those too).

Linear in the stream's size: a 100 MB event in 64 KiB chunks is joined once.
"""

from __future__ import annotations

import re

__all__ = ["SseDecoder", "sse_data"]

_LINE_END = re.compile(rb"\r\n?|\n")


class SseDecoder:
    """Feed it the stream's chunks as they come; each `feed` returns the data of the
    events that chunk completed."""

    __slots__ = ("_after_cr", "_data", "_partial")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the current line, so far
        self._data: list[bytes] = []  # the current event's data lines
        self._after_cr = False  # the last chunk ended in CR: a LF next belongs to it

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._after_cr = chunk[-1:] == b"\r"
        lines = _LINE_END.split(chunk) if b"\r" in chunk else chunk.split(b"\n")
        if len(lines) == 1:
            if chunk:
                self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
        self._partial = [lines[-1]] if lines[-1] else []
        events: list[bytes] = []
        for line in lines[:-1]:
            if not line:
                if self._data:
                    data = b"\n".join(self._data)
                    self._data = []
                    if data:
                        events.append(data)
            elif line.startswith(b"data"):
                name, _, value = line.partition(b":")
                if name == b"data":
                    self._data.append(value[1:] if value[:1] == b" " else value)
        return events


def sse_data(body: bytes) -> list[bytes]:
    """The data of each complete event of a whole SSE body."""
    return SseDecoder().feed(body)
