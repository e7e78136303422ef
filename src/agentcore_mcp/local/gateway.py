"""One loopback port for every AWS API the project uses.

Routing, in order:
1. `/_local/...`: the local AgentCore's own admin endpoints (health, status).
2. Data-plane paths (`/runtimes/{arn}/invocations`, `.../stopruntimesession`, the RFC
   9728 document): ours, whatever the auth (or the signing service) says; the data
   plane checks it.
3. SigV4 with service `bedrock-agentcore` in the credential scope: the control plane,
   after the signature is verified here.
4. Anything else (iam, sts, cognito-idp, s3, ecr, ssm, secretsmanager, logs, and the
   unsigned Cognito calls and discovery documents): moto, streamed through unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcore_mcp.asgi import ClientDisconnected, read_body, send_json
from agentcore_mcp.auth import SecretLookup, SigV4Error, credential_scope_service, verify_sigv4
from agentcore_mcp.local.data import is_data_plane_path

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


async def send_rest_json_error(send: Send, status: int, error_type: str, message: str) -> None:
    """An AWS rest-json error: boto3 reads the type from the header, the text from the body."""
    await send_json(send, status, {"message": message}, {"x-amzn-errortype": error_type})


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
    ) -> None:
        self.control = control
        self.data = data
        self.admin = admin
        self.moto_url = moto_url
        self.region = region
        self.lookup_secret = lookup_secret
        self.http = httpx.AsyncClient(
            base_url=moto_url, timeout=httpx.Timeout(60.0), trust_env=False
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        authorization = _header(scope, b"authorization")
        service = credential_scope_service(authorization)
        if raw_path.startswith("/_local/"):
            await self.admin(scope, receive, send)
        elif is_data_plane_path(raw_path):
            # Whatever the signature claims: the data plane refuses a wrong service itself.
            await self.data(scope, receive, send)
        elif service == "bedrock-agentcore" or (
            service is None and raw_path.startswith("/runtimes")
        ):
            await self._control(scope, receive, send, raw_path)
        else:
            await self._to_moto(scope, receive, send, raw_path)

    async def _control(self, scope: Scope, receive: Receive, send: Send, raw_path: str) -> None:
        try:
            body = await read_body(receive)
        except ClientDisconnected:
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{raw_path}?{query}" if query else raw_path
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            verify_sigv4(
                scope["method"],
                target,
                headers,
                body,
                lookup_secret=self.lookup_secret,
                expected_service="bedrock-agentcore",
                expected_region=self.region,
            )
        except SigV4Error as exc:
            await send_rest_json_error(send, 403, "AccessDeniedException", str(exc))
            return
        sent = False

        async def replay() -> dict[str, object]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        await self.control(scope, replay, send)

    async def _to_moto(self, scope: Scope, receive: Receive, send: Send, raw_path: str) -> None:
        async def body_stream() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        query = scope.get("query_string", b"")
        url = raw_path + ("?" + query.decode("latin-1") if query else "")
        headers = [
            (k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        request = self.http.build_request(
            scope["method"], url, headers=headers, content=body_stream()
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            await send_rest_json_error(
                send, 502, "InternalFailure", f"embedded AWS unreachable: {exc}"
            )
            return
        try:
            out = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower() not in HOP_BY_HOP
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
