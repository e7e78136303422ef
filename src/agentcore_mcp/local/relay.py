"""Passing an answer's body on to the ASGI client: the one place in local/ that does
(instances through `agentcore_mcp.upstream`, and the embedded AWS via `ending`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.types import Send


async def relay(send: Send, chunks: AsyncIterator[tuple[bytes, bool]]) -> None:
    """Stream an answer's body to the ASGI client as it arrives."""
    async for chunk, more in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": more})


async def ending(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[bytes, bool]]:
    """Chunks from a client that does not say which is last (httpx2), for `relay`."""
    async for chunk in chunks:
        yield chunk, True
    yield b"", False
