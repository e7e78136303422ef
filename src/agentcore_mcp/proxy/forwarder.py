"""The one forwarder under both front doors: a client's MCP message, as bytes, to the
runtime's data plane, signed (SigV4 over the exact body) or with a fresh bearer token.

- The body is never re-encoded, so both protocol eras pass unchanged.
- Affinity: every request of a `ProxySession` carries the same runtime session id
  (`Mcp-Session-Id` and `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`).
- The answer is returned as an open stream: SSE reaches the client event by event.
- Read limits are AgentCore's own plus a minute: a JSON answer (headers included) must
  be complete 16 minutes after the request, a stream 61 minutes after. The service cuts
  its side at 15 and 60, so the proxy never cuts a call the runtime would have finished;
  it only stops waiting on a connection that went silent without closing. There is no
  idle limit inside a stream: a server that sends no keep-alives may be silent for long.
- Ending a session: `end_session` is StopRuntimeSession, the same signed (or bearer) POST
  to `/runtimes/{arn}/stopruntimesession` boto3 sends, for both auth methods.
- `--debug` logs each exchange (line, headers, body) with credentials redacted: the
  `Authorization` value never reaches a log.
- Session recovery: when the runtime answers 404 for an ended session (idle timeout,
  max lifetime, StopRuntimeSession), a new runtime session is opened, the client's
  `initialize` (handshake era) and `notifications/initialized` are replayed on it, and the
  request is retried once. The client keeps its session id and never sees the 404.
- Cold starts, throttles and retryable conflicts are retried by `client.retries`, the
  policy of the runtime client's transport, and refusals explained by `client.transport`.
  The HTTP/1.1 client underneath is `agentcore_mcp.upstream` (the local AgentCore's,
  shared): httpx2's models, pool and h11 parser were half of the
  proxy's CPU per call (bench/README.md, run_proxy.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx2

from agentcore_mcp.client.request_auth import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuth,
    RuntimeAuthError,
    new_runtime_session_id,
    redact_headers,
)
from agentcore_mcp.client.retries import (
    ERROR_TYPE_HEADER,
    Refusal,
    RetryPolicy,
    read_refusal,
    send_with_retries,
)
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.runtime_session import stop_session_body, stop_session_url
from agentcore_mcp.client.tokens import TokenSourceError
from agentcore_mcp.client.transport import explained
from agentcore_mcp.jsonrpc import id_and_method
from agentcore_mcp.upstream import UpstreamPool, UpstreamResponse, authority

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
        "last-event-id",
    }
)
# Not passed, on purpose: `X-Amzn-Bedrock-AgentCore-Runtime-User-Id` is an identity
# assertion that only the caller's own credentials may make (IAM
# `bedrock-agentcore:InvokeAgentRuntimeForUser`); a local caller of the proxy must not
# make it with the user's. Nor `Authorization` or `Mcp-Session-Id`: those are the proxy's.

# AgentCore's request limits (contract section 3), and the margin the proxy adds so that
# the service, never the proxy, is the one that cuts a call.
SYNC_LIMIT_SECONDS = 15 * 60.0
STREAM_LIMIT_SECONDS = 60 * 60.0
LIMIT_MARGIN_SECONDS = 60.0
# StopRuntimeSession is one small call: it gets this long, whatever the answer.
STOP_TIMEOUT_SECONDS = 10.0
# How much of a body --debug prints.
DEBUG_BODY_BYTES = 4096


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
    # Whether a request has gone to `runtime_id` (a session never used needs no ending).
    opened: bool = False

    @classmethod
    def new(cls, runtime_id: str | None = None) -> ProxySession:
        rid = runtime_id or new_runtime_session_id()
        return cls(client_id=rid, runtime_id=rid)


class Answer:
    """The runtime's answer: status and headers at once, the body streamed as it arrives
    (or already read, for a refusal the proxy explained). Close it when done."""

    __slots__ = ("_body", "_expired", "_timer", "_upstream", "headers", "status_code")

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        upstream: UpstreamResponse | None = None,
        body: bytes = b"",
        deadline: float | None = None,
    ) -> None:
        self.status_code = status
        self.headers = headers  # names in lower case
        self._upstream = upstream
        self._body = body
        self._expired = False
        # One timer per answer (the event loop's clock), not a cancel scope per chunk:
        # the proxy's cost per call is mostly event-loop work.
        self._timer: asyncio.TimerHandle | None = None
        if upstream is not None and deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._expire)

    def _expire(self) -> None:
        self._expired = True
        if self._upstream is not None:
            self._upstream.release()  # the answer is incomplete: this closes its connection

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; TimeoutError (an OSError, as a broken connection is)
        once the answer's deadline passes."""
        if self._upstream is None:
            if self._body:
                yield self._body
            return
        try:
            async for chunk, _more in self._upstream.body():
                if chunk:
                    yield chunk
        except OSError as exc:
            if self._expired:
                raise TimeoutError(
                    "the runtime's answer passed AgentCore's time limit (15 minutes for a "
                    "JSON answer, 60 for a stream) plus a minute; the proxy stopped waiting"
                ) from exc
            raise

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        """Keeps the connection when the body was read to its end; else closes it, which
        is how the runtime learns that a client gave up on a stream."""
        if self._timer is not None:
            self._timer.cancel()
        if self._upstream is not None:
            self._upstream.release()


class Forwarder:
    def __init__(
        self,
        target: RuntimeTarget,
        auth: RuntimeAuth,
        *,
        retry: RetryPolicy | None = None,
        sync_limit: float = SYNC_LIMIT_SECONDS + LIMIT_MARGIN_SECONDS,
        stream_limit: float = STREAM_LIMIT_SECONDS + LIMIT_MARGIN_SECONDS,
    ) -> None:
        self.target = target
        self.auth = auth
        self.policy = retry or RetryPolicy()
        # Seconds from the request to the end of its answer: JSON (and the headers of
        # any answer), and a stream.
        self.sync_limit = sync_limit
        self.stream_limit = stream_limit
        # Parsed once. The path and query go on the wire, and into the signature, exactly
        # as the target spells them (the ARN already escaped).
        url = urlsplit(target.url)
        self.tls = url.scheme == "https"
        self.host = url.hostname or ""
        self.port = url.port or (443 if self.tls else 80)
        self.path = url.path + (f"?{url.query}" if url.query else "")
        self.authority = authority(self.host, self.port, self.tls)
        self.origin = f"{url.scheme}://{self.authority}"
        self.wire_url = f"{self.origin}{self.path}"
        # StopRuntimeSession: the invocation path with its last segment swapped (query
        # and escaped ARN kept); None for a URL that is not a data-plane invocation URL.
        try:
            stop = urlsplit(stop_session_url(target.url))
        except ValueError:
            self.stop_path: str | None = None
        else:
            self.stop_path = stop.path + (f"?{stop.query}" if stop.query else "")
        # The upstream itself has no read timeout: the forwarder bounds each answer by
        # AgentCore's limits (see the module doc). The TLS context is httpx2's, so the
        # proxy trusts what it trusted on httpx2 and what the runtime client trusts:
        # SSL_CERT_FILE/SSL_CERT_DIR, the OS store on macOS and Windows (truststore);
        # verification and hostname checks on.
        self.upstream = UpstreamPool(httpx2.create_ssl_context() if self.tls else None)
        self.recoveries = 0

    async def aclose(self) -> None:
        await self.upstream.aclose()

    def _headers(
        self, session: ProxySession, client_headers: dict[str, str]
    ) -> list[tuple[str, str]]:
        headers = [(k.lower(), v) for k, v in client_headers.items() if k.lower() in PASSED_HEADERS]
        headers += [
            ("content-type", "application/json"),
            ("accept", ACCEPT),
            ("mcp-session-id", session.runtime_id),
            (RUNTIME_SESSION_HEADER.lower(), session.runtime_id),
        ]
        return headers

    async def _authorization(
        self, headers: list[tuple[str, str]], body: bytes, path: str | None = None
    ) -> dict[str, str]:
        """SigV4 over the exact body and headers as sent, or the bearer token; credentials
        or a token that need renewing are fetched off the event loop (STS, SSO, Cognito)."""
        signer = self.auth.signer
        if signer is not None:
            if signer.needs_refresh():
                credentials = await anyio.to_thread.run_sync(signer.frozen_credentials)
            else:
                credentials = signer.frozen_credentials()
            url = self.wire_url if path is None else f"{self.origin}{path}"
            return signer.sign(
                "POST",
                url,
                [("host", self.authority), *headers],
                body,
                credentials=credentials,
            )
        tokens = self.auth.tokens
        if tokens is None:
            raise RuntimeAuthError(f"no signer or token source for auth {self.auth.method!r}")
        if tokens.needs_refresh():
            token = await anyio.to_thread.run_sync(tokens.token)
        else:
            token = tokens.token()
        return {"authorization": f"Bearer {token}"}

    async def _signed(
        self, plain: list[tuple[str, str]], body: bytes, path: str | None = None
    ) -> list[tuple[bytes, bytes]]:
        try:
            # Signed once: a SigV4 signature stays valid for 5 minutes, far longer than
            # the retry budget.
            plain = plain + list((await self._authorization(plain, body, path)).items())
        except (TokenSourceError, RuntimeAuthError) as exc:
            raise ForwardError(f"no credentials for the runtime: {exc}") from exc
        except Exception as exc:  # credential providers raise their own types (botocore, SSO)
            raise ForwardError(f"cannot sign the request: {type(exc).__name__}: {exc}") from exc
        if logger.isEnabledFor(logging.DEBUG):
            _log_request(f"{self.origin}{path or self.path}", plain, body)
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in plain]

    async def _send(
        self, body: bytes, session: ProxySession, client_headers: dict[str, str]
    ) -> Answer:
        headers = await self._signed(self._headers(session, client_headers), body)
        session.opened = True
        sync_deadline = asyncio.get_running_loop().time() + self.sync_limit

        async def send() -> tuple[UpstreamResponse, Refusal | None]:
            response = await self._post(headers, body, sync_deadline)
            if logger.isEnabledFor(logging.DEBUG):
                _log_response(response.status, _str_headers(response))
            raw_type = response.header(ERROR_TYPE_HEADER.encode())
            if raw_type is None and response.status < 400:
                return response, None
            error_type = raw_type.decode("latin-1") if raw_type is not None else None
            return response, Refusal(response.status, error_type, await _read_refusal(response))

        response, refusal, _retries = await send_with_retries(send, self.policy)
        if refusal is not None:
            return self._explained(response, refusal.error_type or "", refusal.body, body)
        streamed = (
            (response.header(b"content-type") or b"").lower().startswith(b"text/event-stream")
        )
        deadline = sync_deadline - self.sync_limit + self.stream_limit
        return Answer(
            response.status,
            _str_headers(response),
            response,
            deadline=deadline if streamed else sync_deadline,
        )

    async def _post(
        self,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        deadline: float,
        path: str | None = None,
    ) -> UpstreamResponse:
        try:
            async with asyncio.timeout_at(deadline):
                return await self.upstream.post(
                    self.host, self.port, path or self.path, headers, body, tls=self.tls
                )
        except TimeoutError as exc:
            why = str(exc) or "no answer before the time limit"
            raise ForwardError(
                f"the data plane did not answer in time ({why}): check the network and the "
                "endpoint URL"
            ) from exc
        except OSError as exc:  # refused, reset, DNS, TLS (ssl.SSLError), UpstreamError
            raise ForwardError(
                f"cannot reach the data plane at {self.target.url}: {exc}. Check the region, "
                "AWS_ENDPOINT_URL and the network"
            ) from exc

    def _explained(
        self, response: UpstreamResponse, error_type: str, refusal: bytes, request_body: bytes
    ) -> Answer:
        """A refusal, with the hint `client.transport` gives for it (the same rules)."""
        headers = _str_headers(response)
        result = explained(response.status, error_type, refusal, request_body, self.auth.method)
        if result is None:
            return Answer(response.status, headers, body=refusal)
        content, json_type = result
        if json_type:
            headers["content-type"] = "application/json"
        return Answer(response.status, headers, body=content)

    async def forward(
        self,
        body: bytes,
        session: ProxySession,
        client_headers: dict[str, str] | None = None,
        *,
        method: str | None = None,
    ) -> Answer:
        """Send one message; the caller reads the streamed answer and closes it. `method`
        saves parsing the body again when the caller has done it."""
        headers = client_headers or {}
        if method is None:
            method = id_and_method(body)[1]
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
        response.close()
        await self._recover(session)
        return await self._send(body, session, headers)

    async def end_session(self, session: ProxySession) -> bool:
        """StopRuntimeSession for the session's runtime session, if a request went to it.
        True when it ended or was already gone; False (logged) when it could not be ended."""
        if not session.opened:
            return True
        if self.stop_path is None:
            logger.warning(
                "runtime session %s left to its idle timeout: %s is not an invocation URL, "
                "so there is no stopruntimesession to call",
                session.runtime_id,
                self.target.url,
            )
            return False
        body = stop_session_body()
        plain = [
            ("content-type", "application/json"),
            (RUNTIME_SESSION_HEADER.lower(), session.runtime_id),
        ]
        try:
            with anyio.fail_after(STOP_TIMEOUT_SECONDS):
                headers = await self._signed(plain, body, self.stop_path)
                response = await self._post(
                    headers,
                    body,
                    asyncio.get_running_loop().time() + STOP_TIMEOUT_SECONDS,
                    self.stop_path,
                )
                refusal = await _read_refusal(response)
        except (ForwardError, TimeoutError, OSError) as exc:
            logger.warning("could not end runtime session %s: %s", session.runtime_id, exc)
            return False
        if logger.isEnabledFor(logging.DEBUG):
            _log_response(response.status, _str_headers(response))
        # 404: it had ended already (idle timeout, max lifetime, another client's stop).
        if response.status < 300 or response.status == 404:
            session.opened = False
            logger.info("stopped runtime session %s (StopRuntimeSession)", session.runtime_id)
            return True
        logger.warning(
            "could not end runtime session %s: HTTP %d %s",
            session.runtime_id,
            response.status,
            refusal[:300].decode("utf-8", "replace"),
        )
        return False

    async def _recover(self, session: ProxySession) -> None:
        old = session.runtime_id
        session.runtime_id = new_runtime_session_id()
        session.recoveries += 1
        self.recoveries += 1
        replayed = ""
        if session.initialize is not None:
            status = await self._replay(session.initialize, session)
            if status >= 400:
                raise ForwardError(
                    f"the runtime session ended and a new one refused the replayed initialize "
                    f"(HTTP {status})"
                )
            if session.initialized is not None:
                await self._replay(session.initialized, session)
            replayed = ", replayed initialize"
        logger.warning(
            "runtime session %s ended; opened %s%s and retried the request",
            old,
            session.runtime_id,
            replayed,
        )

    async def _replay(self, body: bytes, session: ProxySession) -> int:
        """Send a recorded handshake message on the session's new runtime session, with
        the headers it first came with; the answer's status (its body is not the client's)."""
        answer = await self._send(body, session, session.initialize_headers)
        try:
            await answer.read()
        finally:
            answer.close()
        return answer.status_code


def _log_request(url: str, headers: list[tuple[str, str]], body: bytes) -> None:
    """The request as `tools --debug` prints it, credentials redacted."""
    lines = [f"> POST {url}"]
    # Names in lower case, as they go on the wire.
    lines += [f"> {k}: {v}" for k, v in redact_headers({k.lower(): v for k, v in headers}).items()]
    if body:
        shown = body[:DEBUG_BODY_BYTES].decode("utf-8", "replace")
        cut = f" ... ({len(body)} bytes)" if len(body) > DEBUG_BODY_BYTES else ""
        lines.append(f"> {shown}{cut}")
    logger.debug("%s", "\n".join(lines))


def _log_response(status: int, headers: dict[str, str]) -> None:
    lines = [f"< {status}"]
    lines += [f"< {k}: {v}" for k, v in redact_headers(headers).items()]
    logger.debug("%s", "\n".join(lines))


def _str_headers(response: UpstreamResponse) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in response.headers}


async def _read_refusal(response: UpstreamResponse) -> bytes:
    try:
        return await read_refusal(chunk async for chunk, _more in response.body())
    finally:
        response.release()


def _session_ended(response: Answer) -> bool:
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
