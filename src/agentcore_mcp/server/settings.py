"""Where and how the server kit listens; read from the environment and overridden by flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from agentcore_mcp.errors import AgentCoreMcpError

ResponseMode = Literal["auto", "json", "sse"]
DispatcherName = Literal["fast", "sdk"]

# AgentCore's data plane accepts 100 MB payloads; the SDK's own default (4 MiB) would
# refuse requests the platform lets through.
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
# AgentCore proxies close idle streams; the contract asks for a keep-alive at least every 15 s.
DEFAULT_SSE_KEEPALIVE_SECONDS = 10.0
# Bodies over `LARGE_BODY_BYTES` are scanned before parsing and parsed off the event
# loop. A smaller body cannot hold more than about half a million JSON values, and the
# parser itself refuses nesting deeper than 200, so scanning it would buy nothing.
LARGE_BODY_BYTES = 1024 * 1024
# Each JSON value costs Python 30-70 bytes once parsed: a million of them is ~70 MB,
# whatever the body's size. Millions of `[]` in a 99 MB body took 2.86 GB.
DEFAULT_MAX_JSON_VALUES = 1_000_000
DEFAULT_MAX_JSON_DEPTH = 128
# Large bodies parsed at once; more wait (their bytes already read, nothing parsed yet).
DEFAULT_LARGE_BODY_PARSES = 2
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_READ_TIMEOUT_SECONDS = 60.0


# The server spec (`module:attribute`) served when no argument names one.
SERVER_SPEC_ENV = "MCP_SERVER"


def server_spec_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """MCP_SERVER; None (the sample server) when it is unset or empty."""
    e = os.environ if env is None else env
    return e.get(SERVER_SPEC_ENV) or None


class SettingsError(AgentCoreMcpError, ValueError):
    """A setting has a value the server cannot use."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything `serve` needs to know, with the AgentCore contract's defaults."""

    host: str = "0.0.0.0"
    port: int = 8000
    path: str = "/mcp"
    response_mode: ResponseMode = "auto"
    sse_keepalive_seconds: float = DEFAULT_SSE_KEEPALIVE_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Browser origins allowed besides loopback ones; requests with no Origin (every
    # server-to-server caller, including AgentCore itself) are always allowed.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "warning"
    # `sdk` routes every request through the SDK's own transport (for comparison).
    dispatcher: DispatcherName = "fast"
    # Let quick sync tools run on the event loop instead of a worker thread (fast path).
    inline_sync_tools: bool = True
    # A startup manifest (`agentcore-mcp manifest`): answer the handshake from it while
    # the SDK loads. Used only when it matches the code.
    startup_manifest: str | None = None
    # Limits on large JSON bodies (see LARGE_BODY_BYTES) and on the HTTP request itself.
    max_json_values: int = DEFAULT_MAX_JSON_VALUES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    large_body_parses: int = DEFAULT_LARGE_BODY_PARSES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise SettingsError(f"MCP_PATH must start with '/', got {self.path!r}")
        if not 0 < self.port < 65536:
            raise SettingsError(f"PORT must be 1-65535, got {self.port}")
        if self.response_mode not in ("auto", "json", "sse"):
            raise SettingsError(
                f"MCP_RESPONSE_MODE must be auto, json or sse, got {self.response_mode!r}"
            )
        if self.dispatcher not in ("fast", "sdk"):
            raise SettingsError(f"MCP_DISPATCHER must be fast or sdk, got {self.dispatcher!r}")
        if not 0 < self.sse_keepalive_seconds <= 15:
            raise SettingsError("MCP_SSE_KEEPALIVE_SECONDS must be in (0, 15]")
        if self.max_body_bytes <= 0:
            raise SettingsError("MCP_MAX_BODY_BYTES must be positive")
        if self.max_json_values <= 0:
            raise SettingsError("MCP_MAX_JSON_VALUES must be positive")
        if self.max_json_depth <= 0:
            raise SettingsError("MCP_MAX_JSON_DEPTH must be positive")
        if self.large_body_parses <= 0:
            raise SettingsError("MCP_LARGE_BODY_PARSES must be positive")
        if self.max_header_bytes < 1024:
            raise SettingsError("MCP_MAX_HEADER_BYTES must be at least 1024")
        if not self.read_timeout_seconds > 0:
            raise SettingsError("MCP_READ_TIMEOUT_SECONDS must be positive")

    @property
    def normalized_path(self) -> str:
        """The path without a trailing slash; `/mcp/` is served as well."""
        return self.path.rstrip("/") or "/"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Settings from HOST, PORT, MCP_PATH, ... then explicit non-None overrides (CLI flags)."""
        e = os.environ if env is None else env
        try:
            base = cls(
                host=e.get("HOST", "0.0.0.0"),
                port=int(e.get("PORT", "8000")),
                path=e.get("MCP_PATH", "/mcp"),
                response_mode=e.get("MCP_RESPONSE_MODE", "auto"),  # type: ignore[arg-type]
                sse_keepalive_seconds=float(
                    e.get("MCP_SSE_KEEPALIVE_SECONDS", DEFAULT_SSE_KEEPALIVE_SECONDS)
                ),
                max_body_bytes=int(e.get("MCP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
                allowed_origins=tuple(
                    o.strip() for o in e.get("MCP_ALLOWED_ORIGINS", "").split(",") if o.strip()
                ),
                log_level=e.get("LOG_LEVEL", "warning").lower(),
                dispatcher=e.get("MCP_DISPATCHER", "fast"),  # type: ignore[arg-type]
                inline_sync_tools=_inline_setting(e.get("MCP_INLINE_SYNC_TOOLS", "auto")),
                startup_manifest=e.get("MCP_STARTUP_MANIFEST") or None,
                max_json_values=int(e.get("MCP_MAX_JSON_VALUES", DEFAULT_MAX_JSON_VALUES)),
                max_json_depth=int(e.get("MCP_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)),
                large_body_parses=int(e.get("MCP_LARGE_BODY_PARSES", DEFAULT_LARGE_BODY_PARSES)),
                max_header_bytes=int(e.get("MCP_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES)),
                read_timeout_seconds=float(
                    e.get("MCP_READ_TIMEOUT_SECONDS", DEFAULT_READ_TIMEOUT_SECONDS)
                ),
            )
        except ValueError as exc:
            if isinstance(exc, SettingsError):
                raise
            raise SettingsError(f"bad setting: {exc}") from exc
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given) if given else base  # type: ignore[arg-type]


def _inline_setting(value: str) -> bool:
    if value not in ("auto", "never"):
        raise SettingsError(f"MCP_INLINE_SYNC_TOOLS must be auto or never, got {value!r}")
    return value == "auto"
