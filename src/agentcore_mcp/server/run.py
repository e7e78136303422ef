"""Run a server under uvicorn with the kit's settings: one startup line, clean SIGTERM.

`serve` runs an already-loaded server. `serve_spec` takes a server spec
(`module:attribute`) instead, which lets it listen before the SDK has loaded when a
startup manifest matches the code (`manifest.py`, `starting.py`). This module imports
neither the SDK nor uvicorn until it is called, so that path stays lean.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentcore_mcp.exit_codes import ExitCode
from agentcore_mcp.server.settings import ServerSettings

if TYPE_CHECKING:
    import uvicorn
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp

logger = logging.getLogger("agentcore_mcp.server")


def serve(
    server: MCPServer[Any] | Server[Any],
    settings: ServerSettings | None = None,
    *,
    started: float | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn drains in-flight requests on either."""
    from agentcore_mcp.server.app import build_asgi_app

    started = time.perf_counter() if started is None else started
    settings = settings or ServerSettings.from_env()
    _configure_logging(settings)
    _resolve_secrets()
    _run(_uvicorn_server(build_asgi_app(server, settings), settings, started))


def serve_spec(
    server_spec: str | None,
    settings: ServerSettings | None = None,
    *,
    started: float | None = None,
) -> int:
    """Load the server `server_spec` names (`module:attribute`, None for the samples) and
    serve it; the exit status.

    With `settings.startup_manifest` naming a manifest that matches the code, the
    process listens and answers the handshake from it while the server loads on a
    thread. Otherwise the server is loaded first, as `serve` does. `ServerLoadError` is
    raised when it cannot be loaded before listening; after listening, the process logs
    it and returns `ExitCode.CONFIG_ERROR`.
    """
    settings = settings or ServerSettings.from_env()
    started = time.perf_counter() if started is None else started
    _configure_logging(settings)
    _resolve_secrets()  # before the server loads: its module may read NAME at import
    manifest = None
    if settings.startup_manifest:
        from agentcore_mcp.server.manifest import ManifestUnusable, load_manifest

        try:
            manifest = load_manifest(settings.startup_manifest, server_spec)
        except ManifestUnusable as exc:
            logger.warning("startup manifest not used: %s", exc)
    if manifest is None:
        from agentcore_mcp.server.loader import load_server

        with collector_paused():
            loaded = load_server(server_spec)
        serve(loaded, settings, started=started)
        return 0

    from agentcore_mcp.server.starting import StartingApp

    status = 0

    def load() -> Any:
        from agentcore_mcp.server.loader import load_server

        with collector_paused():
            # The server first: `load_server` imports the SDK in the window where its
            # models are built on first use; app.py imports the SDK at its top.
            loaded = load_server(server_spec)
            from agentcore_mcp.server.app import build_asgi_app

            return build_asgi_app(loaded, settings)

    def on_load_failure(exc: BaseException) -> None:
        nonlocal status
        print(f"error: {exc}", file=sys.stderr, flush=True)
        status = ExitCode.CONFIG_ERROR
        server.should_exit = True  # only called once the server below is running

    starting = StartingApp(
        settings, manifest, load, on_load_failure=on_load_failure, started=started
    )
    server = _uvicorn_server(starting, settings, started)
    _run(server)
    return status


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the server loads, then on, with what the
    load built frozen (`gc.freeze`).

    Loading is mostly `import mcp`, which builds about 550 pydantic models: hundreds of
    thousands of new container objects, over which the collector otherwise runs again
    and again while they are all still alive. Off, the import takes about 11% less CPU
    (measured in-process on the deployer's zip; see docs/server-kit.md). Turned back on
    as it was, the collector's first run would then examine every object the load left
    (about 40 ms of CPU, on the way to the first answer); frozen, they are left out of
    every later run. They are the modules, classes and functions of the SDK and the
    server, alive as long as the process; the price is the few hundred objects of
    cyclic garbage the load left, never freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _configure_logging(settings: ServerSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )


def _resolve_secrets() -> None:
    # NAME_SECRET_ID -> NAME (secrets.py); a SecretResolutionError is a SettingsError, so
    # callers report it in one line and exit 6 before listening.
    from agentcore_mcp.server.secrets import resolve_secret_environment

    resolve_secret_environment()


def _uvicorn_server(asgi_app: ASGIApp, settings: ServerSettings, started: float) -> uvicorn.Server:
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        """uvicorn server that logs one line with the address once it accepts connections."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                s = settings
                elapsed_ms = (time.perf_counter() - started) * 1000
                # stderr, unbuffered: the line a platform log or a test waits for.
                print(
                    f"agentcore-mcp: listening on http://{s.host}:{s.port}{s.path} "
                    f"(also {s.normalized_path}/; stateless; ready in {elapsed_ms:.0f} ms)",
                    file=sys.stderr,
                    flush=True,
                )

    from agentcore_mcp.http_limits import limited_http_protocol

    config = uvicorn.Config(
        asgi_app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="on",
        # MCP is plain HTTP. Without this uvicorn imports a WebSocket library before
        # listening (about 18 ms of a cold start's CPU); an upgrade request is then
        # answered as the HTTP request it also is.
        ws="none",
        timeout_graceful_shutdown=10,
        # AgentCore talks to the container directly; there is no proxy whose
        # X-Forwarded-* headers should rewrite the client address.
        proxy_headers=False,
        server_header=False,
        # AgentCore holds streamed calls for up to 60 min; never cut an idle keep-alive early.
        timeout_keep_alive=75,
        # A bounded request head (431) and a read timeout (408): uvicorn has neither.
        http=limited_http_protocol(
            settings.max_header_bytes,
            settings.read_timeout_seconds,
            head_hint=" (raise MCP_MAX_HEADER_BYTES to accept more)",
            timeout_hint=" (MCP_READ_TIMEOUT_SECONDS)",
        ),
    )
    return AnnouncingServer(config)


def _run(server: uvicorn.Server) -> None:
    # uvicorn drains in-flight requests on SIGTERM, restores the previous handler and
    # re-raises the signal. With this handler in place, that re-raise ends the process
    # with status 0: a requested, completed shutdown is not a failure to the platform.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    server.run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
