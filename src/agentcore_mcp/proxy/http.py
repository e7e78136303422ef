"""`proxy --port N`: unauthenticated Streamable HTTP on 127.0.0.1 for MCP clients that
cannot sign SigV4 or fetch Cognito tokens (MCP Inspector, Cursor, ...).

It binds loopback only and refuses a non-loopback `Host` or `Origin` (DNS rebinding: a web
page must not reach AWS with the user's credentials through it). Each POST goes through
the forwarder and the answer streams back chunk by chunk. A refusal from the runtime
becomes HTTP 200 with a JSON-RPC error whose message says what to fix: passing a 401 on
would make an OAuth-capable client start an authorization flow against this proxy,
which has none.

Sessions: `initialize` without `Mcp-Session-Id` opens a proxy session; its id stays the
client's even when the proxy moves it to a new runtime session after the old one ended.
Requests without a session id (the 2026-07-28 era) share one default session, so they
keep affinity too.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import OrderedDict
from typing import Any

from starlette.types import Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    is_loopback_host,
    is_loopback_origin,
    read_body,
    send_body,
    split_host,
    unless_client_leaves,
)
from agentcore_mcp.proxy.forwarder import (
    Answer,
    Forwarder,
    ForwardError,
    ProxySession,
    error_message,
)

logger = logging.getLogger("agentcore_mcp.proxy")

MAX_BODY = 100 * 1024 * 1024
MAX_SESSIONS = 1024
_PASSED_BACK = ("content-type", "mcp-protocol-version", "cache-control")


class ProxyApp:
    """The ASGI app behind `proxy --port`."""

    def __init__(self, forwarder: Forwarder, path: str = "/mcp") -> None:
        self.forwarder = forwarder
        self.path = path
        self.paths = {path.rstrip("/") or "/", path.rstrip("/") + "/", "/"}
        self.default = ProxySession.new()
        self.sessions: OrderedDict[str, ProxySession] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host and not is_loopback_host(split_host(host)):
            await _refuse(send, 403, "Forbidden: this proxy answers only on a loopback Host")
            return
        origin = headers.get("origin")
        if origin is not None and origin != "null" and not is_loopback_origin(origin):
            await _refuse(send, 403, "Forbidden: Origin not allowed (the proxy is loopback-only)")
            return
        if scope["path"] not in self.paths:
            await _refuse(send, 404, f"Not Found: the MCP endpoint is {self.path}", -32601)
            return
        method = scope["method"]
        if method == "DELETE":
            sid = headers.get("mcp-session-id")
            if sid:
                self.sessions.pop(sid, None)
            await send_body(send, 200, b"")
            return
        if method != "POST":
            # Stateless upstream: no standalone GET stream (the spec allows 405).
            await _refuse(
                send,
                405,
                "Method Not Allowed: POST MCP messages",
                headers={"allow": "POST, DELETE"},
            )
            return
        try:
            body = await read_body(receive, MAX_BODY)
        except BodyTooLarge:
            await _refuse(send, 413, "Payload Too Large: the data plane's limit is 100 MB")
            return
        except ClientDisconnected:
            return
        await self._post(body, headers, receive, send)

    def _session(self, method: str | None, headers: dict[str, str]) -> ProxySession:
        sid = headers.get("mcp-session-id")
        if sid:
            session = self.sessions.get(sid)
            if session is None:
                # A session this proxy has not seen (it was restarted): keep the client's id.
                session = ProxySession.new(sid)
                self._keep(session)
            return session
        if method == "initialize":
            session = ProxySession.new()
            self._keep(session)
            return session
        return self.default

    def _keep(self, session: ProxySession) -> None:
        self.sessions[session.client_id] = session
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)

    async def _post(
        self, body: bytes, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        request_id, method = _id_and_method(body)
        session = self._session(method, headers)
        try:
            response = await self.forwarder.forward(body, session, headers, method=method or "")
        except ForwardError as exc:
            logger.error("%s", exc)
            await send_body(send, 200, error_message(request_id, str(exc)))
            return
        try:
            await self._relay(response, session, request_id, receive, send)
        finally:
            response.close()

    async def _relay(
        self,
        response: Answer,
        session: ProxySession,
        request_id: Any,
        receive: Receive,
        send: Send,
    ) -> None:
        status = response.status_code
        if status in (401, 403) or (status >= 400 and request_id is not None):
            body = await response.read()
            # The transport made it a JSON-RPC error that says what to fix.
            await send_body(send, 200 if request_id is not None else 403, body)
            return
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k in _PASSED_BACK]
        if session is not self.default:
            out.append((b"mcp-session-id", session.client_id.encode()))
        out.append((b"x-accel-buffering", b"no"))
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            # A JSON answer is one body: no stream to watch, no task to start.
            body = await response.read()
            out.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": status, "headers": out})

        async def relay() -> None:
            try:
                async for chunk in response.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except OSError as exc:  # the connection to the data plane broke mid-answer
                logger.error("the answer stream broke: %s", exc)
            await send({"type": "http.response.body", "body": b""})

        with contextlib.suppress(ClientDisconnected):
            # The client left: the upstream stream is closed too.
            await unless_client_leaves(relay(), receive)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.forwarder.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _id_and_method(body: bytes) -> tuple[Any, str | None]:
    """The request's id and method, from one parse of the body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    method = doc.get("method")
    return doc.get("id"), method if isinstance(method, str) else None


async def _refuse(
    send: Send,
    status: int,
    message: str,
    code: int = -32600,
    headers: dict[str, str] | None = None,
) -> None:
    await send_body(send, status, error_message(None, message, code), headers)


async def serve_http(forwarder: Forwarder, port: int, *, path: str = "/mcp") -> None:
    """Serve the proxy on 127.0.0.1:port until cancelled (uvicorn, no access log)."""
    import uvicorn

    config = uvicorn.Config(
        ProxyApp(forwarder, path),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
    )
    await uvicorn.Server(config).serve()
