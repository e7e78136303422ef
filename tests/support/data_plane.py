"""A loopback HTTP server that answers as AgentCore's data plane does when it is cold,
busy, throttling or failing, and the two callers that run `client.retries` against it:
the runtime client's transport and the proxy's forwarder."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from agentcore_mcp.client import RetryPolicy, RuntimeTransport
from agentcore_mcp.client.request_auth import RuntimeAuth
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.tokens import BearerAuth, StaticTokenSource
from agentcore_mcp.proxy.forwarder import Forwarder, ProxySession
from tests.support.loopback import serving

Scripted = tuple[int, dict[str, str], dict[str, Any]]

PING = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "ping"}).encode()
COLD: Scripted = (424, {"x-amzn-errortype": "RuntimeClientError"}, {
    "message": "Runtime initialization time exceeded. Please make sure that initialization "
    "completes in 30s."})  # fmt: skip
THROTTLED: Scripted = (429, {"x-amzn-errortype": "ThrottlingException"}, {"message": "slow down"})
BUSY: Scripted = (200, {"x-amzn-errortype": "RetryableConflictException"}, {
    "jsonrpc": "2.0", "id": 9, "error": {"code": -32005,
    "message": "Session operation in progress, please retry"}})  # fmt: skip
DENIED: Scripted = (403, {"x-amzn-errortype": "AccessDeniedException"}, {
    "jsonrpc": "2.0", "id": 9, "error": {"code": -32002, "message": "Access denied",
    "data": {"detail": "User: arn:aws:iam::123456789012:user/x is not authorized to "
             "perform: bedrock-agentcore:InvokeAgentRuntime"}}})  # fmt: skip
OK: Scripted = (200, {}, {"jsonrpc": "2.0", "id": 9, "result": {}})

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_seconds=10)


@dataclass
class DataPlane:
    url: str
    sent: list[int] = field(default_factory=list)


@contextmanager
def data_plane(script: list[Scripted]) -> Iterator[DataPlane]:
    """Answers with `script` in order (the last answer repeats); `sent` lists the statuses
    it answered with."""
    sent: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            status, headers, doc = script[min(len(sent), len(script) - 1)]
            sent.append(status)
            body = json.dumps(doc).encode()
            self.send_response(status)
            for k, v in {**headers, "content-type": "application/json"}.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server) as base_url:
        yield DataPlane(f"{base_url}/invocations", sent)


Answered = tuple[int, dict[str, str], bytes]


async def via_transport(url: str, policy: RetryPolicy = FAST) -> Answered:
    """`PING` through `RuntimeTransport`, as the official client sends it."""
    transport = RuntimeTransport(auth_method="sigv4", policy=policy)
    async with httpx2.AsyncClient(transport=transport, timeout=10) as http:
        response = await http.post(url, content=PING, headers={"content-type": "application/json"})
        return response.status_code, dict(response.headers), response.content


def forwarder(url: str, policy: RetryPolicy = FAST) -> Forwarder:
    tokens = StaticTokenSource("a-test-token")
    return Forwarder(
        RuntimeTarget(url=url, auth="oauth"),
        RuntimeAuth("oauth", BearerAuth(tokens), tokens),
        retry=policy,
    )


async def via_forwarder(url: str, policy: RetryPolicy = FAST) -> Answered:
    """`PING` through the proxy's forwarder."""
    proxy = forwarder(url, policy)
    try:
        answer = await proxy.forward(PING, ProxySession.new())
        try:
            return answer.status_code, answer.headers, await answer.read()
        finally:
            answer.close()
    finally:
        await proxy.aclose()


CALLERS: dict[str, Callable[[str], Awaitable[Answered]]] = {
    "transport": via_transport,
    "forwarder": via_forwarder,
}
