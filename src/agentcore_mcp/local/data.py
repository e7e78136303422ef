"""The data plane (`bedrock-agentcore`): invocations, stopruntimesession, RFC 9728.

Per request: resolve the runtime and qualifier, check the caller with the one auth
method the runtime allows (`auth.sigv4` or `auth.jwt`), find or start the session's
instance, then stream the request in and the response out chunk by chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    declared_too_large,
    read_body,
    send_json,
)
from agentcore_mcp.auth import (
    AUTHORIZATION_METHOD_MISMATCH,
    JwksCache,
    JwtError,
    SecretLookup,
    SigV4Error,
    protected_resource_metadata,
    verify_bearer,
    verify_sigv4,
    www_authenticate_header,
)
from agentcore_mcp.jsonrpc import request_id
from agentcore_mcp.local.control.config import ResolvedRuntime
from agentcore_mcp.local.control.errors import ArtifactError
from agentcore_mcp.local.control.headers import forwarded_custom_headers
from agentcore_mcp.local.control.registry import RuntimeRegistry
from agentcore_mcp.local.errors import (
    AccessDeniedError,
    DataPlaneError,
    InternalServerError,
    McpRequestUnacceptableError,
    ResourceNotFoundError,
    RuntimeClientError,
    ServiceQuotaExceededError,
    StartupTimeoutError,
    ThrottlingError,
    UnauthorizedError,
    ValidationError,
)
from agentcore_mcp.local.instances import Instance, StartupCrashed, StartupTimeout
from agentcore_mcp.local.invocation import (
    REQUEST_ID_SNIFF_BYTES,
    SESSION_HEADER,
    SESSION_HEADER_BYTES,
    InvocationForwarder,
    send_error,
)
from agentcore_mcp.local.sessions import (
    PoolClosed,
    QuotaExceeded,
    SessionEnded,
    SessionPool,
)
from agentcore_mcp.local.throttle import DEFAULT_RATE, RateLimiter

logger = logging.getLogger("agentcore_mcp.local.data")

DATA_PATH = re.compile(
    r"^/runtimes/(?P<target>[^/]+)/(?P<op>invocations|stopruntimesession)"
    r"(?P<wellknown>/\.well-known/oauth-protected-resource)?/?$"
)
FORWARDED = frozenset(
    {
        "content-type",
        "accept",
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
        "x-amzn-bedrock-agentcore-runtime-user-id",
        "x-amzn-trace-id",
        "traceparent",
        "tracestate",
        "baggage",
    }
)
MAX_PAYLOAD_BYTES = 100_000_000
# Bodies up to this size are parsed for the invocation log line's method name.
METHOD_SNIFF_BYTES = 65_536


def is_data_plane_path(raw_path: str) -> bool:
    return DATA_PATH.match(raw_path) is not None


@dataclass(frozen=True, slots=True)
class DataPlaneRequest:
    method: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    target: str  # the unescaped ARN or runtime id
    operation: str
    wellknown: bool
    qualifier: str | None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def url_target(self) -> str:
        return f"{self.raw_path}?{self.query}" if self.query else self.raw_path


StartInstance = Callable[[ResolvedRuntime, str], Awaitable[Instance]]


class _Outcome:
    """What the invocation log line reports, filled in as the request goes."""

    __slots__ = ("runtime", "session", "status")

    def __init__(self) -> None:
        self.runtime = "-"
        self.session = "-"
        self.status = 0


class DataPlane:
    def __init__(
        self,
        *,
        registry: RuntimeRegistry,
        sessions: SessionPool,
        start_instance: StartInstance,
        region: str,
        lookup_secret: SecretLookup,
        jwks: JwksCache,
        lifecycle_scale: float = 1.0,
        unknown_key_hint: str = "use credentials this endpoint knows",
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        rate_limit: float = DEFAULT_RATE,
        request_limit_scale: float = 1.0,
        instance_idle_seconds: float | None = None,
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.start_instance = start_instance
        self.region = region
        self.lookup_secret = lookup_secret
        self.unknown_key_hint = unknown_key_hint
        self.jwks = jwks
        self.lifecycle_scale = lifecycle_scale
        self.max_payload_bytes = max_payload_bytes
        self.throttle = RateLimiter(rate_limit)
        self.forwarder = InvocationForwarder(
            sessions,
            request_limit_scale=request_limit_scale,
            instance_idle_seconds=instance_idle_seconds,
        )

    async def aclose(self) -> None:
        await self.forwarder.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.perf_counter()
        outcome = _Outcome()

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
            await send(message)

        body = await self._serve(scope, receive, send_noting_status, outcome)
        if body is not None:
            # One line per invocation at INFO: who, which session, what, how it ended.
            logger.info(
                "invoke runtime=%s session=%s method=%s status=%d ms=%.1f",
                outcome.runtime,
                outcome.session,
                _method_of(scope, body),
                outcome.status,
                (time.perf_counter() - began) * 1000,
            )

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, outcome: _Outcome
    ) -> bytes | None:
        """Answer the request; the body read when it was an invocation, else None."""
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        match = DATA_PATH.match(raw_path)
        assert match is not None, "the gateway routes only data-plane paths here"
        query = scope.get("query_string", b"").decode("latin-1")
        params = parse_qs(query)
        request = DataPlaneRequest(
            method=scope["method"],
            raw_path=raw_path,
            query=query,
            headers=Headers(scope=scope).items(),  # every pair, repeats kept, in order
            target=unquote(match["target"]),
            operation=match["op"],
            wellknown=match["wellknown"] is not None,
            qualifier=params["qualifier"][0] if params.get("qualifier") else None,
        )
        mcp = False
        body = b""
        invocation = request.operation == "invocations" and not request.wellknown
        try:
            runtime = self._resolve(request, params)
            outcome.runtime = runtime.runtime_id
            mcp = (
                runtime.config.protocol.server_protocol == "MCP"
                and request.operation == "invocations"
            )
            if request.wellknown:
                await self._protected_resource(request, runtime, send)
                return None
            if request.method != "POST":
                raise ValidationError(
                    f"{request.method} is not supported here; use POST",
                    status=405,
                )
            body = await self._read_body(request, receive)
            await self._authenticate(request, runtime, body)
            if request.operation == "stopruntimesession":
                await self._stop_session(request, runtime, send)
            else:
                if not self.throttle.allow(runtime.runtime_id, runtime.endpoint_name):
                    raise ThrottlingError(
                        f"More than {self.throttle.rate:g} invocations per second on endpoint "
                        f"{runtime.endpoint_name} of {runtime.runtime_id} (the service's "
                        "quota; `local start --rate-limit N` sets it, 0 turns it off). Retry "
                        "with backoff.",
                    )
                await self._invoke(request, runtime, body, receive, send, mcp=mcp, outcome=outcome)
        except DataPlaneError as exc:
            # A runtime that cannot serve (CREATING, FAILED, being deleted) is still an MCP
            # runtime: its refusal takes the JSON-RPC form too (200 + -32006).
            if exc.mcp and not mcp:
                mcp = True
                # Read the body (within the limit) so the error answers the request's id.
                with contextlib.suppress(DataPlaneError):
                    body = await self._read_body(request, receive)
            await send_error(
                send, exc, mcp=mcp, request_id=request_id(body, max_bytes=REQUEST_ID_SNIFF_BYTES)
            )
        return body if invocation else None

    # --- steps -------------------------------------------------------------------

    def _resolve(self, request: DataPlaneRequest, params: dict[str, list[str]]) -> ResolvedRuntime:
        from agentcore_mcp.local.control.errors import RuntimeNotFound, RuntimeNotReady

        target = request.target
        account = params["accountId"][0] if params.get("accountId") else None
        if (
            not target.startswith("arn:")
            and account is not None
            and account != self.registry.account_id
        ):
            raise ResourceNotFoundError(
                f"No agent runtime {target!r} in account {account}; this local AgentCore "
                f"serves account {self.registry.account_id}.",
            )
        try:
            return self.registry.resolve_invocation(target, request.qualifier)
        except RuntimeNotFound as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        except RuntimeNotReady as exc:
            raise ValidationError(
                str(exc), mcp=exc.server_protocol == "MCP" and request.operation == "invocations"
            ) from exc

    async def _read_body(self, request: DataPlaneRequest, receive: Receive) -> bytes:
        # Refused before a byte is read when the declared length is over the limit; while
        # reading, as soon as the limit is passed (read_body drops what it read). The
        # refusal is made at the raise, not kept in a local beforehand: an exception held
        # by its own traceback's frame is a cycle, and it kept each refused body alive
        # until a full garbage collection.
        if declared_too_large(request.header("content-length"), self.max_payload_bytes):
            raise self._payload_too_large()
        try:
            return await read_body(receive, self.max_payload_bytes)
        except BodyTooLarge:
            pass
        except ClientDisconnected as exc:
            raise ValidationError(str(exc), status=400) from exc
        raise self._payload_too_large()

    def _payload_too_large(self) -> ValidationError:
        return ValidationError(
            f"The payload exceeds the {self.max_payload_bytes} byte limit of InvokeAgentRuntime.",
            status=413,
        )

    async def _authenticate(
        self, request: DataPlaneRequest, runtime: ResolvedRuntime, body: bytes
    ) -> None:
        authorization = request.header("authorization") or ""
        is_bearer = authorization[:7].lower() == "bearer "
        is_sigv4 = authorization.startswith("AWS4-HMAC-SHA256")
        authorizer = runtime.config.authorizer
        if authorizer is None:
            if is_bearer:
                raise AccessDeniedError(AUTHORIZATION_METHOD_MISMATCH)
            try:
                verify_sigv4(
                    request.method,
                    request.url_target,
                    request.headers,
                    body,
                    lookup_secret=self.lookup_secret,
                    expected_service="bedrock-agentcore",
                    expected_region=self.region,
                    unknown_key_hint=self.unknown_key_hint,
                )
            except SigV4Error as exc:
                raise AccessDeniedError(str(exc)) from exc
            return
        if is_sigv4:
            raise AccessDeniedError(AUTHORIZATION_METHOD_MISMATCH)
        challenge = {
            "www-authenticate": www_authenticate_header(self._metadata_url(request, runtime))
        }
        if not is_bearer:
            raise UnauthorizedError(
                "Missing bearer token: this runtime uses a JWT authorizer; send "
                "'Authorization: Bearer <access token>'.",
                headers=challenge,
            )
        token = authorization[7:].strip()
        try:
            config = runtime.config.authorizer_config
            assert config is not None
            await asyncio.to_thread(verify_bearer, token, config, self.jwks)
        except JwtError as exc:
            raise UnauthorizedError(str(exc), headers=challenge) from exc

    def _metadata_url(self, request: DataPlaneRequest, runtime: ResolvedRuntime) -> str:
        base = f"http://{request.header('host') or 'localhost'}"
        return (
            f"{base}/runtimes/{quote(runtime.arn, safe='')}/invocations/.well-known/"
            f"oauth-protected-resource?qualifier={runtime.endpoint_name}"
        )

    async def _protected_resource(
        self, request: DataPlaneRequest, runtime: ResolvedRuntime, send: Send
    ) -> None:
        if runtime.config.authorizer is None:
            raise ResourceNotFoundError(
                "This runtime uses SigV4; OAuth protected resource metadata exists only "
                "for runtimes with a JWT authorizer.",
            )
        try:
            config = runtime.config.authorizer_config
            assert config is not None
            discovery = await asyncio.to_thread(self.jwks.discovery, config.discovery_url)
        except JwtError as exc:
            raise InternalServerError(str(exc)) from exc
        base = f"http://{request.header('host') or 'localhost'}"
        resource = (
            f"{base}/runtimes/{quote(runtime.arn, safe='')}/invocations"
            f"?qualifier={runtime.endpoint_name}"
        )
        doc = protected_resource_metadata(resource, discovery, config.advertised_scopes())
        await send_json(send, 200, doc)

    def _session_id(self, request: DataPlaneRequest) -> str:
        """The runtime session id: Mcp-Session-Id, else the runtime header, else a new one.

        For an MCP runtime, Mcp-Session-Id is the runtime session id (requests are routed
        by it and both response headers carry it), so it follows the same rule as
        X-Amzn-Bedrock-AgentCore-Runtime-Session-Id (33 to 256 characters), and MCP's own
        (visible ASCII only).
        """
        mcp_id = request.header("mcp-session-id")
        runtime_id = request.header(SESSION_HEADER)
        if mcp_id is not None:
            _check_session_id("Mcp-Session-Id", mcp_id, visible_ascii=True)
        if runtime_id is not None:
            _check_session_id("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", runtime_id)
        return mcp_id or runtime_id or self.sessions.new_session_id()

    async def _stop_session(
        self, request: DataPlaneRequest, runtime: ResolvedRuntime, send: Send
    ) -> None:
        session_id = request.header(SESSION_HEADER)
        if not session_id:
            raise ValidationError(
                "StopRuntimeSession needs the X-Amzn-Bedrock-AgentCore-Runtime-Session-Id header.",
            )
        if not await self.sessions.stop_session(runtime.runtime_id, session_id):
            raise ResourceNotFoundError(f"No active session {session_id} for this runtime.")
        await send_json(send, 200, {}, {SESSION_HEADER: session_id})

    async def _invoke(
        self,
        request: DataPlaneRequest,
        runtime: ResolvedRuntime,
        body: bytes,
        receive: Receive,
        send: Send,
        *,
        mcp: bool,
        outcome: _Outcome,
    ) -> None:
        if mcp:
            accept = (request.header("accept") or "").lower()
            if "application/json" not in accept or "text/event-stream" not in accept:
                raise McpRequestUnacceptableError(
                    "Accept must include both application/json and text/event-stream.",
                )
        session_id = self._session_id(request)
        outcome.session = session_id
        lifecycle_idle = runtime.config.idle_timeout_seconds * self.lifecycle_scale
        lifecycle_max = runtime.config.max_lifetime_seconds * self.lifecycle_scale
        try:
            session, instance = await self.sessions.acquire(
                runtime.runtime_id,
                session_id,
                version=runtime.version,
                idle_timeout=lifecycle_idle,
                max_lifetime=lifecycle_max,
                start=lambda s: self.start_instance(runtime, s.id),
            )
        except SessionEnded as exc:
            raise ResourceNotFoundError(str(exc), status=404) from exc
        except QuotaExceeded as exc:
            raise ServiceQuotaExceededError(str(exc)) from exc
        except PoolClosed as exc:
            raise InternalServerError(str(exc), status=503) from exc
        except StartupTimeout as exc:
            logger.warning("runtime %s: %s", runtime.runtime_id, exc)
            raise StartupTimeoutError(str(exc)) from exc
        except StartupCrashed as exc:
            raise RuntimeClientError(
                f"The runtime failed to start: {exc}. See `agentcore-mcp local logs`.",
            ) from exc
        except ArtifactError as exc:
            # The unpacked code is gone and so is the zip (the embedded S3 is not kept
            # across restarts): say so instead of failing the request with a bare 500.
            logger.warning("runtime %s: %s", runtime.runtime_id, exc)
            raise RuntimeClientError(
                f"The runtime's code could not be prepared: {exc} After a `--persist` "
                "restart, upload the zip again (the embedded S3 starts empty).",
            ) from exc
        try:
            await self.forwarder.forward_until_client_leaves(
                runtime,
                session,
                instance,
                self._forward_headers(request, runtime, session.id),
                body,
                receive,
                send,
                mcp=mcp,
            )
        finally:
            await self.sessions.release(session)

    def _forward_headers(
        self, request: DataPlaneRequest, runtime: ResolvedRuntime, session_id: str
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers if k in FORWARDED
        ]
        custom = forwarded_custom_headers(
            request.headers,
            runtime.config.request_header_allowlist,
            jwt_runtime=runtime.config.authorizer is not None,
        )
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in custom.items()]
        sid = session_id.encode("latin-1")
        headers.append((b"mcp-session-id", sid))
        headers.append((SESSION_HEADER_BYTES, sid))
        return headers


def _check_session_id(header: str, value: str, *, visible_ascii: bool = False) -> None:
    problem = None
    if not 33 <= len(value) <= 256:
        problem = f"must be 33 to 256 characters long (got {len(value)})"
    elif visible_ascii and any(not 0x21 <= ord(c) <= 0x7E for c in value):
        problem = "may hold only visible ASCII characters (no spaces or control characters)"
    if problem is not None:
        raise ValidationError(
            f"{header} {problem}: it is the runtime session id. Send no session id to "
            "start a new session, or a UUID (36 characters) of your own.",
            status=400,
        )


def _method_of(scope: Scope, body: bytes) -> str:
    """The JSON-RPC method for the log line: Mcp-Method, else the body's, else '-'."""
    method = Headers(scope=scope).get("mcp-method")
    if method is not None:
        return method[:100]
    if not body or len(body) > METHOD_SNIFF_BYTES or body[:1] not in (b"{", b" ", b"\n"):
        return "-"
    try:
        doc = json.loads(body)
    except ValueError:
        return "-"
    method = doc.get("method") if isinstance(doc, dict) else None
    if not isinstance(method, str):
        return "-"
    # The body is the caller's: no line breaks or escapes into the log.
    return method[:100] if method.isprintable() and " " not in method else "?"
