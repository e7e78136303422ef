"""Raw-socket HTTP/1.1 clients that misbehave on purpose: huge or endless bodies."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Mapping

DEFAULT_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


def _head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_chunked_until_answered(
    port: int,
    path: str,
    total: int,
    *,
    method: str = "POST",
    headers: Mapping[str, str] = DEFAULT_HEADERS,
) -> bytes:
    """Send `total` bytes chunked (1 MiB chunks) until the server answers; the answer."""
    chunk = b"x" * (1 << 20)
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(method, path, {**headers, "Transfer-Encoding": "chunked"}))
        sent = 0
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(frame)
            except OSError:
                break
            sent += len(chunk)
        return read_answer(sock, time.monotonic() + 30)


def send_declared_length(
    port: int, path: str, length: int, *, method: str = "POST", headers: Mapping[str, str]
) -> bytes:
    """Send only the head of a request declaring a `length` byte body; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(method, path, {**headers, "Content-Length": str(length)}))
        return read_answer(sock, time.monotonic() + 30)


def read_answer(sock: socket.socket, deadline: float) -> bytes:
    """What the server sends until it closes or the deadline passes."""
    got = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        try:
            piece = sock.recv(65536)
        except ConnectionError:
            break
        if not piece:
            break
        got += piece
        if b"\r\n\r\n" in got and got.rstrip().endswith((b"}", b">")):
            break
    return got
