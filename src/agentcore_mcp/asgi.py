"""Small ASGI pieces shared by the server kit and the local AgentCore."""

from __future__ import annotations

from starlette.types import Receive


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class ClientDisconnected(Exception):
    """The client went away before it finished sending the body."""


def declared_too_large(content_length: bytes | str | None, limit: int | None) -> bool:
    """Whether a Content-Length header already says the body is over `limit`."""
    if content_length is None or limit is None:
        return False
    text = content_length.decode("latin-1") if isinstance(content_length, bytes) else content_length
    return text.isdigit() and int(text) > limit


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """Read the whole body, failing as soon as it passes `limit` rather than after."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("client disconnected while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
