"""The data plane's client to instances (agentcore_mcp/upstream.py) against real loopback servers.

End to end, every test in tests/local goes through it; these pin down what those cannot
see: connections kept and reused, a connection the server closed is not reused, chunked
and large bodies come through whole, a server dying mid-answer is an error, not a hang.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentcore_mcp.upstream import UpstreamPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


async def _serve(handler: Handler) -> tuple[asyncio.Server, int, list[int]]:
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(counted, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], connections


async def _read_all(pool: UpstreamPool, port: int, body: bytes = b"{}") -> tuple[int, bytes]:
    response = await pool.post("127.0.0.1", port, "/mcp", [(b"x-test", b"1")], body)
    try:
        chunks = [(c, more) async for c, more in response.body()]
        assert [more for _, more in chunks] == [True] * (len(chunks) - 1) + [False]
        return response.status, b"".join(c for c, _ in chunks)
    finally:
        response.release()


def test_keeps_and_reuses_one_connection() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            body = await _read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))

    async def main() -> None:
        server, port, connections = await _serve(echo)
        pool = UpstreamPool()
        for i in range(5):
            assert await _read_all(pool, port, b"call %d" % i) == (200, b"call %d" % i)
        assert len(connections) == 1
        await pool.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        # No `Connection: close`: the client learns of the close only from the socket.
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async def main() -> None:
        server, port, connections = await _serve(once)
        pool = UpstreamPool()
        for _ in range(4):
            assert await _read_all(pool, port) == (200, b"ok")
        assert len(connections) == 4
        # Once the close has arrived, the pool holds nothing for that address.
        for _ in range(500):  # at most 5 s
            if not pool._idle:
                break
            await asyncio.sleep(0.01)
        assert not pool._idle
        await pool.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_chunked_and_large_bodies_come_through_whole() -> None:
    blob = bytes(range(256)) * 20_000  # 5 MB, past the flow-control mark

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for start in range(0, len(blob), 300_000):
            part = blob[start : start + 300_000]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def main() -> None:
        server, port, _ = await _serve(chunked)
        pool = UpstreamPool()
        status, got = await _read_all(pool, port, blob)
        assert status == 200 and got == blob
        await pool.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_server_dying_mid_answer_is_an_error() -> None:
    async def dies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        server, port, _ = await _serve(dies)
        pool = UpstreamPool()
        with pytest.raises(ConnectionError):
            await _read_all(pool, port)
        await pool.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def tls_pair(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a certificate for `localhost` it signed: the server's context, and a client
    context that trusts that CA only (verification on, as for the data plane on AWS). The
    CA is also left in `tmp/ca.pem`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert("test CA", ca_key, "test CA", ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert("localhost", leaf_key, "test CA", ca_key, ca=False)
    (tmp / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    client = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    return server, client


def test_tls_verifies_the_certificate_and_sends_sni(tmp_path: Path) -> None:
    server_tls, client_tls = tls_pair(tmp_path)
    names: list[str | None] = []
    hosts: list[bytes] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc]

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            hosts.extend(line for line in head.split(b"\r\n") if line.startswith(b"host:"))
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))

    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        pool = UpstreamPool(client_tls)
        for i in range(3):
            response = await pool.post("localhost", port, "/mcp", [], b"call %d" % i, tls=True)
            try:
                assert response.status == 200
                assert b"".join([c async for c, _ in response.body()]) == b"call %d" % i
            finally:
                response.release()
        assert hosts == [b"host: localhost:%d" % port] * 3
        await pool.aclose()
        # The system's CAs do not know the test CA: the handshake must fail, not pass.
        strict = UpstreamPool()
        with pytest.raises(ssl.SSLCertVerificationError):
            await strict.post("localhost", port, "/mcp", [], b"{}", tls=True)
        await strict.aclose()
        server.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert names[0] == "localhost"  # SNI, on the first (and only kept) connection
