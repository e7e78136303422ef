"""An invocation's trip to its instance and back: the call over a kept-alive connection
(`agentcore_mcp.upstream`), the service's request limits, the caller leaving mid-call,
and the error answer that ends a call that failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import Message, Receive, Send

from agentcore_mcp.asgi import send_body, until_disconnected
from agentcore_mcp.jsonrpc import request_id
from agentcore_mcp.local.control.config import ResolvedRuntime
from agentcore_mcp.local.errors import DataPlaneError, RuntimeClientError
from agentcore_mcp.local.instances import Instance
from agentcore_mcp.local.relay import relay
from agentcore_mcp.local.sessions import Session, SessionPool
from agentcore_mcp.upstream import UpstreamPool

# The data plane's logger: these lines are part of its story.
logger = logging.getLogger("agentcore_mcp.local.data")

SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id"
SESSION_HEADER_BYTES = SESSION_HEADER.encode()
# The service's request limits (contract, section 3): a synchronous (JSON) answer must
# be complete within 15 minutes, a streamed (SSE) one within 60, counted from the request.
SYNC_LIMIT_SECONDS = 15 * 60
STREAM_LIMIT_SECONDS = 60 * 60
# Bodies up to this size are parsed for the JSON-RPC id of an error answer.
REQUEST_ID_SNIFF_BYTES = 1_000_000


class InvocationForwarder:
    """Calls instances for the data plane, within the request limits (scaled by
    `request_limit_scale` for tests), over connections kept `instance_idle_seconds`."""

    def __init__(
        self,
        sessions: SessionPool,
        *,
        request_limit_scale: float = 1.0,
        instance_idle_seconds: float | None = None,
    ) -> None:
        self.sessions = sessions
        self.sync_limit = SYNC_LIMIT_SECONDS * request_limit_scale
        self.stream_limit = STREAM_LIMIT_SECONDS * request_limit_scale
        self.upstream = UpstreamPool(idle_expiry=instance_idle_seconds)

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def forward_until_client_leaves(
        self,
        runtime: ResolvedRuntime,
        session: Session,
        instance: Instance,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        receive: Receive,
        send: Send,
        *,
        mcp: bool,
    ) -> None:
        """`_forward`, cut when the client closes its connection: the connection to the
        instance is closed too, so the server sees its caller leave (as behind the
        service) instead of working on for nobody until the call's limit."""
        forwarding = asyncio.current_task()
        assert forwarding is not None
        answered = False
        client_left = False

        async def tracked_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True  # after this, `http.disconnect` only means "complete"
            await send(message)

        async def watch() -> None:
            nonlocal client_left
            await until_disconnected(receive)
            if not answered:
                client_left = True
                forwarding.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await self._forward(runtime, session, instance, headers, body, tracked_send, mcp=mcp)
        except asyncio.CancelledError:
            if not client_left:
                raise
            forwarding.uncancel()
            logger.info(
                "runtime %s session %s: the caller closed its connection mid-call; the "
                "connection to the instance was closed too",
                runtime.runtime_id,
                session.id,
            )
        finally:
            answered = True
            watcher.cancel()

    async def _forward(
        self,
        runtime: ResolvedRuntime,
        session: Session,
        instance: Instance,
        forwarded_headers: list[tuple[bytes, bytes]],
        body: bytes,
        send: Send,
        *,
        mcp: bool,
    ) -> None:
        started = False
        streaming = False
        sid = session.id.encode("latin-1")
        out_headers = [(b"mcp-session-id", sid), (SESSION_HEADER_BYTES, sid)]
        error_headers = {"mcp-session-id": session.id, SESSION_HEADER: session.id}
        # The limits count from when the call reaches the instance, not from its arrival:
        # a session's start (at most 30 s) is noise against 15 minutes, but with a scaled
        # clock (--request-limit-scale) it would eat the whole limit.
        origin = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout_at(origin + self.sync_limit) as limit:
                spec = instance.spec
                response = await self.upstream.post(
                    spec.host,
                    spec.port,
                    spec.path,
                    forwarded_headers,
                    body,
                )
                try:
                    content_type = response.header(b"content-type") or b"application/json"
                    headers = [(b"content-type", content_type), *out_headers]
                    version = response.header(b"mcp-protocol-version")
                    if version is not None:
                        headers.append((b"mcp-protocol-version", version))
                    streaming = content_type.startswith(b"text/event-stream")
                    if streaming:
                        limit.reschedule(origin + self.stream_limit)
                    else:
                        length = response.header(b"content-length")
                        if length is not None:
                            # Known length: uvicorn then writes no chunked framing and
                            # no separate end-of-body write.
                            headers.append((b"content-length", length))
                    await send(
                        {
                            "type": "http.response.start",
                            "status": response.status,
                            "headers": headers,
                        }
                    )
                    started = True
                    await relay(send, response.body())
                finally:
                    response.release()
        except TimeoutError:
            seconds, kind = (
                (STREAM_LIMIT_SECONDS, "streamed (SSE)")
                if streaming
                else (SYNC_LIMIT_SECONDS, "synchronous (JSON)")
            )
            logger.warning(
                "runtime %s session %s: cut at the %s limit of %d min",
                runtime.runtime_id,
                session.id,
                kind,
                seconds // 60,
            )
            error = RuntimeClientError(
                f"The call passed the {seconds // 60}-minute limit of {kind} invocations and "
                "was cut. "
                + (
                    "Split the work into shorter calls."
                    if streaming
                    else "Stream the answer (SSE, up to 60 minutes) for longer calls."
                ),
                headers=error_headers,
            )
            await fail_response(
                send, error, started=started, streaming=streaming, mcp=mcp, body=body
            )
        except OSError as exc:
            # The instance went away mid-call (crash, OOM kill): answer now, not at a timeout.
            crashed = not instance.alive or isinstance(exc, ConnectionError)
            logger.warning(
                "runtime %s session %s: instance failed: %r", runtime.runtime_id, session.id, exc
            )
            if crashed:
                await self.sessions.instance_crashed(session, instance)
            error = RuntimeClientError(
                "The runtime's process ended during the call; the next request starts a "
                "fresh instance. See `agentcore-mcp local logs`.",
                headers=error_headers,
            )
            await fail_response(
                send, error, started=started, streaming=streaming, mcp=mcp, body=body
            )


async def fail_response(
    send: Send, error: DataPlaneError, *, started: bool, streaming: bool, mcp: bool, body: bytes
) -> None:
    """End a forwarded call with `error`: a whole error answer if nothing was sent yet, a
    last SSE event carrying the JSON-RPC error on an MCP stream, else the end of the body."""
    if not started:
        await send_error(
            send, error, mcp=mcp, request_id=request_id(body, max_bytes=REQUEST_ID_SNIFF_BYTES)
        )
    elif streaming and mcp:
        _status, _h, payload = error.render(
            mcp=True, request_id=request_id(body, max_bytes=REQUEST_ID_SNIFF_BYTES)
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"event: message\ndata: " + payload + b"\n\n",
                "more_body": False,
            }
        )
    else:
        # A JSON answer whose Content-Length was already sent cannot end cleanly: the
        # server refuses the short body and closes the connection, which is the signal.
        with contextlib.suppress(RuntimeError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_error(send: Send, error: DataPlaneError, *, mcp: bool, request_id: object) -> None:
    """`error` as a whole answer: JSON-RPC on an MCP runtime, else AWS's JSON."""
    status, headers, payload = error.render(mcp=mcp, request_id=request_id)
    await send_body(send, status, payload, headers)
