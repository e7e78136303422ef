"""A small HTTP/1.1 client for forwarding POSTs: kept-alive connections, httptools, TLS.

Two forwarders use it: the local AgentCore's data plane calling instances on loopback,
and `agentcore-mcp proxy` calling the AgentCore data plane (HTTPS on AWS). Each call's
added latency is the figure users feel, and httpx spent more per call (request models,
the pool's locks and events, h11's pure-Python parsing, headers and body written
separately) than the rest of either forwarder (bench/README.md, run_gateway.py and
run_proxy.py). This client does only what forwarding needs: the request head and body
in one write, the response parsed by httptools (what uvicorn parses requests with), its
body handed on chunk by chunk with flow control, and the connection kept for the next
call. It has no read timeout: the caller decides how long an answer may take.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast

import httptools

# Past this much unread response body, the server's socket is paused, so a slow
# client cannot make the forwarder buffer a 100 MB answer.
HIGH_WATER = 1 << 20
CONNECT_TIMEOUT = 30.0
# Idle connections kept per address.
MAX_IDLE = 8

# (host, port, TLS): one pool serves plain and TLS origins without mixing their connections.
_Key = tuple[str, int, bool]


def authority(host: str, port: int, tls: bool) -> str:
    """The Host header as sent (and as SigV4 signs it): the port only when not the default."""
    name = f"[{host}]" if ":" in host else host
    return name if port == (443 if tls else 80) else f"{name}:{port}"


def keep_alive_limit(value: bytes) -> float | None:
    """How long to reuse an idle connection whose server sent `Keep-Alive: <value>`:
    its `timeout=N` less a second (as Node's fetch does), so the request is not sent into
    the server's own close; None when the value names no timeout."""
    for part in value.split(b","):
        name, _, number = part.strip().partition(b"=")
        if name.strip().lower() == b"timeout":
            try:
                seconds = float(number.strip())
            except ValueError:
                return None
            return max(seconds - 1.0, seconds / 2) if seconds > 0 else 0.0
    return None


def _shorter(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


class UpstreamError(ConnectionError):
    """The server closed the connection or sent something that is not HTTP/1.1."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.error: BaseException | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = asyncio.Event()
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.paused = False
        self.complete = False
        self.keep_alive = False
        self.wakeup = asyncio.Event()
        self.received_any = False
        self.on_idle_close: Callable[[], None] | None = None
        self.idle_since = 0.0  # loop time it went back to the pool
        # How long the server said it keeps the connection idle (`Keep-Alive: timeout=N`),
        # less a margin, or None when it did not say.
        self.server_idle_limit: float | None = None

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers = []
        self.headers_done.clear()
        self.chunks.clear()
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.received_any = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"the answer is not valid HTTP/1.1: {exc}"))
            return
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_idle_close is not None:  # closed while idle in the pool: leave it
            self.on_idle_close()
            self.on_idle_close = None
        if not self.complete:
            self._fail(exc or UpstreamError("the server closed the connection mid-answer"))

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.closed = True
        self.headers_done.set()
        self.wakeup.set()
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        # Asked here: once the message is complete, httptools answers False.
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done.set()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        self.wakeup.set()

    def on_message_complete(self) -> None:
        self.complete = True
        self.wakeup.set()

    # reading the answer
    async def body(self) -> AsyncIterator[tuple[bytes, bool]]:
        """(chunk, more): `more` is False on the last one, so the caller can end its own
        answer with that chunk instead of one more write for an empty end."""
        while True:
            while self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self.paused and self.buffered <= HIGH_WATER // 2 and self.transport:
                    self.paused = False
                    self.transport.resume_reading()
                yield chunk, not (self.complete and not self.chunks)
                if self.complete and not self.chunks:
                    return
            if self.complete:
                yield b"", False
                return
            if self.error is not None:
                raise self.error
            self.wakeup.clear()
            await self.wakeup.wait()


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    _conn: _Connection
    _pool: UpstreamPool
    _key: _Key
    _released: bool = field(default=False)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def body(self) -> AsyncIterator[tuple[bytes, bool]]:
        """The body's chunks as they arrive, each with whether more follow."""
        return self._conn.body()

    def release(self) -> None:
        """Keep the connection for the next call if the answer was read to its end, else
        close it (a call cut short leaves unread bytes behind)."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if conn.complete and not conn.closed and conn.keep_alive:
            hint = self.header(b"keep-alive")
            if hint is not None:
                conn.server_idle_limit = keep_alive_limit(hint)
            conn.reset()
            self._pool._give_back(self._key, conn)
        elif conn.transport is not None:
            conn.transport.close()


class UpstreamPool:
    """Kept-alive connections , keyed by address and TLS."""

    def __init__(
        self, tls: ssl.SSLContext | None = None, *, idle_expiry: float | None = None
    ) -> None:
        """`idle_expiry`: seconds an idle connection may be reused, set below the
        server's keep-alive (None: until the server closes it). A server that states its
        keep-alive (`Keep-Alive: timeout=N`) shortens it for its own connections."""
        self._idle: dict[_Key, list[_Connection]] = {}
        self._tls = tls
        self._idle_expiry = idle_expiry

    async def post(
        self,
        host: str,
        port: int,
        path: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        tls: bool = False,
    ) -> UpstreamResponse:
        """POST and wait for the answer's status and headers; read its body from the
        response, then `release()` it. `path` goes on the wire as given (escaped), and
        `tls` speaks HTTPS with certificate verification and SNI for `host`."""
        key = (host, port, tls)
        head = b"".join(
            [
                b"POST ",
                path.encode("latin-1"),
                b" HTTP/1.1\r\nhost: ",
                authority(host, port, tls).encode("idna"),
                b"\r\ncontent-length: ",
                str(len(body)).encode(),
                b"\r\n",
                *(k + b": " + v + b"\r\n" for k, v in headers),
                b"\r\n",
            ]
        )
        payload = head + body if len(body) < 65_536 else None
        reused = self._take(key)
        if reused is not None:
            try:
                return await self._exchange(key, reused, head, body, payload)
            except UpstreamError:
                # The server closed this idle connection as the request went out (its
                # keep-alive ended): nothing of the answer came, so nothing ran. Once more
                # on a fresh connection.
                if reused.received_any:
                    raise
        conn = await self._connect(host, port, tls)
        return await self._exchange(key, conn, head, body, payload)

    async def _exchange(
        self,
        key: _Key,
        conn: _Connection,
        head: bytes,
        body: bytes,
        payload: bytes | None,
    ) -> UpstreamResponse:
        transport = conn.transport
        assert transport is not None
        try:
            if payload is not None:
                transport.write(payload)
            else:
                transport.write(head)
                transport.write(body)
            await conn.headers_done.wait()
        except BaseException:
            transport.close()
            raise
        if conn.error is not None and not conn.status:
            raise (
                conn.error
                if isinstance(conn.error, UpstreamError)
                else UpstreamError(f"the server closed the connection: {conn.error!r}")
            )
        return UpstreamResponse(conn.status, conn.headers, conn, self, key)

    async def _connect(self, host: str, port: int, tls: bool) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if tls:
            if self._tls is None:
                # Verification on (the system's CAs, hostname checked), made once: building
                # a context loads the CA bundle, which costs milliseconds.
                self._tls = ssl.create_default_context()
            context = self._tls
        async with asyncio.timeout(CONNECT_TIMEOUT):
            # server_hostname: SNI and the name the certificate is checked against.
            transport, conn = await loop.create_connection(
                _Connection, host, port, ssl=context, server_hostname=host if tls else None
            )
        # uvloop may call connection_made after create_connection returns.
        if conn.transport is None:
            conn.transport = transport
        return conn

    def _take(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            conn.on_idle_close = None
            if conn.closed:
                continue
            limit = _shorter(self._idle_expiry, conn.server_idle_limit)
            if limit is not None and now - conn.idle_since >= limit:
                # The server may be closing it right now (its keep-alive ending): a request
                # written into that race is lost. Close it on our side instead.
                if conn.transport is not None:
                    conn.transport.close()
                continue
            return conn
        return None

    def _give_back(self, key: _Key, conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= MAX_IDLE:
            if conn.transport is not None:
                conn.transport.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

        def drop() -> None:
            # The server closed it (keep-alive ended, or it is gone): no
            # entry may outlive its connection, or a long run would pile up dead ones.
            with contextlib.suppress(ValueError):
                idle.remove(conn)
            if not idle and self._idle.get(key) is idle:
                del self._idle[key]

        conn.on_idle_close = drop

    def forget(self, host: str, port: int, *, tls: bool = False) -> None:
        """Close the idle connections to an address that has gone."""
        for conn in self._idle.pop((host, port, tls), []):
            if conn.transport is not None:
                conn.transport.close()

    async def aclose(self) -> None:
        for host, port, tls in list(self._idle):
            self.forget(host, port, tls=tls)
        with contextlib.suppress(Exception):
            await asyncio.sleep(0)
