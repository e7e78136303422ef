"""A Starlette route that sends the same canned JSON-RPC reply as the raw ASGI floor.

    python bench/servers/starlette_app.py --port 8001 [--reply echo|echo-2026|list] [--sse]

The cost of a routing framework with a Request object and a body read, still no MCP work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from _common import REPLIES, floor_parser, run_uvicorn, sse_frame
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


def build_asgi_app(body: bytes, sse: bool) -> Starlette:
    frame = sse_frame(body)

    async def one_event() -> AsyncIterator[bytes]:
        yield frame

    async def mcp(request: Request) -> Response:
        await request.body()
        if sse:
            return StreamingResponse(
                one_event(),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache, no-transform"},
            )
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])


def main() -> None:
    args = floor_parser(__doc__.splitlines()[0] if __doc__ else "").parse_args()
    run_uvicorn(build_asgi_app(REPLIES[args.reply], args.sse), args.host, args.port)


if __name__ == "__main__":
    main()
