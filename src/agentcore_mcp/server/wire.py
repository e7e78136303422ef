"""Bytes on the wire: JSON line-separator escaping for every outgoing body.

Some clients split text on U+0085, U+2028 or U+2029 (Python's `str.splitlines`, some
JS line readers), which breaks an SSE or NDJSON frame in the middle of a JSON string
and hangs or misparses the call. The seed's `\\x85` bug is this. JSON allows those
characters raw inside strings, and they can only appear inside strings, so replacing
their UTF-8 bytes with `\\u` escapes is lossless after decoding.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ESCAPES: tuple[tuple[bytes, bytes], ...] = (
    ("\u0085".encode(), b"\\u0085"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)
# Every separator's UTF-8 form starts with one of these lead bytes.
_LEADS = (0xC2, 0xE2)


def escape_separators(body: bytes) -> bytes:
    """Replace raw U+0085, U+2028 and U+2029 in UTF-8 JSON with `\\u` escapes."""
    if b"\xc2\x85" not in body and b"\xe2\x80" not in body:
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


class SeparatorEscapingMiddleware:
    """ASGI middleware applying `escape_separators` to response bodies, streamed or not.

    Content-Length is recomputed when the whole body arrives in one message (JSON
    responses) and dropped otherwise, since escaping grows the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending_start: Message | None = None
        carry = b""

        async def wrapped(message: Message) -> None:
            nonlocal pending_start, carry
            kind = message["type"]
            if kind == "http.response.start":
                pending_start = message
                return
            if kind != "http.response.body":
                await send(message)
                return
            body = carry + message.get("body", b"")
            more = message.get("more_body", False)
            carry = b""
            if more:
                body, carry = _split_incomplete_tail(body)
            body = escape_separators(body)
            if pending_start is not None:
                start, pending_start = pending_start, None
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                if not more:
                    headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": more})

        await self.app(scope, receive, wrapped)
        if pending_start is not None:  # a response with no body message at all
            await send(pending_start)
