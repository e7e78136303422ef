"""Shared bits of the baseline servers: the command line, uvicorn settings, canned replies.

Every baseline runs under uvicorn with `loop="uvloop"`, `http="httptools"`, one worker and
log level warning, exactly like `agentcore-mcp serve` (whose `auto` loop and parser pick
the same two libraries when they are installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# The bodies the SDK (and `agentcore-mcp serve`) return for the benchmark requests with
# `id: 1`, byte for byte: the raw ASGI and Starlette floors send these without parsing.
ECHO_2025 = (
    b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"hello","type":"text"}],'
    b'"isError":false,"structuredContent":{"result":"hello"}}}'
)
ECHO_2026 = (
    b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"hello","type":"text"}],'
    b'"isError":false,"resultType":"complete","structuredContent":{"result":"hello"},'
    b'"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"agentcore-mcp-bench","version":""}}}}'
)
TOOLS_LIST = (
    b'{"jsonrpc":"2.0","id":1,"result":{"tools":[{"description":"Return the text unchanged.",'
    b'"inputSchema":{"properties":{"text":{"title":"Text","type":"string"}},"required":["text"],'
    b'"type":"object","title":"echoArguments"},"name":"echo","outputSchema":{"properties":'
    b'{"result":{"title":"Result","type":"string"}},"required":["result"],"type":"object",'
    b'"title":"echoOutput"}}]}}'
)
REPLIES: dict[str, bytes] = {"echo": ECHO_2025, "echo-2026": ECHO_2026, "list": TOOLS_LIST}


def sse_frame(body: bytes) -> bytes:
    """One SSE `message` event carrying `body`, as the SDK frames a response."""
    return b"event: message\r\ndata: " + body + b"\r\n\r\n"


def floor_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--reply",
        choices=sorted(REPLIES),
        default="echo",
        help="which canned JSON-RPC reply to send (default: the tools/call echo reply)",
    )
    parser.add_argument("--sse", action="store_true", help="frame the reply as one SSE event")
    return parser


def run_uvicorn(app: Any, host: str, port: int, log_level: str = "warning") -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level=log_level,
        access_log=False,
        lifespan="auto",
    )


def add_repo_to_path() -> None:
    """Let a script started as `python bench/servers/X.py` import `tests.support...`."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
