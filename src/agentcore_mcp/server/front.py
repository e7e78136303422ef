"""The contract checks every POST passes before any MCP method is looked at.

Paths `/mcp` and `/mcp/`; POST only (GET and DELETE answer 405, since a stateless server
has no standalone stream and no session to delete); any Host; an Origin guard; JSON
content type; a body limit enforced while reading; a well-formed JSON-RPC envelope.

This module imports nothing from the `mcp` SDK, on purpose: the starting server
(`starting.py`) runs these checks while the SDK is still being imported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    declared_too_large,
    is_json_content_type,
    is_loopback_origin,
    read_body,
    replay_body,
    send_json,
)
from agentcore_mcp.server.json_scan import JsonLimitError, scan_json
from agentcore_mcp.server.settings import LARGE_BODY_BYTES, ServerSettings
from agentcore_mcp.server.wire import (
    INVALID_REQUEST,
    EnvelopeError,
    escape_separators,
    parse_envelope,
)

if TYPE_CHECKING:
    import anyio

# Copies of `mcp_types` constants (a test checks they are equal), so that this module
# does not import the SDK. The handshake era: a client negotiates its version with
# `initialize`, then names it in the MCP-Protocol-Version header.
HANDSHAKE_PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
# The 2026-07-28 era: requests carry their own envelope and get HTTP error statuses.
MODERN_PROTOCOL_VERSIONS = ("2026-07-28",)
# The version a request without an MCP-Protocol-Version header is read as.
DEFAULT_NEGOTIATED_VERSION = "2025-03-26"
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"

# The `io.modelcontextprotocol/` keys a 2026-07-28 request's `_meta` may carry.
MODERN_META_KEYS = frozenset(
    {PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY}
)

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
# With LOG_LEVEL=debug, answers given without the SDK's transport carry this header, so
# a developer (and the tests) can tell which path ran. Off otherwise: every header costs
# the HTTP server time on each response.
DISPATCH_MARK = b"x-agentcore-mcp-dispatch"

_BLANKS = (b" ", b"\t")

NOT_ACCEPTABLE = (
    "Not Acceptable: the Accept header must include application/json "
    "(MCP clients send 'Accept: application/json, text/event-stream')"
)


def is_modern_version(version: str | None) -> bool:
    """Whether `version` is one of the 2026-07-28 era's (None, no header: it is not)."""
    return version in MODERN_PROTOCOL_VERSIONS


@functools.lru_cache(maxsize=64)
def _accepts(accept: bytes) -> tuple[bool, bool]:
    """(JSON, SSE) acceptable, as the SDK's `check_accept_headers` reads `Accept`.

    Cached: a client sends the same Accept on every request.
    """
    types = {t.split(b";")[0].strip().lower() for t in accept.split(b",")}
    wildcard = b"*/*" in types
    return (
        wildcard or b"application/json" in types or b"application/*" in types,
        wildcard or b"text/event-stream" in types or b"text/*" in types,
    )


@dataclass(slots=True)
class InboundRequest:
    """A POST the front has accepted: body read within limits, envelope checked."""

    scope: Scope
    body: bytes
    message: dict[str, Any]
    accepts_sse: bool
    protocol_version: str | None
    # The connection's own `receive`, the body already read from it: what follows is
    # `http.disconnect`, when the caller goes away (or once the answer is complete).
    receive: Receive

    def replay_receive(self) -> Receive:
        """An ASGI `receive` that yields the already-read body, then the connection's own
        messages: the SDK watches them to cancel a call whose caller has gone."""
        return replay_body(self.body, self.receive)

    @property
    def method(self) -> str | None:
        method = self.message.get("method")
        return method if isinstance(method, str) else None


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Loopback origins (`asgi.is_loopback_origin`, the rule of every door of the package)
    and configured ones pass; `*` in the list allows every origin."""
    return "*" in allowed or origin.rstrip("/") in allowed or is_loopback_origin(origin)


async def send_json_error(
    send: Send,
    status: int,
    message: str,
    *,
    code: int = -32600,
    request_id: object = None,
    headers: dict[str, str] | None = None,
) -> None:
    """A JSON-RPC error body with an HTTP status, for requests refused before dispatch."""
    doc = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    await send_json(send, status, doc, headers)


def modern_headers_ok(request: InboundRequest, method: str, name: str | None) -> bool:
    """The 2026-07-28 routing headers, in their simple well-formed case.

    `Mcp-Method` equals `method`; `Mcp-Name` equals `name` (a `tools/call` tool name;
    an absent header reads as "") or, when `name` is None, is absent; no `Mcp-Param-*`
    (x-mcp-header parameters, which the SDK validates against the tool's schema). The
    last of a repeated header counts.
    """
    method_header = name_header = None
    # Raw bytes, not Starlette's `Headers`: the fast path's per-call cost is measured in
    # instructions (bench/README.md, callgrind: "the 2026-07-28 header checks in one pass").
    for k, v in request.scope["headers"]:
        if k == b"mcp-method":
            method_header = v
        elif k == b"mcp-name":
            name_header = v
        elif k[:10] == b"mcp-param-":
            return False
    if method_header is None or method_header.decode("latin-1") != method:
        return False
    if name is None:
        return name_header is None
    return (name_header.decode("latin-1") if name_header is not None else "") == name


def _padded(value: bytes | None) -> bool:
    return value is not None and (value[-1:] in _BLANKS or value[:1] in _BLANKS)


class RequestGate:
    """Accepts a POST (returns it read and parsed) or answers it with the contract's error."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        path = settings.normalized_path
        self.paths = frozenset({path, path + "/"}) if path != "/" else frozenset({"/"})
        self._limit = settings.max_body_bytes
        # A Content-Length with fewer digits than the limit cannot exceed it.
        self._limit_digits = len(str(settings.max_body_bytes))
        self._large_parses: anyio.CapacityLimiter | None = None
        self._too_large = (
            f"Payload Too Large: request body exceeds {settings.max_body_bytes} bytes "
            "(raise MCP_MAX_BODY_BYTES to accept more)"
        )

    async def accept(self, scope: Scope, receive: Receive, send: Send) -> InboundRequest | None:
        if scope["path"] not in self.paths:
            await send_json_error(send, 404, f"Not Found: MCP is served at {self.settings.path}")
            return None
        # A dict of the raw bytes, not Starlette's `Headers` (one scan per lookup): every
        # request of the measured fast path comes through here (bench/README.md, callgrind).
        headers = dict(scope["headers"])  # ASGI servers give lowercase names
        # RFC 9110 §5.5: a field value excludes leading and trailing whitespace. uvicorn's
        # httptools parser keeps trailing spaces, which the SDK's Mcp-Method / Mcp-Name
        # checks would then reject as a header mismatch.
        if (b"mcp-method" in headers or b"mcp-name" in headers) and (
            _padded(headers.get(b"mcp-method")) or _padded(headers.get(b"mcp-name"))
        ):
            scope = {**scope, "headers": [(k, v.strip(b" \t")) for k, v in scope["headers"]]}
            headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(
            origin.decode("latin-1"), self.settings.allowed_origins
        ):
            await send_json_error(
                send, 403, "Forbidden: Origin not allowed (set MCP_ALLOWED_ORIGINS to allow it)"
            )
            return None
        if scope["method"] != "POST":
            await send_json_error(
                send,
                405,
                "Method Not Allowed: this stateless server answers POST only",
                headers={"allow": "POST"},
            )
            return None
        # The SDK's rule (check_accept_headers), before it reads the body: a client that
        # cannot take JSON gets 406 for every method, whichever path would answer it.
        accepts_json, accepts_sse = _accepts(headers.get(b"accept", b""))
        if not accepts_json:
            await send_json_error(send, 406, NOT_ACCEPTABLE)
            return None
        content_type = headers.get(b"content-type", b"")
        if content_type != b"application/json" and not is_json_content_type(
            content_type.decode("latin-1")
        ):
            # The SDK answers a bare-text 400 here; 415 is the HTTP status for this and
            # what the other SDKs send, with a body that says what to change.
            await send_json_error(
                send, 415, "Unsupported Media Type: Content-Type must be application/json"
            )
            return None
        length = headers.get(b"content-length")
        if (
            length is not None
            and len(length) >= self._limit_digits
            and declared_too_large(length, self._limit)
        ):
            await send_json_error(send, 413, self._too_large)
            return None
        try:
            body = await read_body(receive, self._limit)
        except BodyTooLarge:
            await send_json_error(send, 413, self._too_large)
            return None
        except ClientDisconnected:
            return None
        try:
            if len(body) > LARGE_BODY_BYTES:
                message = await self._parse_large(body)
            else:
                message = parse_envelope(body)
        except EnvelopeError as exc:
            await send_json_error(send, 400, exc.message, code=exc.code, request_id=exc.request_id)
            return None
        version = headers.get(b"mcp-protocol-version")
        return InboundRequest(
            scope=scope,
            body=body,
            message=message,
            accepts_sse=accepts_sse,
            protocol_version=version.decode("latin-1") if version is not None else None,
            receive=receive,
        )

    async def _parse_large(self, body: bytes) -> dict[str, Any]:
        """Scan, then parse, on a worker thread: parsing 50 MB on the event loop held
        every other caller for seconds. At most `large_body_parses` run at once."""
        import anyio.to_thread

        if self._large_parses is None:
            self._large_parses = anyio.CapacityLimiter(self.settings.large_body_parses)
        return await anyio.to_thread.run_sync(
            self._scan_and_parse, body, limiter=self._large_parses
        )

    def _scan_and_parse(self, body: bytes) -> dict[str, Any]:
        try:
            scan_json(body, self.settings.max_json_values, self.settings.max_json_depth)
        except JsonLimitError as exc:
            raise EnvelopeError(INVALID_REQUEST, exc.message) from None
        return parse_envelope(body)


class AnswerEncoder:
    """Writes a JSON-RPC answer the way the SDK's transport would frame it.

    JSON, except in the handshake era when `MCP_RESPONSE_MODE=sse` and the client accepts
    SSE: then one `message` event. The SDK's 2026-07-28 path answers JSON unless the
    handler streams, and nothing answered through here streams.
    """

    def __init__(self, settings: ServerSettings, mark: bytes) -> None:
        self._sse_mode = settings.response_mode == "sse"
        extra = [(DISPATCH_MARK, mark)] if settings.log_level == "debug" else []
        self._json_headers = JSON_HEADERS + extra
        self._sse_headers = SSE_HEADERS + extra

    async def send(
        self, request: InboundRequest, send: Send, status: int, body: object | None
    ) -> None:
        if body is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*self._json_headers, (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        # pydantic's encoder, as the SDK's own responses use (and 5x the stdlib's speed).
        import pydantic_core

        try:
            # bytes: a message the dispatcher encoded itself (a cached result inside).
            raw = body if isinstance(body, bytes) else pydantic_core.to_json(body)
            payload = escape_separators(raw)
        except pydantic_core.PydanticSerializationError as exc:
            # A tool returned text JSON cannot carry (a lone surrogate): the call has run,
            # so the SDK cannot be asked instead. Its transport answers 500 and -32603.
            request_id = body.get("id") if isinstance(body, dict) else None
            await send_json_error(
                send,
                500,
                f"Internal error: the answer cannot be encoded as JSON ({exc})",
                code=-32603,
                request_id=request_id,
            )
            return
        if (
            self._sse_mode
            and status == 200
            and request.accepts_sse
            and not is_modern_version(request.protocol_version)
        ):
            payload = b"event: message\r\ndata: " + payload + b"\r\n\r\n"
            headers = self._sse_headers
        else:
            headers = self._json_headers
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
