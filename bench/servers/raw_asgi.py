"""The floor: a raw ASGI app that parses nothing and sends a canned JSON-RPC reply.

    python bench/servers/raw_asgi.py --port 8001 [--reply echo|echo-2026|list] [--sse]

It drains the request body (a real server must read it) and answers every request with
the bytes the SDK would send for the benchmark request, so its req/s is what uvicorn +
uvloop + httptools can do on this machine with no MCP work at all.
"""

from __future__ import annotations

from typing import Any

from _common import REPLIES, floor_parser, run_uvicorn, sse_frame

Message = dict[str, Any]


def build_asgi_app(body: bytes, sse: bool) -> Any:
    if sse:
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream"),
                (b"cache-control", b"no-cache, no-transform"),
            ],
        }
        frame = sse_frame(body)
        chunks: list[Message] = [
            {"type": "http.response.body", "body": frame, "more_body": True},
            {"type": "http.response.body", "body": b"", "more_body": False},
        ]
    else:
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        chunks = [{"type": "http.response.body", "body": body}]

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send(start)
        for chunk in chunks:
            await send(chunk)

    return app


def main() -> None:
    args = floor_parser(__doc__.splitlines()[0] if __doc__ else "").parse_args()
    run_uvicorn(build_asgi_app(REPLIES[args.reply], args.sse), args.host, args.port)


if __name__ == "__main__":
    main()
