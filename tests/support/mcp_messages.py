"""MCP JSON-RPC messages for raw-HTTP tests: the request bodies and the answers.

Builders return dicts (`encoded` turns one into the bytes `json.dumps` gives); parsers read
a JSON body or a `text/event-stream` body (one JSON-RPC message per event, read by the
package's one SSE decoder, `agentcore_mcp.sse`, which tests/test_sse.py holds to httpx2's).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2

from agentcore_mcp.sse import sse_data

HANDSHAKE = "2025-11-25"
MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


async def caller_stays() -> dict[str, Any]:
    """The ASGI `receive` of a request whose body was read and whose caller never leaves."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def rpc(method: str, params: dict[str, Any] | None = None, id_: Any = 1) -> dict[str, Any]:
    """A JSON-RPC request; `params` left out when None."""
    doc: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        doc["params"] = params
    return doc


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC notification (no id); `params` left out when None."""
    doc: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        doc["params"] = params
    return doc


def tool_call(name: str, arguments: Any = None, *, id_: Any = 1, **extra: Any) -> dict[str, Any]:
    """A tools/call request; `arguments` left out when None, `extra` params after the name."""
    params: dict[str, Any] = {"name": name, **extra}
    if arguments is not None:
        params["arguments"] = arguments
    return rpc("tools/call", params, id_)


def encoded(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def init_params(
    client: str = "test",
    version: str = "0",
    *,
    protocol: str = HANDSHAKE,
    capabilities: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The params of an initialize request."""
    return {
        "protocolVersion": protocol,
        "capabilities": capabilities or {},
        "clientInfo": {"name": client, "version": version},
    }


def modern_meta(client: str, version: str = "1") -> dict[str, Any]:
    """The `_meta` every 2026-07-28 request carries in place of an initialize handshake."""
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": client, "version": version},
    }


def with_modern_meta(
    params: dict[str, Any] | None, client: str, version: str = "1"
) -> dict[str, Any]:
    """`params` with the 2026-07-28 `_meta` (keys already in its `_meta` win)."""
    params = dict(params or {})
    params["_meta"] = {**modern_meta(client, version), **params.get("_meta", {})}
    return params


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    """The headers a 2026-07-28 request carries: version, method and, for tools, the name."""
    headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


def body_messages(body: bytes | str, content_type: str) -> list[Any]:
    """Every JSON-RPC message of a JSON or SSE body; none for an empty body."""
    raw = body.encode() if isinstance(body, str) else body
    if content_type.startswith("text/event-stream"):
        return [json.loads(data) for data in sse_data(raw)]
    return [json.loads(raw)] if raw else []


def messages(r: httpx2.Response) -> list[Any]:
    """Every JSON-RPC message of a response's JSON or SSE body."""
    return body_messages(r.content, r.headers.get("content-type", ""))


def final_message(docs: list[Any] | httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response (a result or an error) that ends the messages of an answer."""
    if isinstance(docs, httpx2.Response):
        docs = messages(docs)
    answers = [d for d in docs if "id" in d and ("result" in d or "error" in d)]
    assert answers, f"no JSON-RPC response among {docs!r}"
    return dict(answers[-1])
