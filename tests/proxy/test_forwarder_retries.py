"""The proxy's forwarder on HTTPS: it verifies the data plane's certificate. Its retries
and explanations are `client.retries`', tested with both callers in
tests/client/test_retries.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.local.test_upstream import tls_pair
from tests.support.data_plane import OK, via_forwarder


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
        status, _, body = await via_forwarder(
            f"https://localhost:{port}/runtimes/x/invocations?q=1"
        )
    finally:
        server.close()
    assert status == 200 and json.loads(body)["result"] == {}
    assert seen[0].startswith(b"POST /runtimes/x/invocations?q=1 HTTP/1.1\r\n")
    assert b"\r\nauthorization: Bearer a-test-token\r\n" in seen[0]
    assert b"\r\nhost: localhost:%d\r\n" % port in seen[0]
