"""HTTP/1.1 limits uvicorn does not enforce itself, for every server this project runs.

uvicorn's httptools protocol accepts a request head of any size, and it builds a header
value by concatenating the pieces it reads: a 64 MB header took 7 s of the event loop
to refuse (quadratic), stalling every other client. Nor does it time out a client that
trickles its head or stops sending its body: each such connection holds a file
descriptor for ever.

`limited_http_protocol` returns an `HttpToolsProtocol` subclass for
`uvicorn.Config(http=...)` that

- feeds the parser at most `max_head_bytes` of a request head (request line and
  headers) and answers anything longer with 431, so the parser's cost stays bounded;
- gives a request head `read_timeout` seconds to arrive in full, and a request body
  `read_timeout` seconds between two reads, and answers 408 when that passes;
- gives a request body, in total, `body_grace` seconds (60 by default) plus one second
  per `min_body_rate` bytes received (64 KiB/s by default: a 100 MB body has 27
  minutes), and answers 408 when that passes: a client trickling a byte now and then
  resets the pause timeout for ever, but not this one.

Time the server itself spends not reading (flow control while the ASGI app is busy, a
pipelined request waiting its turn) counts toward neither. Idle keep-alive connections
stay uvicorn's `timeout_keep_alive` business.

The server kit (`server/run.py`) and the local AgentCore (`local/service.py`) both use
it, each with its own settings.

The subclass leans on uvicorn internals that are not its public API (the protocol's
`loop`, `transport`, `flow`, `cycle` and parser callbacks). Like `server/sdk_compat.py`
for the `mcp` SDK, this module names the uvicorn releases it was checked against
(`CHECKED_UVICORN_VERSIONS`, asserted by `tests/test_http_limits.py`); on any other
release it serves with uvicorn's own httptools protocol and logs a warning naming each
limit that is then not enforced, rather than run a subclass that may break mid-request.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from agentcore_mcp.errors import AgentCoreMcpError

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _ProtocolBase
else:
    _ProtocolBase = object  # the real base is joined in `_limited_protocol`

__all__ = [
    "CHECKED_UVICORN_VERSIONS",
    "DEFAULT_BODY_GRACE_SECONDS",
    "DEFAULT_MAX_HEAD_BYTES",
    "DEFAULT_MIN_BODY_RATE",
    "DEFAULT_READ_TIMEOUT_SECONDS",
    "LINGER_SECONDS",
    "HttpLimits",
    "HttpLimitsError",
    "limited_http_protocol",
    "limited_http_protocol_from_env",
    "protocol_for_uvicorn",
]

logger = logging.getLogger("agentcore_mcp.http_limits")

# The uvicorn releases whose `HttpToolsProtocol` the subclass below was read against and
# tests/test_http_limits.py passed on (each with `uv run --with 'uvicorn[standard]==X'`):
# every release from 0.30.0, the floor in pyproject.toml. Another gets the fallback.
# fmt: off
CHECKED_UVICORN_VERSIONS = (
    "0.30.0", "0.30.1", "0.30.2", "0.30.3", "0.30.4", "0.30.5", "0.30.6", "0.31.0", "0.31.1",
    "0.32.0", "0.32.1", "0.33.0", "0.34.0", "0.34.1", "0.34.2", "0.34.3", "0.35.0", "0.36.0",
    "0.36.1", "0.37.0", "0.38.0", "0.39.0", "0.40.0", "0.41.0", "0.42.0", "0.43.0", "0.44.0",
    "0.45.0", "0.46.0", "0.47.0", "0.48.0", "0.49.0", "0.50.0", "0.50.1", "0.50.2", "0.51.0",
    "0.52.0", "0.52.1", "0.52.2", "0.52.3", "0.52.4", "0.53.0", "0.54.0", "0.55.0",
)
# fmt: on

DEFAULT_MAX_HEAD_BYTES = 64 * 1024
DEFAULT_READ_TIMEOUT_SECONDS = 60.0
# The slowest average a request body may arrive at, past its first `body_grace`
# seconds: 64 KiB/s (0.5 Mbit/s), far below any working link, far above a trickle.
DEFAULT_MIN_BODY_RATE = 64 * 1024
DEFAULT_BODY_GRACE_SECONDS = 60.0
# After a refusal, how long the server keeps reading (and dropping) what the client is
# still sending, so that the client reads the answer instead of a connection reset.
LINGER_SECONDS = 2.0

_IDLE, _HEAD, _BODY = 0, 1, 2


class HttpLimitsError(AgentCoreMcpError, ValueError):
    """A limit with a value the server cannot use."""


@dataclass(frozen=True)
class HttpLimits:
    """The limits one server enforces, and the ends of its refusal messages.

    `head_hint`, `timeout_hint` and `body_hint` end the 431, 408 and slow-body 408
    messages (e.g. which setting raises the limit).
    """

    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS
    min_body_rate: float = DEFAULT_MIN_BODY_RATE
    body_grace: float = DEFAULT_BODY_GRACE_SECONDS
    head_hint: str = ""
    timeout_hint: str = ""
    body_hint: str = ""

    def __post_init__(self) -> None:
        if self.max_head_bytes < 1024:
            raise HttpLimitsError(
                f"the header size limit must be at least 1024, got {self.max_head_bytes}"
            )
        if not self.read_timeout > 0:
            raise HttpLimitsError(f"the read timeout must be positive, got {self.read_timeout}")
        if not self.min_body_rate > 0:
            raise HttpLimitsError(
                f"the minimum body rate must be positive, got {self.min_body_rate}"
            )
        if not self.body_grace > 0:
            raise HttpLimitsError(f"the body grace period must be positive, got {self.body_grace}")

    @property
    def head_message(self) -> str:
        return (
            f"Request Header Fields Too Large: the request line and headers exceed "
            f"{self.max_head_bytes} bytes{self.head_hint}"
        )

    @property
    def timeout_message(self) -> str:
        return (
            f"Request Timeout: no progress sending the request for {self.read_timeout:g} s"
            f"{self.timeout_hint}"
        )

    @property
    def slow_body_message(self) -> str:
        return (
            f"Request Timeout: the request body arrived slower than {self.min_body_rate:g} "
            f"bytes/s after its first {self.body_grace:g} s{self.body_hint}"
        )

    def unenforced(self) -> str:
        """Each limit, for the warning when they cannot be enforced."""
        return (
            f"request heads over {self.max_head_bytes} bytes are not refused with 431; "
            f"a request head or body stalled for {self.read_timeout:g} s is not refused "
            f"with 408; a request body slower than {self.min_body_rate:g} bytes/s after "
            f"{self.body_grace:g} s is not refused with 408"
        )


def limited_http_protocol(
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES,
    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
    *,
    min_body_rate: float = DEFAULT_MIN_BODY_RATE,
    body_grace: float = DEFAULT_BODY_GRACE_SECONDS,
    head_hint: str = "",
    timeout_hint: str = "",
    body_hint: str = "",
) -> type[asyncio.Protocol]:
    """An httptools protocol class enforcing these limits; pass it as `uvicorn.Config(http=)`.

    On a uvicorn release not in `CHECKED_UVICORN_VERSIONS`, uvicorn's own protocol and a
    warning (see `protocol_for_uvicorn`).
    """
    limits = HttpLimits(
        max_head_bytes,
        read_timeout,
        min_body_rate,
        body_grace,
        head_hint=head_hint,
        timeout_hint=timeout_hint,
        body_hint=body_hint,
    )
    return protocol_for_uvicorn(limits, importlib.metadata.version("uvicorn"))


def protocol_for_uvicorn(limits: HttpLimits, uvicorn_version: str) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn `uvicorn_version`: the limited subclass on a checked
    release; on any other, uvicorn's plain `HttpToolsProtocol` and a warning saying which
    limits are not enforced."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    if uvicorn_version in CHECKED_UVICORN_VERSIONS:
        return _limited_protocol(limits, HttpToolsProtocol)
    logger.warning(
        "uvicorn %s is not a release agentcore-mcp's HTTP limits were checked against (%s): "
        "serving with uvicorn's own protocol, so these limits are NOT enforced: %s. "
        "Install uvicorn %s to enforce them.",
        uvicorn_version,
        ", ".join(CHECKED_UVICORN_VERSIONS),
        limits.unenforced(),
        CHECKED_UVICORN_VERSIONS[-1],
    )
    return HttpToolsProtocol


def _limited_protocol(limits: HttpLimits, base: type[_ProtocolBase]) -> type[asyncio.Protocol]:
    # The class is made here, not at import: importing uvicorn's httptools protocol
    # imports httptools, which an import of this module must not need.
    return type("LimitedHttpToolsProtocol", (_LimitedHttpProtocolMixin, base), {"limits": limits})


class _LimitedHttpProtocolMixin(_ProtocolBase):
    """The limits over uvicorn's `HttpToolsProtocol` (the base `_limited_protocol` joins).

    Three pieces: the read deadline (one timer per connection, moved lazily), the uvicorn
    hooks that feed the parser a bounded head and move the deadline, and the refusal.
    """

    limits: ClassVar[HttpLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _IDLE
        self._head_seen = 0
        self._heads_done = 0
        self._deadline = 0.0
        # The body's total deadline: moved on by received bytes, never by time.
        self._body_deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False

    # --- the read deadline: one timer per connection, moved lazily --------------------

    def _start_phase(self, phase: int) -> None:
        self._phase = phase
        now = self.loop.time()
        self._deadline = now + self.limits.read_timeout
        self._body_deadline = now + self.limits.body_grace
        if self._timer is None:
            first = min(self.limits.read_timeout, self.limits.body_grace)
            self._timer = self.loop.call_later(first, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._phase == _IDLE or self._refused or self.transport.is_closing():
            return
        if self.transport.get_protocol() is not self:
            return  # upgraded to a WebSocket: that protocol owns the connection now
        now = self.loop.time()
        if self.flow is not None and self.flow.read_paused:
            # The server stopped reading, not the client: the clocks restart on resume.
            self._deadline = now + self.limits.read_timeout
            self._body_deadline = max(self._body_deadline, self._deadline)
        deadline = self._deadline
        if self._phase == _BODY:
            deadline = min(deadline, self._body_deadline)
        if now < deadline:
            self._timer = self.loop.call_later(deadline - now, self._on_timer)
            return
        if self._phase == _HEAD and self._head_seen == 0:
            self.transport.close()  # a connection that never sent a byte: just close
            return
        slow = self._phase == _BODY and now >= self._body_deadline
        message = self.limits.slow_body_message if slow else self.limits.timeout_message
        self._refuse(408, "Request Timeout", message)

    # --- uvicorn protocol hooks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A new connection gets `read_timeout` to send its first request head.
        self._start_phase(_HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        while data:
            if self._refused:
                return  # lingering after a refusal: drop what still arrives
            if self._phase == _BODY:
                self._deadline = self.loop.time() + self.limits.read_timeout  # progress
                self._body_deadline += len(data) / self.limits.min_body_rate
                super().data_received(data)
                return
            if self._phase == _IDLE:
                self._head_seen = 0
                self._start_phase(_HEAD)  # the first bytes of the next request
            room = self.limits.max_head_bytes - self._head_seen
            if len(data) <= room:
                self._head_seen += len(data)
                super().data_received(data)
                return
            # Feed only what fits: the parser never holds more than the limit.
            done = self._heads_done
            piece, data = data[:room], data[room:]
            self._head_seen += len(piece)
            if piece:
                super().data_received(piece)
            if self.transport.is_closing():
                return
            if self._heads_done == done:
                self._refuse(431, "Request Header Fields Too Large", self.limits.head_message)
                return

    def on_headers_complete(self) -> None:
        self._heads_done += 1
        # Until the parser reports the message complete, the body is being read.
        self._start_phase(_BODY)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The timer stays: it does nothing while idle, and re-arming it per request
        # would cost every request a timer.
        self._phase = _IDLE

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    # --- refusal ------------------------------------------------------------------------

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._refused = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        cycle = self.cycle
        # In the body phase `cycle` is this request's; in the head phase, the one
        # before, which may still be answering (pipelining). Either way, once its
        # response has begun nothing else can be said on the connection.
        answered = cycle is not None and cycle.response_started
        if answered and (self._phase == _BODY or not cycle.response_complete):
            self.transport.close()
            return
        if cycle is not None and not cycle.response_complete:
            # The ASGI app must not answer as well, and its receive() must end.
            cycle.response_complete = True
            cycle.disconnected = True
            cycle.message_event.set()
        if self.flow is not None:
            self.flow.resume_reading()  # keep draining, even a paused pipeline
        self.transport.write(_plain_response(status, reason, message))
        # Half-close and keep reading for a moment: closing with unread input would
        # reset the connection, and the client might never see the answer.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _plain_response(status: int, reason: str, message: str) -> bytes:
    """A whole `connection: close` text/plain response, written straight to the socket."""
    body = message.encode("ascii", "replace")
    return b"".join(
        (
            f"HTTP/1.1 {status} {reason}\r\n".encode("ascii"),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        )
    )


def limited_http_protocol_from_env(
    prefix: str, env: dict[str, str] | None = None
) -> type[asyncio.Protocol]:
    """`limited_http_protocol` with `{prefix}MAX_HEADER_BYTES`,
    `{prefix}READ_TIMEOUT_SECONDS`, `{prefix}MIN_BODY_BYTES_PER_SECOND` and
    `{prefix}BODY_GRACE_SECONDS` from the environment, for a server without a settings
    object of its own for them (the local AgentCore)."""
    import os

    e = os.environ if env is None else env
    head_name, timeout_name = f"{prefix}MAX_HEADER_BYTES", f"{prefix}READ_TIMEOUT_SECONDS"
    rate_name = f"{prefix}MIN_BODY_BYTES_PER_SECOND"
    grace_name = f"{prefix}BODY_GRACE_SECONDS"
    try:
        max_head = int(e.get(head_name, DEFAULT_MAX_HEAD_BYTES))
        timeout = float(e.get(timeout_name, DEFAULT_READ_TIMEOUT_SECONDS))
        rate = float(e.get(rate_name, DEFAULT_MIN_BODY_RATE))
        grace = float(e.get(grace_name, DEFAULT_BODY_GRACE_SECONDS))
    except ValueError as exc:
        raise HttpLimitsError(
            f"{head_name} / {timeout_name} / {rate_name} / {grace_name}: {exc}"
        ) from None
    checked = {head_name: max_head, timeout_name: timeout, rate_name: rate, grace_name: grace}
    for name, value in checked.items():
        if not value > 0:
            raise HttpLimitsError(f"{name} must be positive, got {e.get(name)!r}")
    return limited_http_protocol(
        max_head,
        timeout,
        min_body_rate=rate,
        body_grace=grace,
        head_hint=f" (raise {head_name} to accept more)",
        timeout_hint=f" ({timeout_name})",
        body_hint=f" ({rate_name}, {grace_name})",
    )
