"""`agentcore-mcp proxy`: the deployed runtime as a local MCP server (stdio or loopback HTTP)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer

from agentcore_mcp.cli import target as tgt
from agentcore_mcp.cli.errors import CommandError
from agentcore_mcp.exit_codes import ExitCode

CALLER_TOKEN_ENV = "AGENTCORE_PROXY_TOKEN"
MIN_CALLER_TOKEN_CHARS = 16

EPILOG = (
    "**Examples:**\n\n"
    "- `agentcore-mcp proxy --stdio` (for clients that launch a server: Claude Desktop, "
    "Cursor, ...)\n"
    "- `agentcore-mcp proxy --port 8765 --oauth` then point the client at "
    "http://127.0.0.1:8765/mcp\n"
    "- `npx @modelcontextprotocol/inspector agentcore-mcp proxy --stdio`\n\n"
    "Logs go to stderr only. The runtime comes from the deployer's state, the SSM parameter, "
    "or --arn / --url; the auth method from the state, or --oauth / --sigv4.\n\n"
    "With --port, only loopback callers without a browser Origin (or on a loopback page) "
    "that POST application/json get through. On a machine shared with other users, set "
    f"{CALLER_TOKEN_ENV} (16+ random characters) and every caller must send "
    "`Authorization: Bearer <it>` (Inspector: its custom header / bearer token field)."
)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """uvloop when installed (it comes with uvicorn[standard]): the proxy's whole cost is
    event-loop work, and uvloop roughly halves it."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def proxy(
    stdio: bool = typer.Option(False, "--stdio", help="Serve MCP on stdin/stdout (the default)."),
    port: int | None = typer.Option(
        None, "--port", help="Serve Streamable HTTP on 127.0.0.1:PORT/mcp instead."
    ),
    name: str | None = tgt.NAME,
    url: str | None = typer.Option(None, "--url", help="Runtime invocation URL."),
    arn: str | None = tgt.ARN,
    runtime_id: str | None = tgt.RUNTIME_ID,
    account: str | None = tgt.ACCOUNT,
    region: str | None = tgt.REGION,
    qualifier: str = tgt.QUALIFIER,
    state: Path | None = tgt.STATE,
    ssm_parameter: str | None = tgt.SSM,
    oauth: bool = tgt.OAUTH,
    sigv4: bool = tgt.SIGV4,
    client_id: str | None = tgt.CLIENT_ID,
    user_secret_id: str | None = tgt.USER_SECRET,
    profile: str | None = tgt.PROFILE,
    debug: bool = typer.Option(
        False, "--debug", help="Log each exchange with the runtime on stderr (secrets redacted)."
    ),
) -> None:
    """Forward MCP to the deployed runtime, signed (SigV4) or with a fresh Cognito token."""
    from agentcore_mcp.deploy.lookup import bearer_from_env, find_runtime, runtime_session
    from agentcore_mcp.proxy import run_proxy

    if stdio and port is not None:
        raise typer.BadParameter("pass --stdio or --port, not both")
    # stdout belongs to the protocol in stdio mode: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="agentcore-mcp proxy: %(levelname)s %(message)s",
    )
    # --debug is the proxy's own exchange log, credentials redacted. Never the libraries'
    # debug loggers: botocore's prints the Cognito password and tokens, and every SigV4
    # Authorization header, and MCP clients keep this stderr in log files.
    logging.getLogger("agentcore_mcp").setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("httpx2", "httpcore", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    query = tgt.runtime_query(locals())
    # From the environment only: argv is readable by every user of the machine.
    caller_token = os.environ.get(CALLER_TOKEN_ENV, "").strip() or None
    if caller_token is not None and port is None:
        caller_token = None  # stdio has no callers but its parent
    if caller_token is not None and len(caller_token) < MIN_CALLER_TOKEN_CHARS:
        raise CommandError(
            f"{CALLER_TOKEN_ENV} is shorter than {MIN_CALLER_TOKEN_CHARS} "
            "characters; set it to a random value, e.g. `openssl rand -hex 16`"
        )
    try:
        target = find_runtime(query)
        session = runtime_session(target, profile)
        where = "stdio" if port is None else f"http://127.0.0.1:{port}/mcp"
        if caller_token is not None:
            where += f" (callers must send the {CALLER_TOKEN_ENV} value as a bearer token)"
        logging.getLogger("agentcore_mcp.proxy").info(
            "forwarding %s to %s (%s)", where, target.arn or target.url, target.auth
        )
        _run(
            run_proxy(
                target,
                port=port,
                session=session,
                bearer_token=bearer_from_env(),
                caller_token=caller_token,
            )
        )
    except OSError as exc:
        raise CommandError(f"cannot listen: {exc}", ExitCode.CONNECTION_ERROR) from None
    except KeyboardInterrupt:
        pass
