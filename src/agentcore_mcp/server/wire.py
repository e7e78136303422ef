"""Bytes on the wire: JSON line-separator escaping for every outgoing body.

Some clients split text on U+0085, U+2028 or U+2029 (Python's `str.splitlines`, some
JS line readers), which breaks an SSE or NDJSON frame in the middle of a JSON string
and hangs or misparses the call. The seed's `\\x85` bug is this. JSON allows those
characters raw inside strings, and they can only appear inside strings, so replacing
their UTF-8 bytes with `\\u` escapes is lossless after decoding.
"""

from __future__ import annotations

from starlette.types import Message, Send

from agentcore_mcp.sse import SseDecoder

_ESCAPES: tuple[tuple[bytes, bytes], ...] = (
    ("\u0085".encode(), b"\\u0085"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)
# Every separator's UTF-8 form starts with one of these lead bytes.
_LEADS = (0xC2, 0xE2)


def escape_separators(body: bytes) -> bytes:
    """Replace raw U+0085, U+2028 and U+2029 in UTF-8 JSON with `\\u` escapes."""
    if body.isascii() or (b"\xc2\x85" not in body and b"\xe2\x80" not in body):
        return body
    for raw, escaped in _ESCAPES:
        body = body.replace(raw, escaped)
    return body


def _split_incomplete_tail(chunk: bytes) -> tuple[bytes, bytes]:
    """Hold back a trailing partial separator so a sequence split across chunks is caught."""
    for keep in (1, 2):
        if len(chunk) >= keep and chunk[-keep] in _LEADS:
            tail = chunk[-keep:]
            if tail in (b"\xc2", b"\xe2", b"\xe2\x80"):
                return chunk[:-keep], tail
    return chunk, b""


class EscapingSend:
    """An ASGI `send` that applies `escape_separators` to response bodies, streamed or not.

    Content-Length is recomputed when the whole body arrives in one message (JSON
    responses) and dropped otherwise, since escaping grows the body. Call `finish()`
    after the ASGI app returns, for a response that never sent a body message.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._pending_start: Message | None = None
        self._carry = b""

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._pending_start = message
            return
        if kind != "http.response.body":
            await self._send(message)
            return
        body = self._carry + message.get("body", b"")
        more = message.get("more_body", False)
        self._carry = b""
        if more:
            body, self._carry = _split_incomplete_tail(body)
        body = escape_separators(body)
        if self._pending_start is not None:
            start, self._pending_start = self._pending_start, None
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            if not more:
                headers.append((b"content-length", str(len(body)).encode()))
            await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": more})

    async def finish(self) -> None:
        if self._pending_start is not None:
            start, self._pending_start = self._pending_start, None
            await self._send(start)


SSE_CONTENT_TYPE = b"text/event-stream"


def _is_notification(payload: bytes) -> bool:
    """Whether an SSE event's JSON-RPC message is not a response (no `result`/`error`)."""
    import json

    if len(payload) > 65536:  # notifications are small; a big event is the final result
        return False
    try:
        doc = json.loads(payload)
    except ValueError:
        return True
    return not (isinstance(doc, dict) and ("result" in doc or "error" in doc))


class DeferredSse:
    """Turn an SSE response that ends quickly with a single event into a JSON response.

    The SDK's handshake-era transport commits to `text/event-stream` before the handler runs.
    Most calls finish at once with one response event, and a plain JSON body is cheaper
    and sidesteps client SSE limits (the official client refuses events over 1 MiB).
    So the stream is held for up to `window` seconds: if it ends with exactly one event
    in that time, the event's data goes out as `application/json`; as soon as a
    notification (progress, a log message) arrives or the window passes, the held bytes
    and the rest of the stream go out as SSE, where keep-alives keep long calls alive.

    This is the behaviour the SDK's own 2026-07-28 path has; use `wrap(send)` as the
    `send` of one request, then `await finish()` after the ASGI app returns.
    """

    def __init__(self, send: Send, window: float) -> None:
        self._send = send
        self._window = window
        self._start: Message | None = None
        self._held: list[bytes] = []
        self._events = SseDecoder()
        self._held_events: list[bytes] = []
        self._committed = False
        self._deadline: float | None = None

    async def __call__(self, message: Message) -> None:
        import time

        if self._committed:
            await self._send(message)
            return
        kind = message["type"]
        if kind == "http.response.start":
            headers = dict(message.get("headers", []))
            if headers.get(b"content-type", b"").split(b";")[0] != SSE_CONTENT_TYPE:
                self._committed = True
                await self._send(message)
                return
            self._start = message
            self._deadline = time.monotonic() + self._window
            return
        if kind != "http.response.body" or self._start is None:
            await self._send(message)
            return
        body = message.get("body", b"")
        self._held.append(body)
        more = message.get("more_body", False)
        self._held_events += self._events.feed(body)
        events = self._held_events
        if not more and len(events) == 1:
            await self._send_json(events[0])
            return
        past_deadline = self._deadline is not None and time.monotonic() >= self._deadline
        # A notification (progress, log) means the call streams: the client should see
        # it now, not when the window closes.
        if past_deadline or not more or len(events) > 1 or any(map(_is_notification, events)):
            await self._commit()

    async def tick(self) -> None:
        """Commit to SSE if the window has passed; called by the dispatcher's timer."""
        import time

        if (
            not self._committed
            and self._start is not None
            and self._deadline is not None
            and time.monotonic() >= self._deadline
        ):
            await self._commit()

    @property
    def decided(self) -> bool:
        return self._committed

    async def _commit(self) -> None:
        assert self._start is not None
        self._committed = True
        await self._send(self._start)
        held, self._held = b"".join(self._held), []
        await self._send({"type": "http.response.body", "body": held, "more_body": True})

    async def _send_json(self, payload: bytes) -> None:
        assert self._start is not None
        self._committed = True
        status = self._start.get("status", 200)
        headers = [
            (k, v)
            for k, v in self._start.get("headers", [])
            if k.lower()
            not in (
                b"content-type",
                b"content-length",
                b"cache-control",
                b"connection",
                b"x-accel-buffering",
                b"transfer-encoding",
            )
        ]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": payload, "more_body": False})


PARSE_ERROR = -32700
INVALID_REQUEST = -32600


class EnvelopeError(Exception):
    """A POST body that is not one well-formed JSON-RPC 2.0 message."""

    def __init__(self, code: int, message: str, request_id: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def _parse_error_message(body: bytes, exc: ValueError) -> str:
    if b"NaN" in body or b"Infinity" in body:
        import pydantic_core

        try:
            pydantic_core.from_json(body)
        except ValueError:
            pass
        else:
            return (
                "Parse error: NaN, Infinity and -Infinity are not JSON numbers (RFC 8259); "
                "send a finite number, or a string"
            )
    return f"Parse error: body is not valid JSON ({exc})"


def parse_envelope(body: bytes) -> dict[str, object]:
    """Parse and check a JSON-RPC message; raise `EnvelopeError` with the spec's code.

    The SDK reports these as -32602 with a pydantic dump; JSON-RPC 2.0 says -32700 for
    unparsable JSON and -32600 for a valid JSON value that is not a request.
    """
    import pydantic_core

    try:
        # NaN and Infinity are not JSON (RFC 8259): strict peers refuse them, and a tool
        # given one answers with a number JSON cannot carry.
        doc = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise EnvelopeError(PARSE_ERROR, _parse_error_message(body, exc)) from None
    if isinstance(doc, list):
        raise EnvelopeError(
            INVALID_REQUEST,
            "Invalid Request: JSON-RPC batches are not supported by MCP since 2025-06-18; "
            "send one message per POST",
        )
    if not isinstance(doc, dict):
        raise EnvelopeError(INVALID_REQUEST, "Invalid Request: the body must be a JSON object")
    raw_id = doc.get("id")
    request_id = raw_id if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    if doc.get("jsonrpc") != "2.0":
        raise EnvelopeError(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', request_id)
    if "id" in doc and request_id is None:
        raise EnvelopeError(INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
    method = doc.get("method")
    if method is None:
        if "id" in doc and ("result" in doc or "error" in doc):
            return doc  # a response to a server request; the SDK decides what to do with it
        raise EnvelopeError(INVALID_REQUEST, 'Invalid Request: "method" is missing', request_id)
    if not isinstance(method, str) or not method:
        raise EnvelopeError(
            INVALID_REQUEST, 'Invalid Request: "method" must be a non-empty string', request_id
        )
    params = doc.get("params")
    if params is not None and not isinstance(params, (dict, list)):
        raise EnvelopeError(
            INVALID_REQUEST, 'Invalid Request: "params" must be an object', request_id
        )
    return doc
