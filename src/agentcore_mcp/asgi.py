"""Small ASGI pieces shared by the server kit and the local AgentCore."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from starlette.types import Receive, Send


def split_host(host: str) -> str:
    """The host name of a `Host` header or an origin's authority, without the port."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8700
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def is_loopback_host(hostname: str) -> bool:
    """`localhost`, any `*.localhost` (RFC 6761 keeps them on this machine), 127.0.0.0/8
    and ::1. A name that merely resolves to 127.0.0.1 does not count: that is what a DNS
    rebinding attack looks like."""
    name = hostname.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_origin(origin: str) -> bool:
    """A browser `Origin` of an http(s) page on a loopback host (see `is_loopback_host`).
    The one rule of every loopback door: the server kit's, the proxy's, the local
    AgentCore's. An origin has no user part: `http://localhost:80@evil.example` is not one."""
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return False
    authority = rest.split("/", 1)[0]
    return "@" not in authority and is_loopback_host(split_host(authority))


def is_json_content_type(value: str) -> bool:
    """`application/json`, parameters (`; charset=utf-8`) and case aside."""
    return value.split(";", 1)[0].strip().lower() == "application/json"


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class ClientDisconnected(Exception):
    """The client went away: before it finished sending the body, or before the answer."""


def declared_too_large(content_length: bytes | str | None, limit: int | None) -> bool:
    """Whether a Content-Length header already says the body is over `limit`."""
    if content_length is None or limit is None:
        return False
    text = content_length.decode("latin-1") if isinstance(content_length, bytes) else content_length
    return text.isdigit() and int(text) > limit


def replay_body(body: bytes, receive: Receive) -> Receive:
    """An ASGI `receive` for an app downstream of one that has read the body already: the
    body once, then the connection's own messages (`http.disconnect` when the caller
    leaves, which is how an app knows to cancel work nobody will read)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay


async def until_disconnected(receive: Receive) -> None:
    """Return once the client has gone, for a request whose body was read in full.

    Servers also say `http.disconnect` once the response is complete, so a caller that
    must tell the two apart tracks its own last write.
    """
    while (await receive())["type"] != "http.disconnect":
        pass


_T = TypeVar("_T")


async def unless_client_leaves(work: Awaitable[_T], receive: Receive) -> _T:
    """`await work`, cancelled with `ClientDisconnected` if the client leaves first.

    For work done before the answer is complete: once it is, servers say
    `http.disconnect` too. `work`'s own exceptions come out as they are, not in a group.
    """
    import anyio  # only on the paths that need it: the server's front imports this module

    results: list[_T] = []
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            await until_disconnected(receive)
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        try:
            results.append(await work)
        except Exception as exc:
            failure = exc
        tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if not results:
        raise ClientDisconnected("the client left before the answer was complete")
    return results[0]


async def serve_lifespan(
    receive: Receive,
    send: Send,
    *,
    startup: Callable[[], None] | None = None,
    shutdown: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Answer an ASGI `lifespan` scope: `startup()` before startup is complete, `await
    shutdown()` before shutdown is, then return."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if startup is not None:
                startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if shutdown is not None:
                await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """Read the whole body, failing as soon as it passes `limit` rather than after."""
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: one message
        if limit is not None and len(body) > limit:
            raise BodyTooLarge
        return body
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("client disconnected while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            # Dropped before raising: the exception's traceback holds this frame, and a
            # caller's handler may keep the exception (a cycle only a full collection
            # breaks), which kept every refused 100 MB body in memory.
            chunks.clear()
            del chunk, message
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


async def send_body(
    send: Send, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> None:
    """A complete response: status, headers (JSON content type unless given), body."""
    fields = {"content-type": "application/json", **(headers or {})}
    fields["content-length"] = str(len(body))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, doc: Any, headers: Mapping[str, str] | None = None
) -> None:
    """`doc` as an ASCII JSON body (so no raw U+2028 and kin can reach a client)."""
    await send_body(send, status, json.dumps(doc, default=str).encode(), headers)
