"""`proxy --stdio`: an stdio MCP server (newline-delimited JSON-RPC, as the MCP stdio
transport frames it) whose every message goes to the runtime through the forwarder.

stdout carries protocol messages only; logs go to stderr. Requests run concurrently (a
15-minute call does not hold up a `ping`); answers are written as they arrive, SSE events
included, so progress notifications precede their result. A message is re-encoded only
when it must be: the SSE `data:` of one event spread over lines, or JSON containing a raw
newline (which stdio framing cannot carry).

The 2026-07-28 era over HTTP has routing headers (`Mcp-Method`, `Mcp-Name`,
`MCP-Protocol-Version`) and no client-to-server notifications; over stdio there are no
headers, so the proxy derives them from the message, and turns the client's
`notifications/cancelled` into closing that request's stream.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import anyio
import anyio.abc
import anyio.to_thread

from agentcore_mcp.proxy.forwarder import (
    Answer,
    Forwarder,
    ForwardError,
    ProxySession,
    error_message,
)
from agentcore_mcp.sse import SseDecoder

logger = logging.getLogger("agentcore_mcp.proxy")

PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
MAX_LINE_BYTES = 100 * 1024 * 1024  # the data plane's payload limit


# `mcp.shared.inbound.encode_header_value`, as the SDK has it (tests/proxy/test_proxy_without_sdk.py
# checks the two agree): importing it would import the whole `mcp` package, most of a
# second on the first tools/call of a proxy that otherwise never needs the SDK.
_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")
_B64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def encode_header_value(value: str) -> str:
    """`value` as an HTTP field value: verbatim when it is printable ASCII without edge
    whitespace and does not look like the sentinel; else `=?base64?...?=`."""
    if (
        _HEADER_SAFE.fullmatch(value)
        and value == value.strip()
        and not _B64_SENTINEL.fullmatch(value)
    ):
        return value
    return f"=?base64?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def routing_headers(doc: dict[str, Any], handshake_version: str | None) -> dict[str, str]:
    """The HTTP headers a Streamable HTTP client would have sent with this message.

    A message with a 2026-07-28 `_meta` envelope gets the routing headers derived from
    it; any other (but `initialize`) the version its `initialize` negotiated, if any.
    """
    headers: dict[str, str] = {}
    method = doc.get("method")
    raw_params = doc.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    raw_meta = params.get("_meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    version = meta.get(PROTOCOL_VERSION_META_KEY)
    if isinstance(version, str):
        headers["mcp-protocol-version"] = version
        if isinstance(method, str):
            headers["mcp-method"] = method
            key = NAME_BEARING_METHODS.get(method)
            if key is not None and isinstance(name := params.get(key), str):
                headers["mcp-name"] = encode_header_value(name)
    elif handshake_version and method != "initialize":
        headers["mcp-protocol-version"] = handshake_version
    return headers


def _carries_modern_envelope(doc: dict[str, Any]) -> bool:
    """Whether the message's `_meta` names a protocol version (the 2026-07-28 envelope)."""
    params = doc.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


async def sse_messages(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The data of each SSE event, as soon as the event's blank line arrives."""
    decoder = SseDecoder()
    async for chunk in chunks:
        for message in decoder.feed(chunk):
            yield message


class StdioProxy:
    def __init__(
        self, forwarder: Forwarder, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
    ) -> None:
        self.forwarder = forwarder
        self.session = ProxySession.new()
        self.stdin = stdin or sys.stdin.buffer
        self.stdout = stdout or sys.stdout.buffer
        # The version the client's `initialize` negotiated (handshake era); None before.
        self.handshake_version: str | None = None
        self.inflight: dict[Any, anyio.CancelScope] = {}
        self._out_send, self._out_recv = anyio.create_memory_object_stream[bytes](1024)

    async def run(self) -> None:
        watcher = anyio.CancelScope()

        async def watch() -> None:
            with watcher:
                await self.end_on_sigterm()

        async with anyio.create_task_group() as tg:
            if sys.platform != "win32":  # no SIGTERM delivery to handle there
                tg.start_soon(watch)
            tg.start_soon(self._writer)
            async with anyio.create_task_group() as requests:
                await self._reader(requests)
                # stdin closed: answer what is in flight, then exit (`echo ... | proxy`
                # works; an MCP client that closes stdin stops us with SIGTERM if it must).
            await self._out_send.aclose()
            # The client is gone and nothing is in flight: its runtime session ends now,
            # not at the idle timeout (15 minutes of a microVM nobody will use).
            await self.forwarder.end_session(self.session)
            watcher.cancel()  # the writer drains what is left; the watcher is done

    async def end_on_sigterm(self) -> None:
        """A client that quits with SIGTERM (rather than closing stdin, or 2 s after it,
        as the SDKs do when a call is still running): end the runtime session, then exit
        as SIGTERM would have. Exiting outright, because the stdin reader is a thread
        blocked on a read that no cancellation can interrupt."""
        with anyio.open_signal_receiver(signal.SIGTERM) as signals:
            async for _ in signals:
                await self.forwarder.end_session(self.session)
                logging.shutdown()
                os._exit(128 + signal.SIGTERM)

    async def _writer(self) -> None:
        async with self._out_recv:
            async for message in self._out_recv:
                await anyio.to_thread.run_sync(self._write, message)

    def _write(self, message: bytes) -> None:
        self.stdout.write(message + b"\n")
        self.stdout.flush()

    async def _emit(self, message: bytes) -> None:
        if b"\n" in message:
            message = json.dumps(json.loads(message), ensure_ascii=False).encode()
        await self._out_send.send(message)

    async def _reader(self, tg: anyio.abc.TaskGroup) -> None:
        stdin = anyio.wrap_file(self.stdin)
        async for raw in stdin:
            line = raw.strip()
            if not line:
                continue
            if len(line) > MAX_LINE_BYTES:
                await self._emit(error_message(None, "message too large (100 MB limit)", -32600))
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                await self._emit(error_message(None, "Parse error: not JSON", -32700))
                continue
            if not isinstance(doc, dict):
                tg.start_soon(self._forward, line, None, {})
                continue
            method = doc.get("method")
            request_id = doc.get("id")
            if method is None:
                # A client's response to a server request: forward, nothing to answer.
                tg.start_soon(self._forward, line, None, doc)
            elif "id" not in doc:
                await self._notification(line, doc, tg)
            else:
                scope = anyio.CancelScope()
                self.inflight[request_id] = scope
                tg.start_soon(self._request, line, doc, scope)

    async def _notification(
        self, line: bytes, doc: dict[str, Any], tg: anyio.abc.TaskGroup
    ) -> None:
        if doc.get("method") == "notifications/cancelled":
            params = doc.get("params") or {}
            scope = self.inflight.get(params.get("requestId"))
            if scope is not None:
                scope.cancel()  # closes that request's stream: the runtime sees the abort
            if _carries_modern_envelope(doc) or self.handshake_version is None:
                return  # the 2026-07-28 HTTP wire has no client notifications
        if _carries_modern_envelope(doc):
            return
        tg.start_soon(self._forward, line, None, doc)

    async def _request(self, line: bytes, doc: dict[str, Any], scope: anyio.CancelScope) -> None:
        try:
            with scope:
                await self._forward(line, doc.get("id"), doc)
            if scope.cancelled_caught:
                logger.info(
                    "request %r cancelled by the client: its stream to the runtime was closed",
                    doc.get("id"),
                )
        finally:
            self.inflight.pop(doc.get("id"), None)

    async def _forward(self, line: bytes, request_id: Any, doc: dict[str, Any]) -> None:
        headers = routing_headers(doc, self.handshake_version)
        try:
            response = await self.forwarder.forward(line, self.session, headers)
        except ForwardError as exc:
            logger.error("%s", exc)
            if request_id is not None:
                await self._emit(error_message(request_id, str(exc)))
            return
        try:
            await self._relay(response, request_id, doc)
        except (OSError, ValueError) as exc:  # the connection broke mid-answer
            logger.error("the answer stream broke: %s", exc)
            if request_id is not None:
                await self._emit(
                    error_message(request_id, f"the runtime's answer broke off: {exc}; retry")
                )
        finally:
            response.close()

    async def _relay(self, response: Answer, request_id: Any, doc: dict[str, Any]) -> None:
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith("text/event-stream"):
            async for message in sse_messages(response.chunks()):
                if doc.get("method") == "initialize":
                    self._remember_version(message)
                await self._emit(message)
            return
        body = await response.read()
        if request_id is None:
            if response.status_code >= 400:
                logger.warning("notification refused: HTTP %d %s", response.status_code, body[:300])
            return
        if content_type.startswith("application/json") and body:
            if doc.get("method") == "initialize":
                self._remember_version(body)
            await self._emit(body)
            return
        await self._emit(
            error_message(
                request_id,
                f"the runtime answered HTTP {response.status_code} with "
                f"{content_type or 'no content type'}: {body[:200].decode('utf-8', 'replace')}",
            )
        )

    def _remember_version(self, body: bytes) -> None:
        try:
            version = json.loads(body)["result"]["protocolVersion"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(version, str):
            self.handshake_version = version


async def run_stdio(forwarder: Forwarder) -> None:
    try:
        await StdioProxy(forwarder).run()
    finally:
        await forwarder.aclose()
