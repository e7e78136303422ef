"""The proxy's forwarder against a real loopback HTTP server that answers as the data
plane does when it is cold, busy or throttling: the same bounded retries and the same
explanations as the runtime client's transport (tests/client/test_transport.py), on the
proxy's own HTTP/1.1 client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentcore_mcp.client.request_auth import RuntimeAuth
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.tokens import BearerAuth, StaticTokenSource
from agentcore_mcp.proxy.forwarder import Forwarder, ProxySession
from tests.client.test_transport import BUSY, COLD, FAST, OK, PING, THROTTLED, data_plane
from tests.local.test_upstream import tls_pair


def forwarder(url: str) -> Forwarder:
    tokens = StaticTokenSource("a-test-token")
    return Forwarder(
        RuntimeTarget(url=url, auth="oauth"),
        RuntimeAuth("oauth", BearerAuth(tokens), tokens),
        retry=FAST,
    )


async def forward(url: str) -> tuple[int, dict[str, str], bytes]:
    proxy = forwarder(url)
    try:
        answer = await proxy.forward(PING, ProxySession.new())
        try:
            return answer.status_code, answer.headers, await answer.read()
        finally:
            answer.close()
    finally:
        await proxy.aclose()


async def test_cold_start_throttle_and_conflict_are_retried() -> None:
    with data_plane([COLD, THROTTLED, BUSY, OK]) as server:
        status, _, body = await forward(server.url)  # type: ignore[attr-defined]
        assert server.sent == [424, 429, 200, 200]  # type: ignore[attr-defined]
    assert status == 200 and json.loads(body)["result"] == {}


async def test_retries_are_bounded_and_end_in_the_same_explanation() -> None:
    with data_plane([COLD]) as server:
        status, headers, body = await forward(server.url)  # type: ignore[attr-defined]
        assert server.sent == [424] * 4  # type: ignore[attr-defined]
    assert status == 424 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["id"] == 9  # the request's id: the client can match the error
    assert "initialization time exceeded" in doc["error"]["message"]
    assert "logs" in doc["error"]["message"]  # what to do next


async def test_a_refusal_is_not_retried_and_is_explained() -> None:
    denied = (403, {"x-amzn-errortype": "AccessDeniedException"}, {
        "jsonrpc": "2.0", "id": 9, "error": {"code": -32002, "message": "Access denied",
        "data": {"detail": "User: arn:aws:iam::123456789012:user/x is not authorized to "
                 "perform: bedrock-agentcore:InvokeAgentRuntime"}}})  # fmt: skip
    with data_plane([denied, OK]) as server:
        status, _, body = await forward(server.url)  # type: ignore[attr-defined]
        assert server.sent == [403]  # type: ignore[attr-defined]
    assert status == 403
    assert "lacks bedrock-agentcore:InvokeAgentRuntime" in json.loads(body)["error"]["message"]


async def test_https_data_plane_with_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On AWS the data plane is HTTPS: the proxy verifies its certificate against the
    trust store httpx2 uses (here SSL_CERT_FILE holding a test CA) for the URL's host."""
    server_tls, _ = tls_pair(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(length)
        body = json.dumps(OK[2]).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    try:
        status, _, body = await forward(f"https://localhost:{port}/runtimes/x/invocations?q=1")
    finally:
        server.close()
    assert status == 200 and json.loads(body)["result"] == {}
    assert seen[0].startswith(b"POST /runtimes/x/invocations?q=1 HTTP/1.1\r\n")
    assert b"\r\nauthorization: Bearer a-test-token\r\n" in seen[0]
    assert b"\r\nhost: localhost:%d\r\n" % port in seen[0]
