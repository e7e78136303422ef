"""Run a server under uvicorn with the kit's settings: one startup line, clean SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

import uvicorn
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer

from agentcore_mcp.server.app import build_app
from agentcore_mcp.server.settings import ServerSettings

logger = logging.getLogger("agentcore_mcp.server")


class _AnnouncingServer(uvicorn.Server):
    """uvicorn server that logs one line with the address once it accepts connections."""

    def __init__(self, config: uvicorn.Config, settings: ServerSettings, started: float) -> None:
        super().__init__(config)
        self._settings = settings
        self._started = started

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            s = self._settings
            elapsed_ms = (time.perf_counter() - self._started) * 1000
            # stderr, unbuffered: the line a platform log or a test waits for.
            print(
                f"agentcore-mcp: listening on http://{s.host}:{s.port}{s.path} "
                f"(also {s.normalized_path}/; stateless; ready in {elapsed_ms:.0f} ms)",
                file=sys.stderr,
                flush=True,
            )


def serve(
    server: MCPServer[Any] | Server[Any],
    settings: ServerSettings | None = None,
    *,
    started: float | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn drains in-flight requests on either."""
    settings = settings or ServerSettings.from_env()
    started = time.perf_counter() if started is None else started
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    config = uvicorn.Config(
        build_app(server, settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="on",
        timeout_graceful_shutdown=10,
        # AgentCore talks to the container directly; there is no proxy whose
        # X-Forwarded-* headers should rewrite the client address.
        proxy_headers=False,
        server_header=False,
        # AgentCore holds streamed calls for up to 60 min; never cut an idle keep-alive early.
        timeout_keep_alive=75,
    )
    # uvicorn drains in-flight requests on SIGTERM, restores the previous handler and
    # re-raises the signal. With this handler in place, that re-raise ends the process
    # with status 0: a requested, completed shutdown is not a failure to the platform.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    _AnnouncingServer(config, settings, started).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
