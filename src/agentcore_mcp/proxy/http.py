"""`proxy --port N`: Streamable HTTP on 127.0.0.1 for MCP clients that cannot sign SigV4
or fetch Cognito tokens (MCP Inspector, Cursor, ...), without auth of its own by default.

It binds loopback only. A web page must not reach AWS with the user's credentials
through it, so it refuses a non-loopback `Host` (DNS rebinding), every `Origin` but a
loopback page's (`null` too: a sandboxed iframe or a data: URL), and a POST whose
`Content-Type` is not `application/json` (415): a browser sends that type cross-origin
only after a CORS preflight, which this proxy never grants. With a caller token (opt-in,
`AGENTCORE_PROXY_TOKEN`), every request must also carry `Authorization: Bearer <token>`:
that keeps out other users of a shared machine, who can reach 127.0.0.1 too. Each POST
goes through the forwarder and the answer streams back chunk by chunk. A refusal from
the runtime becomes HTTP 200 with a JSON-RPC error whose message says what to fix:
passing a 401 on would make an OAuth-capable client start an authorization flow against
this proxy, which has none.

Sessions: `initialize` without `Mcp-Session-Id` opens a proxy session; its id stays the
client's even when the proxy moves it to a new runtime session after the old one ended.
Requests without a session id (the 2026-07-28 era) share one default session, so they
keep affinity too; a sessionless `server/discover` (how a client of that era starts) moves
the default to a new runtime session, so a client that starts after a redeploy reaches the
new version, and the old one is ended once its requests are done. `DELETE` ends the runtime
session (StopRuntimeSession), and so does the proxy's shutdown for every session it opened.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections import OrderedDict
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    is_json_content_type,
    is_loopback_host,
    is_loopback_origin,
    read_body,
    send_body,
    serve_lifespan,
    split_host,
    unless_client_leaves,
)
from agentcore_mcp.jsonrpc import id_and_method
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
# At shutdown, ending the sessions the proxy opened gets this long in all.
SHUTDOWN_STOP_SECONDS = 15.0
_PASSED_BACK = ("content-type", "mcp-protocol-version", "cache-control")


class ProxyApp:
    """The ASGI app behind `proxy --port`."""

    def __init__(
        self, forwarder: Forwarder, path: str = "/mcp", *, caller_token: str | None = None
    ) -> None:
        self.forwarder = forwarder
        self.path = path
        # Compared as bytes in constant time; never logged, never passed on.
        self._caller_token = caller_token.encode() if caller_token else None
        self.paths = {path.rstrip("/") or "/", path.rstrip("/") + "/", "/"}
        self.default = ProxySession.new()
        self.sessions: OrderedDict[str, ProxySession] = OrderedDict()
        # Requests in flight per runtime session, and the replaced defaults to end once
        # theirs are done.
        self.inflight: dict[int, int] = {}
        self.retired: dict[int, ProxySession] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send, shutdown=self._shutdown)
            return
        if scope["type"] != "http":
            return
        headers = dict(Headers(scope=scope).items())  # the last of a repeated header wins
        host = headers.get("host", "")
        if host and not is_loopback_host(split_host(host)):
            await _refuse(send, 403, "Forbidden: this proxy answers only on a loopback Host")
            return
        origin = headers.get("origin")
        if origin is not None and not is_loopback_origin(origin):
            # `null` included: that is a sandboxed iframe's or a data: URL page's.
            await _refuse(
                send,
                403,
                "Forbidden: only a page on a loopback origin (http://localhost:PORT, "
                "http://127.0.0.1:PORT) may call this proxy; other clients send no Origin",
            )
            return
        if self._caller_token is not None and not self._caller_allowed(headers):
            # 403, not 401: a 401 makes an OAuth-capable client start an authorization
            # flow against this proxy, which has none.
            await _refuse(
                send,
                403,
                "Forbidden: this proxy requires the caller token it was started with "
                "(AGENTCORE_PROXY_TOKEN): send it as Authorization: Bearer <token>",
            )
            return
        if scope["path"] not in self.paths:
            await _refuse(send, 404, f"Not Found: the MCP endpoint is {self.path}", -32601)
            return
        method = scope["method"]
        if method == "DELETE":
            await self._delete(headers, send)
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
        if not is_json_content_type(headers.get("content-type", "")):
            await _refuse(
                send, 415, "Unsupported Media Type: send MCP messages as application/json"
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

    def _caller_allowed(self, headers: dict[str, str]) -> bool:
        assert self._caller_token is not None
        scheme, _, value = headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode("utf-8", "replace"), self._caller_token
        )

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
        if method == "server/discover":
            # A 2026-07-28 client starting: it gets a new runtime session (on the version
            # deployed now), and so do the sessionless requests after it.
            old, self.default = self.default, ProxySession.new()
            self.retired[id(old)] = old
        return self.default

    async def _delete(self, headers: dict[str, str], send: Send) -> None:
        sid = headers.get("mcp-session-id")
        if not sid:
            await _refuse(send, 400, "Bad Request: DELETE needs the Mcp-Session-Id to end")
            return
        session = self.sessions.pop(sid, None)
        if session is None:
            if not 33 <= len(sid) <= 256:  # the data plane's session id length
                await _refuse(send, 404, "Not Found: no such session")
                return
            # A session this proxy has not seen (it was restarted) has the client's id as
            # its runtime session id, as `_session` would have made it.
            session = ProxySession(sid, sid, opened=True)
        if await self.forwarder.end_session(session):
            await send_body(send, 200, b"")
        else:
            await _refuse(
                send,
                502,
                "Bad Gateway: the runtime session could not be ended (the proxy's log says "
                "why); it ends at its idle timeout",
            )

    def _keep(self, session: ProxySession) -> None:
        self.sessions[session.client_id] = session
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)

    async def _post(
        self, body: bytes, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        request_id, method = id_and_method(body)
        session = self._session(method, headers)
        key = id(session)
        self.inflight[key] = self.inflight.get(key, 0) + 1
        try:
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
        finally:
            left = self.inflight.pop(key) - 1
            if left:
                self.inflight[key] = left
            idle = [k for k in self.retired if k not in self.inflight]
            if idle:
                with anyio.CancelScope(shield=True):  # even when this client has left
                    for k in idle:
                        retired = self.retired.pop(k, None)  # another request's finally
                        if retired is not None:  # may have ended it meanwhile
                            await self.forwarder.end_session(retired)

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

    async def _shutdown(self) -> None:
        await self._end_all()
        await self.forwarder.aclose()

    async def _end_all(self) -> None:
        """End every runtime session this proxy opened (a client that comes back with its
        id is moved to a new one, as after an idle timeout)."""
        sessions = [*self.sessions.values(), *self.retired.values(), self.default]
        with anyio.move_on_after(SHUTDOWN_STOP_SECONDS):
            async with anyio.create_task_group() as tg:
                for session in sessions:
                    if session.opened:
                        tg.start_soon(self.forwarder.end_session, session)


async def _refuse(
    send: Send,
    status: int,
    message: str,
    code: int = -32600,
    headers: dict[str, str] | None = None,
) -> None:
    await send_body(send, status, error_message(None, message, code), headers)


async def serve_http(
    forwarder: Forwarder, port: int, *, path: str = "/mcp", caller_token: str | None = None
) -> None:
    """Serve the proxy on 127.0.0.1:port until cancelled (uvicorn, no access log)."""
    import uvicorn

    config = uvicorn.Config(
        ProxyApp(forwarder, path, caller_token=caller_token),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
    )
    await uvicorn.Server(config).serve()
