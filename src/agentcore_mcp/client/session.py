"""Open an official `mcp` client to a Streamable HTTP URL, with auth and HTTP tracing.

The client defaults differ from the SDK's where AgentCore needs it: the read timeout
is 60 minutes (AgentCore's streaming limit) instead of the 60-second defaults that
made long tool calls fail in the original scripts.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from mcp import Client
from mcp_types import CallToolResult, Tool

from agentcore_mcp.client.request_auth import redact_headers

# AgentCore's own limits: 15 min synchronous, 60 min streamed.
DEFAULT_READ_TIMEOUT_SECONDS = 3600.0
MAX_SSE_EVENT_BYTES = 100 * 1024 * 1024
# "handshake": the era whose clients negotiate a version with `initialize` (the SDK's
# `Client(mode="legacy")`); "2026-07-28": that era's stateless requests; "auto": probe
# `server/discover` and fall back to the handshake.
ProtocolChoice = Literal["auto", "handshake", "2026-07-28"]
DebugSink = Callable[[str], None]


def debug_hooks(sink: DebugSink) -> dict[str, list[Callable[..., Any]]]:
    async def on_request(request: httpx2.Request) -> None:
        sink(f"> {request.method} {request.url}")
        for k, v in redact_headers(dict(request.headers)).items():
            sink(f"> {k}: {v}")
        body = request.content if isinstance(request.stream, httpx2.ByteStream) else b""
        if body:
            sink(f"> {body.decode('utf-8', 'replace')}")

    async def on_response(response: httpx2.Response) -> None:
        sink(f"< {response.status_code} {response.reason_phrase}")
        for k, v in redact_headers(dict(response.headers)).items():
            sink(f"< {k}: {v}")

    return {"request": [on_request], "response": [on_response]}


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How to reach one MCP endpoint."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: httpx2.Auth | None = None
    protocol: ProtocolChoice = "auto"
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS
    debug: DebugSink | None = None
    # The runtime connection passes its retrying/explaining transport (client/transport.py).
    transport: httpx2.AsyncBaseTransport | None = None
    # End the MCP session with a DELETE when the client is done (the server gave it an
    # Mcp-Session-Id): a one-shot command leaves nothing behind. Off for AgentCore's data
    # plane, which accepts only POST; `open_runtime` ends the runtime session instead.
    terminate_session: bool = True


def sdk_mode(protocol: str) -> str:
    """The `mcp.Client(mode=)` value for a `ProtocolChoice`: the SDK calls the handshake
    era "legacy"."""
    return "legacy" if protocol == "handshake" else protocol


def make_http_client(options: ConnectOptions) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        headers=dict(options.headers),
        auth=options.auth,
        timeout=httpx2.Timeout(30.0, read=options.read_timeout_seconds),
        event_hooks=debug_hooks(options.debug) if options.debug else None,
        transport=options.transport,
    )


@contextlib.asynccontextmanager
async def open_client(options: ConnectOptions) -> AsyncIterator[Client]:
    """An entered `mcp.Client` for the endpoint; closes the HTTP client afterwards.

    A failure leaves as its first leaf exception (e.g. the `MCPError` of a JSON-RPC
    error, with its code and message), not as the SDK's task group's
    "ExceptionGroup: unhandled errors in a TaskGroup".
    """
    from mcp.client.streamable_http import streamable_http_client

    try:
        async with make_http_client(options) as http:
            transport = streamable_http_client(
                options.url,
                http_client=http,
                terminate_on_close=options.terminate_session,
                # AgentCore's payload limit; the SDK's 1 MiB default fails large streamed
                # results.
                max_sse_event_size=MAX_SSE_EVENT_BYTES,
            )
            async with Client(
                transport,
                mode=sdk_mode(options.protocol),
                read_timeout_seconds=options.read_timeout_seconds,
            ) as client:
                yield client
    except BaseExceptionGroup as group:
        leaf = first_leaf(group)
        if isinstance(leaf, Exception):
            raise leaf from None
        raise


def describe_failure(exc: BaseException) -> str:
    """One line for a client failure: `JSON-RPC error CODE: MESSAGE` for an error the
    server (or the data plane) answered, else `Type: message` of the first leaf."""
    from mcp.shared.exceptions import MCPError

    leaf = first_leaf(exc)
    if isinstance(leaf, MCPError):
        return f"JSON-RPC error {leaf.error.code}: {leaf.error.message}"
    return f"{type(leaf).__name__}: {leaf}"


def first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested exception groups (the one that ended the group)."""
    for _ in range(100):  # groups nest a few levels deep, never a hundred
        if not isinstance(exc, BaseExceptionGroup) or not exc.exceptions:
            break
        exc = exc.exceptions[0]
    return exc


async def list_tools(options: ConnectOptions) -> list[Tool]:
    async with open_client(options) as client:
        return list((await client.list_tools()).tools)


async def call_tool(
    options: ConnectOptions,
    name: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    on_progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None,
) -> CallToolResult:
    async with open_client(options) as client:
        kwargs: dict[str, Any] = {}
        if on_progress is not None:
            kwargs["progress_callback"] = on_progress
        result = await client.call_tool(name, dict(arguments or {}), **kwargs)
        if not isinstance(result, CallToolResult):
            raise TypeError(f"unexpected result type {type(result).__name__}")
        return result


def parse_arguments(args_json: str | None, pairs: list[str]) -> dict[str, Any]:
    """Merge `--args '{...}'` with `-a key=value` pairs; values parse as JSON when they can."""
    arguments: dict[str, Any] = {}
    if args_json:
        loaded = json.loads(args_json)
        if not isinstance(loaded, dict):
            raise ValueError("--args must be a JSON object")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"-a expects key=value, got {pair!r}")
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw
    return arguments
