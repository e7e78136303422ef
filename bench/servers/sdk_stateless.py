"""The official `mcp` SDK's own stateless Streamable HTTP app: the baseline we must beat.

    python bench/servers/sdk_stateless.py --port 8001 [--sse] [--log-level INFO]

Serves `tests.support.bench_app:mcp`, the same `MCPServer` (one `echo` tool) that the
benchmark runs under `agentcore-mcp serve`, so both servers run identical tool code.
`streamable_http_app(stateless_http=True, json_response=True)`; `--sse` answers with SSE
streams (`json_response=False`). The SDK's default DNS-rebinding protection only admits a
loopback Host, which is what the benchmark sends (127.0.0.1).
"""

from __future__ import annotations

import argparse
import importlib
import logging

from _common import add_repo_to_path, run_uvicorn

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--sse", action="store_true", help="json_response=False (SSE streams)")
    parser.add_argument("--log-level", default="WARNING", type=str.upper, choices=LEVELS)
    args = parser.parse_args()

    add_repo_to_path()
    mcp = importlib.import_module("tests.support.bench_app").mcp
    mcp.settings.log_level = args.log_level
    logging.basicConfig(level=args.log_level)
    app = mcp.streamable_http_app(stateless_http=True, json_response=not args.sse, host=args.host)
    run_uvicorn(app, args.host, args.port, log_level=args.log_level.lower())


if __name__ == "__main__":
    main()
