"""The one forwarder under both front doors: a client's MCP message, as bytes, to the
runtime's data plane, signed (SigV4 over the exact body) or with a fresh bearer token.

- The body is never re-encoded, so both protocol eras pass unchanged.
- Affinity: every request of a `ProxySession` carries the same runtime session id
  (`Mcp-Session-Id` and `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`).
- The answer is returned as an open stream: SSE reaches the client event by event.
- No read timeout: a 15-minute call (or a 60-minute stream) is never cut by the proxy.
- Session recovery: when the runtime answers 404 for an ended session (idle timeout,
  max lifetime, StopRuntimeSession), a new runtime session is opened, the client's
  `initialize` (2025 era) and `notifications/initialized` are replayed on it, and the
  request is retried once. The client keeps its session id and never sees the 404.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

from agentcore_mcp.client.remote import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuth,
    RuntimeAuthError,
    new_runtime_session_id,
)
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.tokens import TokenSourceError
from agentcore_mcp.client.transport import RetryPolicy, RuntimeTransport

logger = logging.getLogger("agentcore_mcp.proxy")

ACCEPT = "application/json, text/event-stream"
# Client headers the data plane reads (contract section 3); everything else is the proxy's.
PASSED_HEADERS = frozenset(
    {
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
        "traceparent",
        "tracestate",
        "x-amzn-trace-id",
        "x-amzn-bedrock-agentcore-runtime-user-id",
        "last-event-id",
    }
)


class ForwardError(Exception):
    """The request could not be delivered; the message says what to fix."""


@dataclass(slots=True)
class ProxySession:
    """One client session as the proxy sees it, and the runtime session behind it."""

    client_id: str
    runtime_id: str
    initialize: bytes | None = None
    initialize_headers: dict[str, str] = field(default_factory=dict)
    initialized: bytes | None = None
    recoveries: int = 0

    @classmethod
    def new(cls, runtime_id: str | None = None) -> ProxySession:
        rid = runtime_id or new_runtime_session_id()
        return cls(client_id=rid, runtime_id=rid)


def message_method(body: bytes) -> str | None:
    """The JSON-RPC method of a single message (cheap: only for the few bytes we need)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    method = doc.get("method") if isinstance(doc, dict) else None
    return method if isinstance(method, str) else None


class Forwarder:
    def __init__(
        self,
        target: RuntimeTarget,
        auth: RuntimeAuth,
        *,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self.target = target
        self.auth = auth
        self.transport = RuntimeTransport(auth_method=auth.method, policy=retry)
        # read=None: the runtime, not the proxy, decides how long a call may take.
        self.timeout = httpx2.Timeout(connect_timeout, read=None, write=connect_timeout)
        # Parsed once: httpx2 validates every character of a URL it is given as text, and the
        # escaped ARN makes that a third of the proxy's per-request cost.
        self.url = httpx2.URL(target.url)
        self.recoveries = 0

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def _authorized(self, request: httpx2.Request) -> httpx2.Request:
        # The auth's own flow (SigV4 over the body, or the bearer token renewed off-loop),
        # without the client's redirect and cookie machinery: a single-step flow.
        flow = self.auth.auth.async_auth_flow(request)
        try:
            return await flow.__anext__()
        finally:
            await flow.aclose()

    def _headers(self, session: ProxySession, client_headers: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in client_headers.items() if k.lower() in PASSED_HEADERS}
        headers["content-type"] = "application/json"
        headers["accept"] = ACCEPT
        headers["mcp-session-id"] = session.runtime_id
        headers[RUNTIME_SESSION_HEADER] = session.runtime_id
        return headers

    async def _send(
        self, body: bytes, session: ProxySession, client_headers: dict[str, str]
    ) -> httpx2.Response:
        request = httpx2.Request(
            "POST",
            self.url,
            content=body,
            headers=self._headers(session, client_headers),
            extensions={"timeout": self.timeout.as_dict()},
        )
        try:
            request = await self._authorized(request)
            response = await self.transport.handle_async_request(request)
            response.request = request
            return response
        except (TokenSourceError, RuntimeAuthError) as exc:
            raise ForwardError(f"no credentials for the runtime: {exc}") from exc
        except httpx2.TimeoutException as exc:
            raise ForwardError(
                f"the data plane did not answer in time ({type(exc).__name__}): check the "
                "network and the endpoint URL"
            ) from exc
        except httpx2.HTTPError as exc:
            raise ForwardError(
                f"cannot reach the data plane at {self.target.url}: {exc}. Check the region, "
                "AWS_ENDPOINT_URL and the network"
            ) from exc
        except Exception as exc:  # credential providers raise their own types (botocore, SSO)
            raise ForwardError(f"cannot sign the request: {type(exc).__name__}: {exc}") from exc

    async def forward(
        self,
        body: bytes,
        session: ProxySession,
        client_headers: dict[str, str] | None = None,
        *,
        method: str | None = None,
    ) -> httpx2.Response:
        """Send one message; the caller reads the streamed answer and closes it. `method`
        saves parsing the body again when the caller has done it."""
        headers = client_headers or {}
        if method is None:
            method = message_method(body)
        if method == "initialize":
            session.initialize = body
            session.initialize_headers = {
                k: v for k, v in headers.items() if k.lower() in PASSED_HEADERS
            }
        elif method == "notifications/initialized":
            session.initialized = body
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        response = await self._send(body, session, headers)
        if debug:
            logger.debug(
                "%s -> HTTP %d %s in %.1f ms (runtime session %s)",
                method or "message",
                response.status_code,
                response.headers.get("content-type", ""),
                (time.perf_counter() - started) * 1000,
                session.runtime_id,
            )
        if not _session_ended(response) or method == "initialize":
            return response
        await response.aclose()
        await self._recover(session)
        return await self._send(body, session, headers)

    async def _recover(self, session: ProxySession) -> None:
        old = session.runtime_id
        session.runtime_id = new_runtime_session_id()
        session.recoveries += 1
        self.recoveries += 1
        replayed = ""
        if session.initialize is not None:
            response = await self._send(session.initialize, session, session.initialize_headers)
            try:
                await response.aread()
            finally:
                await response.aclose()
            if response.status_code >= 400:
                raise ForwardError(
                    f"the runtime session ended and a new one refused the replayed initialize "
                    f"(HTTP {response.status_code})"
                )
            if session.initialized is not None:
                done = await self._send(session.initialized, session, session.initialize_headers)
                await done.aclose()
            replayed = ", replayed initialize"
        logger.warning(
            "runtime session %s ended; opened %s%s and retried the request",
            old,
            session.runtime_id,
            replayed,
        )


def _session_ended(response: httpx2.Response) -> bool:
    # 404 is the data plane's answer for an ended session only; a deleted runtime is
    # 200 + JSON-RPC -32004 (contract section 3), which is passed on as an MCP error.
    return response.status_code == 404 and (
        response.headers.get("x-amzn-errortype", "ResourceNotFoundException")
        == "ResourceNotFoundException"
    )


def error_message(request_id: Any, message: str, code: int = -32603) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    ).encode()
