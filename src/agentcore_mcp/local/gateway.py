"""One loopback port for every AWS API the project uses.

Before any route, `guard` refuses a non-loopback `Host` or browser `Origin` (403).
moto's own routes (`/moto-api/...`: reset, a state dump with secret keys, seeding,
recording; its dashboard and metadata emulation) are refused next, whatever the
signature (`guard.moto_own_route`): 404, nothing forwarded.
Routing, in order:
1. `/_local/...`: the local AgentCore's own admin endpoints (health, status), for
   callers that present the per-start admin token (`Authorization: Bearer ...`).
2. Data-plane paths (`/runtimes/{arn}/invocations`, `.../stopruntimesession`, the RFC
   9728 document): ours, whatever the auth (or the signing service) says; the data
   plane checks it.
3. `/runtimes...` with service `bedrock-agentcore` in the credential scope: our control
   plane (runtimes, versions, endpoints), after the signature is verified here. The rest
   of bedrock-agentcore-control (gateways, targets, memories, ...) goes to moto's models,
   verified like every other AWS request (rule 4).
4. Anything else (iam, sts, cognito-idp, s3, ecr, ssm, secretsmanager, logs): moto,
   after the SigV4 signature (header or presigned query) is verified here with the same
   keys, or when AWS itself serves the operation unsigned (`guard.unsigned_operation`);
   an unsigned STS operation is forwarded only when `web_identity` accepts its token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

import httpx2
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcore_mcp.asgi import (
    BodyTooLarge,
    ClientDisconnected,
    declared_too_large,
    read_body,
    replay_body,
    send_body,
)
from agentcore_mcp.auth import (
    SecretLookup,
    SigV4Error,
    SigV4MissingAuthorizationError,
    credential_scope_region,
    credential_scope_service,
    is_presigned,
    is_presigned_v2,
    verify_s3_presigned_v2,
    verify_sigv4,
    verify_sigv4_presigned,
)
from agentcore_mcp.local import guard
from agentcore_mcp.local.data import is_data_plane_path
from agentcore_mcp.local.errors import aws_json_error
from agentcore_mcp.local.relay import ending, relay

logger = logging.getLogger("agentcore_mcp.local.gateway")

# (operation, body) -> None to forward an unsigned STS request, else STS's refusal.
UnsignedStsCheck = Callable[[str, bytes], Awaitable[guard.Refusal | None]]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "content-length",
    }
)

# Request bodies are read whole here (the signature covers them) before they are passed
# on, so each route has a bound, checked while reading: the declared Content-Length
# first, then the bytes as they come. An S3 object upload carries a code zip (AgentCore
# takes up to 250 MB; aws-chunked signing adds a little); nothing else the project's
# AWS services take is near a few MB (CloudWatch Logs' largest batch is 1 MiB), nor is
# any control-plane request.
MAX_S3_UPLOAD_BYTES = 260 << 20
MAX_AWS_REQUEST_BYTES = 8 << 20
MAX_CONTROL_REQUEST_BYTES = 1 << 20

MOTO_OWN_ROUTE = (
    "not an AWS API: the embedded AWS's own routes (/moto-api/..., its dashboard and "
    "metadata emulation) are not served by the local AgentCore, whatever the signature. "
    "To start from empty AWS state, restart it without --persist; an S3 bucket named "
    "'moto-api' cannot be used path-style here"
)

# moto's answer is relayed byte for byte (`aiter_raw`), so its Content-Length holds; a
# HEAD's is the only place S3 clients read an object's size (HeadObject's ContentLength).
RESPONSE_HOP_BY_HOP = HOP_BY_HOP - {"content-length"}


async def send_rest_json_error(send: Send, status: int, error_type: str, message: str) -> None:
    """An AWS rest-json error (`errors.aws_json_error`, the one shape in local/)."""
    headers, payload = aws_json_error(error_type, message)
    await send_body(send, status, payload, headers)


class Gateway:
    def __init__(
        self,
        *,
        control: ASGIApp,
        data: ASGIApp,
        admin: ASGIApp,
        moto_url: str,
        region: str,
        lookup_secret: SecretLookup,
        bind_host: str = "127.0.0.1",
        admin_token: str | None = None,
        unknown_key_hint: str = "use credentials this endpoint knows",
        web_identity: UnsignedStsCheck | None = None,
    ) -> None:
        self.unknown_key_hint = unknown_key_hint
        self.web_identity = web_identity
        self.bind_host = bind_host
        self.admin_token = admin_token
        self.control = control
        self.data = data
        self.admin = admin
        self.moto_url = moto_url
        self.region = region
        self.lookup_secret = lookup_secret
        self.http = httpx2.AsyncClient(
            base_url=moto_url, timeout=httpx2.Timeout(60.0), trust_env=False
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not guard.host_allowed(host, self.bind_host):
            await send_rest_json_error(
                send,
                403,
                "AccessDeniedException",
                f"Host {(host or '')[:100]!r} is not a loopback name or "
                "address: the local AgentCore answers only requests addressed to 127.0.0.1, "
                "::1 or localhost (set AWS_ENDPOINT_URL=http://127.0.0.1:PORT)",
            )
            return
        if not guard.origin_allowed(headers.get("origin")):
            await send_rest_json_error(
                send,
                403,
                "AccessDeniedException",
                "Origin not allowed: the local AgentCore refuses browser requests from "
                "non-loopback origins",
            )
            return
        if guard.moto_own_route(raw_path, scope["path"]):
            await send_rest_json_error(send, 404, "UnknownOperationException", MOTO_OWN_ROUTE)
            return
        authorization = headers.get("authorization")
        service = credential_scope_service(authorization)
        if raw_path.startswith("/_local/"):
            await self._admin_checked(scope, receive, send, authorization)
        elif is_data_plane_path(raw_path):
            # Whatever the signature claims: the data plane refuses a wrong service itself.
            await self.data(scope, receive, send)
        elif raw_path.startswith("/runtimes") and service in ("bedrock-agentcore", None):
            await self._control(scope, receive, send, raw_path)
        elif _is_runtime_tags_path(raw_path) and service in ("bedrock-agentcore", None):
            # Tags of runtimes live with the runtimes; moto keeps those of its own resources.
            await self._control(scope, receive, send, raw_path)
        else:
            await self._to_moto(scope, receive, send, raw_path, authorization, service)

    async def _admin_checked(
        self, scope: Scope, receive: Receive, send: Send, authorization: str | None
    ) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        # Health is a liveness probe for supervisors and `local start -d`: it says "ok"
        # and nothing else, so it needs no token; nor does the identity check, which a
        # client makes before it trusts this port with anything (local/identity.py).
        if (
            scope["path"] not in ("/_local/health", "/_local/identity")
            and self.admin_token is not None
            and not (
                scheme.lower() == "bearer"
                and hmac.compare_digest(token.strip().encode(), self.admin_token.encode())
            )
        ):
            await send_rest_json_error(
                send,
                401,
                "UnauthorizedException",
                "the local AgentCore's admin endpoints need its admin token: send "
                "'Authorization: Bearer <admin_token>' from credentials.json in its --home "
                "(readable only by the user who started it), or use `agentcore-mcp local status`",
            )
            return
        await self.admin(scope, receive, send)

    async def _control(self, scope: Scope, receive: Receive, send: Send, raw_path: str) -> None:
        read = await _read_request(scope, receive, raw_path, MAX_CONTROL_REQUEST_BYTES)
        if read is None:
            return
        if isinstance(read, BodyTooLarge):
            await send_rest_json_error(
                send,
                413,
                "ValidationException",
                _too_large_message(MAX_CONTROL_REQUEST_BYTES, "bedrock-agentcore-control"),
            )
            return
        body, _query, target, headers = read
        try:
            verify_sigv4(
                scope["method"],
                target,
                headers,
                body,
                lookup_secret=self.lookup_secret,
                expected_service="bedrock-agentcore",
                expected_region=self.region,
                unknown_key_hint=self.unknown_key_hint,
            )
        except SigV4Error as exc:
            await send_rest_json_error(send, 403, "AccessDeniedException", str(exc))
            return
        await self.control(scope, replay_body(body, receive), send)

    async def _to_moto(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_path: str,
        authorization: str | None,
        service: str | None,
    ) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        limit = _moto_body_limit(scope["method"], query, service)
        read = await _read_request(scope, receive, raw_path, limit)
        if read is None:
            return
        if isinstance(read, BodyTooLarge):
            lower = dict(Headers(scope=scope).items())  # the last of a repeat, as below
            too_large = guard.too_large_refusal(
                guard.protocol_of(service, lower, query, b""),
                _too_large_message(limit, service or "this AWS service"),
            )
            await send_body(send, too_large.status, too_large.body, too_large.headers)
            return
        body, query, target, headers = read
        lower = {k.lower(): v for k, v in headers}
        unsigned = (
            guard.unsigned_operation(scope["method"], raw_path, query, lower, body)
            if authorization is None
            else None
        )
        if unsigned is not None and unsigned in guard.unsigned_operations("sts"):
            refusal = (
                await self.web_identity(unsigned, body)
                if self.web_identity is not None
                else guard.query_refusal(403, "MissingAuthenticationToken", "not served here")
            )
            if refusal is not None:
                await send_body(send, refusal.status, refusal.body, refusal.headers)
                return
        elif unsigned is None:
            refusal = self._verify_aws(
                scope["method"], target, headers, lower, body, query, authorization, service
            )
            if refusal is not None:
                await send_body(send, refusal.status, refusal.body, refusal.headers)
                return
        await self._forward(scope, send, target, body)

    def _verify_aws(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        lower: dict[str, str],
        body: bytes,
        query: str,
        authorization: str | None,
        service: str | None,
    ) -> guard.Refusal | None:
        """None when the request is signed by a known key; else the service's refusal."""
        presigned = service is None and is_presigned(query)
        presigned_v2 = service is None and not presigned and is_presigned_v2(query)
        region: str | None
        if presigned_v2:
            service, region = "s3", self.region
        elif presigned:
            service, region = guard.presigned_scope(query)
        else:
            region = credential_scope_region(authorization)
        protocol = guard.protocol_of(service, lower, query, body)
        expected_region = region if service in guard.GLOBAL_SERVICES and region else self.region
        lookup_secret = self.lookup_secret
        if presigned or presigned_v2:
            lookup_secret = guard.without_well_known_pair(lookup_secret, "on a presigned URL")
        elif guard.changes_state_by_get(method, service, query, lower, body):
            lookup_secret = guard.without_well_known_pair(
                lookup_secret, "on a GET that changes something"
            )
        try:
            if presigned_v2:
                verify_s3_presigned_v2(
                    method,
                    target,
                    headers,
                    lookup_secret=lookup_secret,
                    unknown_key_hint=self.unknown_key_hint,
                )
            elif presigned:
                verify_sigv4_presigned(
                    method,
                    target,
                    headers,
                    lookup_secret=lookup_secret,
                    expected_service=service or "s3",
                    expected_region=expected_region,
                    unknown_key_hint=self.unknown_key_hint,
                )
            elif service is None and authorization is None:
                raise SigV4MissingAuthorizationError(
                    "missing Authorization: the local AgentCore's AWS services need SigV4 "
                    "with credentials it knows (its credentials.json, an IAM key it issued, "
                    "or the credentials of whoever started it)"
                )
            else:
                verify_sigv4(
                    method,
                    target,
                    headers,
                    body,
                    lookup_secret=lookup_secret,
                    expected_service=service or "",
                    expected_region=expected_region,
                    allow_unsigned_payload=service in guard.S3_SERVICES,
                    unknown_key_hint=self.unknown_key_hint,
                )
        except SigV4Error as exc:
            logger.info("refused %s %s (%s): %s", method, target[:120], service, exc)
            return guard.sigv4_refusal(protocol, exc)
        return None

    async def _forward(self, scope: Scope, send: Send, target: str, body: bytes) -> None:
        headers = [
            (k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        request = self.http.build_request(scope["method"], target, headers=headers, content=body)
        if guard.moto_own_route(request.url.raw_path.decode("latin-1"), request.url.path):
            # As httpx2 will send it: its own URL parsing must not make one of moto's paths.
            await send_rest_json_error(send, 404, "UnknownOperationException", MOTO_OWN_ROUTE)
            return
        try:
            response = await self.http.send(request, stream=True)
        except httpx2.TransportError as exc:
            await send_rest_json_error(
                send, 502, "InternalFailure", f"embedded AWS unreachable: {exc}"
            )
            return
        try:
            out = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower() not in RESPONSE_HOP_BY_HOP
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            await relay(send, ending(response.aiter_raw()))
        finally:
            await response.aclose()


def _moto_body_limit(method: str, query: str, service: str | None) -> int:
    """The body bound of a request bound for moto: an S3 upload's (PutObject, UploadPart,
    a POST form upload; signed in the header or presigned), else a few MB."""
    if method not in ("PUT", "POST"):
        return MAX_AWS_REQUEST_BYTES
    if service is None and is_presigned(query):
        service = guard.presigned_scope(query)[0]
    elif service is None and is_presigned_v2(query):
        service = "s3"
    return MAX_S3_UPLOAD_BYTES if service in guard.S3_SERVICES else MAX_AWS_REQUEST_BYTES


def _too_large_message(limit: int, service: str) -> str:
    return (
        f"the request body is over the local AgentCore's {limit} byte limit for "
        f"{service} requests (S3 object uploads may be up to {MAX_S3_UPLOAD_BYTES} bytes; "
        "upload a larger object in parts)"
    )


async def _read_request(
    scope: Scope, receive: Receive, raw_path: str, limit: int
) -> tuple[bytes, str, str, list[tuple[str, str]]] | BodyTooLarge | None:
    """(body, query, target as received, headers) for a request verified here before it
    is passed on; `BodyTooLarge` when the body is declared or turns out to be over
    `limit` (refused without reading the rest); None when the client left while
    sending the body."""
    if declared_too_large(Headers(scope=scope).get("content-length"), limit):
        return BodyTooLarge()
    try:
        body = await read_body(receive, limit)
    except BodyTooLarge:
        return BodyTooLarge()  # a new one: the raised one's traceback holds the chunks
    except ClientDisconnected:
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    target = f"{raw_path}?{query}" if query else raw_path
    return body, query, target, Headers(scope=scope).items()


def _is_runtime_tags_path(raw_path: str) -> bool:
    """`/tags/{resourceArn}` for an agent runtime (botocore percent-encodes the ARN)."""
    path = raw_path.split("?", 1)[0]
    if not path.startswith("/tags/"):
        return False
    arn = unquote(path[len("/tags/") :])
    return ":bedrock-agentcore:" in arn and ":runtime/" in arn and "/runtime-endpoint/" not in arn
