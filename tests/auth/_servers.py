"""Tiny real HTTP servers on 127.0.0.1 for the auth tests (threads, http.server)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.loopback import serving


@dataclass
class CapturedRequest:
    method: str
    target: str  # raw request target: path + query as on the wire
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class CaptureServer:
    """Records every request as received; answers 200 with `{}`."""

    base_url: str = ""
    requests: list[CapturedRequest] = field(default_factory=list)

    @property
    def last(self) -> CapturedRequest:
        return self.requests[-1]


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


@contextmanager
def capture_server() -> Iterator[CaptureServer]:
    state = CaptureServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            body = _read_body(self)
            state.requests.append(
                CapturedRequest(self.command, self.path, list(self.headers.items()), body)
            )
            payload = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serve(Handler) as base_url:
        state.base_url = base_url
        yield state


@dataclass
class IdpServer:
    """Serves a discovery document and a JWKS that tests can change at any time."""

    base_url: str = ""
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    missing: set[str] = field(default_factory=set)

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def oauth_discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/oauth-authorization-server"

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/jwks.json"

    def discovery(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.base_url}/oauth2/authorize",
            "token_endpoint": f"{self.base_url}/oauth2/token",
        }
        doc.update(self.discovery_overrides)
        return doc


@contextmanager
def idp_server() -> Iterator[IdpServer]:
    state = IdpServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.hits[path] += 1
            doc: Any = None
            if path in state.missing:
                doc = None
            elif path in (
                "/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server",
            ):
                doc = state.discovery()
            elif path == "/jwks.json":
                doc = state.jwks
            payload = json.dumps(doc if doc is not None else {"error": "not found"}).encode()
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serve(Handler) as base_url:
        state.base_url = base_url
        yield state


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with serving(server, name="auth-test-http") as base_url:
        yield base_url
