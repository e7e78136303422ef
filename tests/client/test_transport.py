"""The runtime transport against a real loopback HTTP server that answers as the data
plane does when it is cold, busy or throttling: bounded retries, then a clear error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from agentcore_mcp.client import RetryPolicy, RuntimeTransport
from tests.support.loopback import serving

PING = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "ping"}).encode()
COLD = (424, {"x-amzn-errortype": "RuntimeClientError"}, {
    "message": "Runtime initialization time exceeded. Please make sure that initialization "
    "completes in 30s."})  # fmt: skip
THROTTLED = (429, {"x-amzn-errortype": "ThrottlingException"}, {"message": "slow down"})
RETRY_MESSAGE = "Session operation in progress, please retry"
BUSY = (200, {"x-amzn-errortype": "RetryableConflictException"}, {
    "jsonrpc": "2.0", "id": 9, "error": {"code": -32005, "message": RETRY_MESSAGE}})  # fmt: skip
OK = (200, {}, {"jsonrpc": "2.0", "id": 9, "result": {}})


@contextmanager
def data_plane(script: list[tuple[int, dict[str, str], dict[str, Any]]]) -> Iterator[list[int]]:
    """Answers with `script` in order (the last answer repeats); yields the statuses sent."""
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
        server.sent = sent  # type: ignore[attr-defined]
        server.url = f"{base_url}/invocations"  # type: ignore[attr-defined]
        yield server  # type: ignore[misc]


FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_seconds=10)


async def post(url: str, policy: RetryPolicy = FAST) -> httpx2.Response:
    transport = RuntimeTransport(auth_method="sigv4", policy=policy)
    async with httpx2.AsyncClient(transport=transport, timeout=10) as http:
        return await http.post(url, content=PING, headers={"content-type": "application/json"})


async def test_cold_start_throttle_and_conflict_are_retried() -> None:
    with data_plane([COLD, THROTTLED, BUSY, OK]) as server:
        response = await post(server.url)  # type: ignore[attr-defined]
        assert response.status_code == 200 and response.json()["result"] == {}
        assert server.sent == [424, 429, 200, 200]  # type: ignore[attr-defined]


async def test_retries_are_bounded_and_end_in_a_clear_error() -> None:
    with data_plane([COLD]) as server:
        response = await post(server.url)  # type: ignore[attr-defined]
        assert server.sent == [424] * 4  # type: ignore[attr-defined]
    assert response.status_code == 424
    assert response.json()["id"] == 9  # the request's id: the client can match the error
    error = response.json()["error"]
    assert "initialization time exceeded" in error["message"]
    assert "logs" in error["message"]  # what to do next


async def test_a_refusal_is_not_retried() -> None:
    denied = (403, {"x-amzn-errortype": "AccessDeniedException"}, {
        "jsonrpc": "2.0", "id": 9, "error": {"code": -32002, "message": "Access denied",
        "data": {"detail": "User: arn:aws:iam::123456789012:user/x is not authorized to "
                 "perform: bedrock-agentcore:InvokeAgentRuntime"}}})  # fmt: skip
    with data_plane([denied, OK]) as server:
        response = await post(server.url)  # type: ignore[attr-defined]
        assert server.sent == [403]  # type: ignore[attr-defined]
    assert "lacks bedrock-agentcore:InvokeAgentRuntime" in response.json()["error"]["message"]
