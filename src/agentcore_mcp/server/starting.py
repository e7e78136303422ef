"""A server that listens before the SDK has loaded, answering the handshake from a manifest.

`StartingApp` is the ASGI app uvicorn runs when a startup manifest (`manifest.py`)
matches the code. At lifespan startup it loads the real server (`McpFront`) on a
thread and reports itself ready at once. Until the real server is up:

- every request passes the same contract checks (`front.RequestGate`);
- `initialize`, `ping`, `tools/list` and handshake-era notifications in their plain, common
  shapes are answered from the manifest, framed as the fast path frames them;
- everything else waits for the real server, then goes to its dispatcher.

Once the real server runs, requests go straight to it, and every answer given from the
manifest is replayed through it and compared byte for byte; a difference is logged as
an error. If the server fails to load, waiting requests get a 503 and the process
exits with the configuration-error status.

Nothing here imports the `mcp` SDK: that import is what the loading thread is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from agentcore_mcp.server.front import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    DEFAULT_NEGOTIATED_VERSION,
    HANDSHAKE_PROTOCOL_VERSIONS,
    MODERN_META_KEYS,
    PROTOCOL_VERSION_META_KEY,
    AnswerEncoder,
    InboundRequest,
    RequestGate,
    is_modern_version,
    modern_headers_ok,
    send_json_error,
)
from agentcore_mcp.server.manifest import StartupManifest, call_in_process
from agentcore_mcp.server.settings import ServerSettings

logger = logging.getLogger("agentcore_mcp.server")

# Answers kept for the replay check; a starting server sees a handful, so more than
# this means a flood, and the first ones are as good a sample as any.
MAX_REPLAYED = 256

_INFO_KEYS = frozenset({"name", "version", "title"})
_INIT_KEYS = frozenset({"protocolVersion", "capabilities", "clientInfo"})


class LoadedServer(Protocol):
    """What `StartingApp` needs of the real server: an `McpFront`."""

    @property
    def dispatcher(self) -> Any: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


@dataclass(slots=True)
class EarlyAnswer:
    """One answer given from the manifest, kept to be replayed through the real server."""

    scope: Scope
    body: bytes
    status: int
    content_type: bytes
    payload: bytes


@dataclass(slots=True)
class ReplayReport:
    """What the replay of the early answers found once the server had loaded."""

    checked: int = 0
    mismatches: list[str] = field(default_factory=list)


def _client_info_ok(info: object, *, required: bool) -> bool:
    if info is None:
        return not required
    return (
        isinstance(info, dict)
        and isinstance(info.get("name"), str)
        and isinstance(info.get("version"), str)
        and _INFO_KEYS.issuperset(info)
        and all(isinstance(value, str) for value in info.values())
    )


def _capabilities_ok(capabilities: object) -> bool:
    return isinstance(capabilities, dict) and all(
        isinstance(value, dict) for value in capabilities.values()
    )


def _initialize_ok(params: dict[str, Any]) -> bool:
    """The shape every mainstream client sends; anything unusual waits for the SDK."""
    return (
        _INIT_KEYS.issuperset(params)
        and params.get("protocolVersion") in HANDSHAKE_PROTOCOL_VERSIONS
        and _capabilities_ok(params.get("capabilities"))
        and _client_info_ok(params.get("clientInfo"), required=True)
    )


def _modern_envelope_ok(request: InboundRequest, method: str, params: dict[str, Any]) -> bool:
    """2026-07-28 routing headers and a plain `_meta` envelope (as the fast path asks)."""
    if set(params) != {"_meta"}:
        return False
    if not modern_headers_ok(request, method, None):
        return False
    meta = params["_meta"]
    return (
        isinstance(meta, dict)
        and MODERN_META_KEYS.issuperset(meta)
        and meta.get(PROTOCOL_VERSION_META_KEY) == request.protocol_version
        and _capabilities_ok(meta.get(CLIENT_CAPABILITIES_META_KEY))
        and _client_info_ok(meta.get(CLIENT_INFO_META_KEY), required=False)
    )


def early_answer(
    manifest: StartupManifest, request: InboundRequest
) -> tuple[int, dict[str, Any] | None] | None:
    """The answer the manifest gives to this request, or None if it must wait."""
    message = request.message
    method = message.get("method")
    if not isinstance(method, str):
        return None
    version = request.protocol_version or DEFAULT_NEGOTIATED_VERSION
    modern = is_modern_version(version)
    if not modern and version not in HANDSHAKE_PROTOCOL_VERSIONS:
        return None
    params = message.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        return None
    if "id" not in message:
        # The stateless handshake-era transport acknowledges notifications and drops them.
        if not modern and method.startswith("notifications/"):
            return 202, None
        return None
    if modern:
        if not _modern_envelope_ok(request, method, params):
            return None
    elif method == "initialize":
        if request.protocol_version is not None or not _initialize_ok(params):
            return None
        version = params["protocolVersion"]
    elif params:
        return None  # `_meta` or a cursor: the SDK's checks and paging decide
    result = manifest.result(method, version)
    if result is None:
        return None
    return 200, {"jsonrpc": "2.0", "id": message["id"], "result": result}


class ServerLoadFailed(Exception):
    """The real server could not be loaded; the process is going down."""


class StartingApp:
    """The ASGI app of a server that starts listening before its SDK is loaded."""

    def __init__(
        self,
        settings: ServerSettings,
        manifest: StartupManifest,
        load: Callable[[], LoadedServer],
        *,
        on_load_failure: Callable[[BaseException], None] | None = None,
        started: float | None = None,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.gate = RequestGate(settings)
        self.encoder = AnswerEncoder(settings, b"manifest")
        self.replay = ReplayReport()
        self._load = load
        self._on_load_failure = on_load_failure
        self._started = time.perf_counter() if started is None else started
        self._server: LoadedServer | None = None
        self._ready: asyncio.Future[LoadedServer] | None = None
        self._early: list[EarlyAnswer] = []
        self._early_count = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def loaded(self) -> bool:
        return self._server is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = self._server
        if server is not None:
            await server(scope, receive, send)
        elif scope["type"] == "http":
            await self._serve_while_loading(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _serve_while_loading(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await self.gate.accept(scope, receive, send)
        if request is None:
            return
        if self._server is None:
            answer = early_answer(self.manifest, request)
            if answer is not None:
                await self._answer_early(request, send, *answer)
                return
        assert self._ready is not None, "requests arrive after lifespan startup"
        try:
            server = await asyncio.shield(self._ready)
        except ServerLoadFailed as exc:
            await send_json_error(send, 503, f"Service Unavailable: {exc}", code=-32603)
            return
        await server.dispatcher.dispatch(request, send)

    async def _answer_early(
        self, request: InboundRequest, send: Send, status: int, body: dict[str, Any] | None
    ) -> None:
        captured: dict[str, Any] = {}

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                captured["content_type"] = dict(message["headers"]).get(b"content-type", b"")
            else:
                captured["payload"] = message.get("body", b"")
            await send(message)

        await self.encoder.send(request, capture, status, body)
        self._early_count += 1
        if len(self._early) < MAX_REPLAYED:
            self._early.append(
                EarlyAnswer(
                    scope=request.scope,
                    body=request.body,
                    status=status,
                    content_type=captured.get("content_type", b""),
                    payload=captured.get("payload", b""),
                )
            )

    # --- loading -------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        # Nobody may be waiting when loading fails; the failure is reported elsewhere.
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        loaded: asyncio.Future[LoadedServer] = loop.create_future()
        stopping = asyncio.Event()
        thread = threading.Thread(
            target=self._load_on_thread, args=(loop, loaded), name="agentcore-mcp-load", daemon=True
        )
        thread.start()
        runner = asyncio.create_task(self._run_server(loaded, stopping))
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        stopping.set()
        if not loaded.done():
            # Asked to stop while still loading: do not wait for the import (the loading
            # thread is a daemon and ends with the process). Requests held for the server
            # get a 503.
            runner.cancel()
            assert self._ready is not None
            if not self._ready.done():
                self._ready.set_exception(ServerLoadFailed("the server is shutting down"))
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        finally:
            await send({"type": "lifespan.shutdown.complete"})

    def _load_on_thread(
        self, loop: asyncio.AbstractEventLoop, loaded: asyncio.Future[LoadedServer]
    ) -> None:
        def settle(server: LoadedServer | None, failure: BaseException | None) -> None:
            if loaded.done():
                return
            if failure is not None:
                loaded.set_exception(failure)
            else:
                assert server is not None
                loaded.set_result(server)

        try:
            server = self._load()
        except BaseException as exc:  # reported to the loop, which decides what to do
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, server, None)

    async def _run_server(
        self, loaded: asyncio.Future[LoadedServer], stopping: asyncio.Event
    ) -> None:
        assert self._ready is not None
        try:
            server = await loaded
        except asyncio.CancelledError:
            # A stop while loading: the shutdown path has answered the held requests.
            raise
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(ServerLoadFailed(f"the MCP server failed to load: {exc}"))
            if self._on_load_failure is not None:
                self._on_load_failure(exc)
            return
        async with server.dispatcher.lifespan():
            self._server = server
            self._ready.set_result(server)
            elapsed_ms = (time.perf_counter() - self._started) * 1000
            logger.info(
                "server loaded %.0f ms after start; %d request(s) answered from the startup "
                "manifest meanwhile",
                elapsed_ms,
                self._early_count,
            )
            task = asyncio.create_task(self._replay_early_answers(server))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await stopping.wait()

    async def _replay_early_answers(self, server: LoadedServer) -> None:
        """Ask the real server every question the manifest answered; compare the bytes."""
        early, self._early = self._early, []
        for answer in early:
            status, headers, payload = await call_in_process(
                server, answer.body, _without_length(answer.scope["headers"]), answer.scope["path"]
            )
            content_type = dict(headers).get(b"content-type", b"")
            self.replay.checked += 1
            if (status, content_type, payload) != (
                answer.status,
                answer.content_type,
                answer.payload,
            ):
                problem = (
                    f"startup manifest answered {answer.body[:200]!r} with {answer.status} "
                    f"{answer.payload[:300]!r}; the server answers {status} {payload[:300]!r}"
                )
                self.replay.mismatches.append(problem)
                logger.error(
                    "%s. The manifest does not match this server (does its tool list depend "
                    "on the environment?): write it again with `agentcore-mcp manifest`, or "
                    "unset MCP_STARTUP_MANIFEST.",
                    problem,
                )
        if early and not self.replay.mismatches:
            logger.info(
                "startup manifest: %d early answer(s) replayed, all equal", self.replay.checked
            )


def _without_length(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # `call_in_process` sets host, content type and length itself.
    skip = {b"host", b"content-type", b"content-length"}
    return [(k, v) for k, v in headers if k not in skip]
