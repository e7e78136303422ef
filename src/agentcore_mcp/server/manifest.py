"""The startup manifest: a server's handshake answers, recorded at build time.

Most of a cold start is `import mcp` (0.8-1 s on 2 cores: about 600 pydantic models
are built at import time), and a client's first requests, `initialize` and
`tools/list`, need none of that work done to be answered: their results depend only on
the server's code. `write_manifest` runs the real server once, in-process, and records
those results; a server started with `MCP_STARTUP_MANIFEST` pointing at the file
listens at once and answers them from it while the SDK loads (`starting.py`).

A manifest is used only while it matches the code: its fingerprint covers the server
spec, the Python version, the `mcp` and `pydantic` versions, and the sources of the
server's top-level package and of this kit. Once the server has loaded, every answer
given from the manifest is replayed through the real server and compared, and a
difference is logged as an error (a server whose tool list depends on environment
variables is the case a fingerprint cannot see: see docs/server-kit.md).

This module imports nothing from the `mcp` SDK except inside `write_manifest` and
`collect_results`, which need a loaded server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.files import write_atomically
from agentcore_mcp.server.front import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    DEFAULT_NEGOTIATED_VERSION,
    HANDSHAKE_PROTOCOL_VERSIONS,
    MODERN_PROTOCOL_VERSIONS,
    PROTOCOL_VERSION_META_KEY,
)
from agentcore_mcp.sse import sse_data

MANIFEST_ENV = "MCP_STARTUP_MANIFEST"
FORMAT = 1
# Methods whose results a manifest records; `initialize` is keyed by the requested version.
RECORDED_METHODS = ("initialize", "ping", "tools/list")
# Past this many source files the fingerprint is not worth computing at each start.
MAX_SOURCE_FILES = 5000
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".venv", ".git", ".mypy_cache"})

CLIENT_INFO = {"name": "agentcore-mcp-manifest", "version": "1"}


class ManifestUnusable(AgentCoreMcpError):
    """The manifest cannot be used for this server (missing, unreadable or stale)."""


@dataclass(frozen=True, slots=True)
class StartupManifest:
    """Recorded `result`s keyed `method@version`, and what they were recorded from."""

    server_spec: str | None  # `module:attribute`; None: the sample server
    fingerprint: str
    results: dict[str, Any] = field(default_factory=dict)
    created: str = ""

    def result(self, method: str, version: str) -> Any | None:
        return self.results.get(f"{method}@{version}")

    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "server": self.server_spec,
            "fingerprint": self.fingerprint,
            "created": self.created,
            "results": self.results,
        }
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StartupManifest:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ManifestUnusable(f"not a format-{FORMAT} startup manifest")
        results = doc.get("results")
        if not isinstance(results, dict) or not isinstance(doc.get("fingerprint"), str):
            raise ManifestUnusable("manifest has no results or fingerprint")
        return cls(
            server_spec=doc.get("server"),
            fingerprint=doc["fingerprint"],
            results=results,
            created=str(doc.get("created", "")),
        )


# --- the fingerprint (no SDK import) -----------------------------------------------------


def _search_path() -> list[str]:
    # `load_server` puts the working directory first, as uvicorn does.
    cwd = str(Path.cwd())
    return [cwd, *(p for p in sys.path if p != cwd)]


def _locations(module: str) -> list[Path]:
    """The directories (package) or file (module) holding a top-level module, unimported."""
    spec = PathFinder.find_spec(module, _search_path())
    if spec is None:
        raise ManifestUnusable(f"cannot find module {module!r}")
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    if spec.origin is None:
        raise ManifestUnusable(f"module {module!r} has no source file")
    return [Path(spec.origin)]


def _source_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath, name)


def _dist_version(package: str) -> str:
    """The installed version from the `*.dist-info` next to a package (no metadata import)."""
    for location in _locations(package):
        for info in sorted(location.parent.glob("*.dist-info")):
            name, _, version = info.name[: -len(".dist-info")].partition("-")
            if name.lower().replace("-", "_") == package:
                return version
    return "unknown"


def source_fingerprint(server_spec: str | None) -> str:
    """A hash of everything that decides the recorded answers, short of running them."""
    digest = hashlib.sha256()
    digest.update(f"format={FORMAT}\nserver={server_spec}\npython={sys.version}\n".encode())
    for package in ("mcp", "pydantic"):
        digest.update(f"{package}={_dist_version(package)}\n".encode())
    module = (server_spec or "agentcore_mcp.server.sample:").partition(":")[0]
    roots = {*_locations("agentcore_mcp"), *_locations(module.partition(".")[0])}
    count = 0
    for root in sorted(roots):
        for path in _source_files(root):
            count += 1
            if count > MAX_SOURCE_FILES:
                raise ManifestUnusable(
                    f"more than {MAX_SOURCE_FILES} source files under {root}: too many to "
                    "fingerprint at each start"
                )
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_manifest(path: str | os.PathLike[str], server_spec: str | None) -> StartupManifest:
    """The manifest at `path` if it was recorded from this server spec and this code."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestUnusable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        manifest = StartupManifest.from_json(text)
    except (ValueError, KeyError) as exc:
        raise ManifestUnusable(f"{path} is not a startup manifest: {exc}") from None
    if manifest.server_spec != server_spec:
        raise ManifestUnusable(
            f"{path} was recorded for server spec {manifest.server_spec!r}, not {server_spec!r}"
        )
    if manifest.fingerprint != source_fingerprint(server_spec):
        raise ManifestUnusable(
            f"{path} is stale: the code or packages changed since it was written "
            "(run `agentcore-mcp manifest` again)"
        )
    return manifest


# --- recording (loads the server) --------------------------------------------------------


def canonical_requests() -> list[tuple[str, str, dict[str, Any], list[tuple[bytes, bytes]]]]:
    """(key, method, params, extra headers) for every result a manifest records."""
    requests: list[tuple[str, str, dict[str, Any], list[tuple[bytes, bytes]]]] = []
    for version in HANDSHAKE_PROTOCOL_VERSIONS:
        init = {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO}
        requests.append((f"initialize@{version}", "initialize", init, []))
        for method in ("ping", "tools/list"):
            header = [(b"mcp-protocol-version", version.encode())]
            requests.append((f"{method}@{version}", method, {}, header))
    for version in MODERN_PROTOCOL_VERSIONS:
        meta = {
            PROTOCOL_VERSION_META_KEY: version,
            CLIENT_CAPABILITIES_META_KEY: {},
            CLIENT_INFO_META_KEY: CLIENT_INFO,
        }
        for method in ("ping", "tools/list"):
            headers = [
                (b"mcp-protocol-version", version.encode()),
                (b"mcp-method", method.encode()),
            ]
            requests.append((f"{method}@{version}", method, {"_meta": meta}, headers))
    assert DEFAULT_NEGOTIATED_VERSION in HANDSHAKE_PROTOCOL_VERSIONS
    return requests


async def call_in_process(
    asgi_app: ASGIApp, body: bytes, headers: list[tuple[bytes, bytes]], path: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One POST through an ASGI app, in this process: status, headers, body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = False
    status = 0
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            # A caller that stays until the answer is complete: a disconnect now would
            # cancel the call (the SDK watches for one).
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await asgi_app(scope, receive, send)
    return status, response_headers, b"".join(chunks)


def jsonrpc_answer(content_type: bytes, body: bytes) -> Any:
    """The JSON-RPC message in a JSON body or in the last event of an SSE body."""
    if content_type.startswith(b"text/event-stream"):
        data = sse_data(body)
        return json.loads(data[-1]) if data else None
    return json.loads(body) if body else None


async def collect_results(asgi_app: ASGIApp, path: str = "/mcp") -> dict[str, Any]:
    """Ask a server's ASGI app every canonical request; keep the successful results."""
    results: dict[str, Any] = {}
    for key, method, params, headers in canonical_requests():
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        accept = [(b"accept", b"application/json, text/event-stream")]
        status, response_headers, payload = await call_in_process(
            asgi_app, body.encode(), accept + headers, path
        )
        content_type = dict(response_headers).get(b"content-type", b"")
        message = jsonrpc_answer(content_type, payload) if status == 200 else None
        if isinstance(message, dict) and "result" in message:
            results[key] = message["result"]
    return results


def write_manifest(server_spec: str | None, path: str | os.PathLike[str]) -> StartupManifest:
    """Load the server, record its handshake answers and write them to `path` atomically."""
    import anyio

    from agentcore_mcp.server.app import McpFront, build_asgi_app
    from agentcore_mcp.server.loader import load_server
    from agentcore_mcp.server.settings import ServerSettings

    fingerprint = source_fingerprint(server_spec)
    settings = ServerSettings(log_level="warning")
    front = build_asgi_app(load_server(server_spec), settings)
    assert isinstance(front, McpFront)

    async def record() -> dict[str, Any]:
        async with front.dispatcher.lifespan():
            return await collect_results(front, settings.path)

    results = anyio.run(record)
    manifest = StartupManifest(
        server_spec=server_spec,
        fingerprint=fingerprint,
        results=results,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # Not a secret (tool names and schemas), and read by the server's user in an image
    # that another user may have built.
    write_atomically(Path(path), manifest.to_json(), mode=0o644, dir_mode=0o755)
    return manifest
