"""Every private `mcp` SDK name the project uses, in one place.

The fast path and the keep-alive setting lean on a handful of SDK internals that are
not part of its public API. A new `mcp` release may rename any of them; keeping every
use here means such a release breaks this module and `tests/server/test_sdk_compat.py`
(which names the versions these were checked against), not the hot path.

`missing_internals` reports which internals an installed SDK lacks. The fast path asks
it once, when its dispatcher is built, and hands every request to the SDK's own
transport (with a single warning) when one of its internals is gone.

`MCP_SDK_COMPAT_HIDE` (a comma-separated list of the names in `INTERNALS`, or `all`)
makes this module report those internals as missing although they are present: the
way the tests run the server as it would behave on an SDK without them. It is read when
asked, not per request.

`sdk_models_deferred` is the one use of pydantic internals (see its docstring): checked
against `CHECKED_PYDANTIC_VERSIONS`; on any other pydantic, or with `PYDANTIC_DEFER` in
`MCP_SDK_COMPAT_HIDE`, it does nothing and the SDK imports as it always did.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.prompts.base import Prompt
    from mcp.server.mcpserver.tools.base import Tool
    from mcp.server.runner import ServerRunner

__all__ = [
    "CHECKED_MCP_VERSIONS",
    "CHECKED_PYDANTIC_VERSIONS",
    "FAST_PATH_INTERNALS",
    "HIDE_ENV",
    "INTERNALS",
    "PYDANTIC_DEFER",
    "Internal",
    "SdkCompatError",
    "fast_path_missing",
    "get_prompt",
    "get_tool",
    "lowlevel_server",
    "missing_internals",
    "otel_middleware_type",
    "pydantic_defer_usable",
    "registered_tools",
    "sdk_models_deferred",
    "serializer",
    "set_modern_sse_ping_interval",
    "tool_lookups",
]

logger = logging.getLogger("agentcore_mcp.server")

# The `mcp` releases every internal below was read in and tested against.
CHECKED_MCP_VERSIONS = ("2.3.0",)

# The pydantic releases `sdk_models_deferred` was read in and tested against.
CHECKED_PYDANTIC_VERSIONS = ("2.14.3",)

HIDE_ENV = "MCP_SDK_COMPAT_HIDE"

# The name `MCP_SDK_COMPAT_HIDE` takes to turn `sdk_models_deferred` off.
PYDANTIC_DEFER = "pydantic.defer_build"

# A module the SDK's import window is over: once loaded, the window has nothing to do.
_SDK_MODULE = "mcp.server.mcpserver"


class SdkCompatError(RuntimeError):
    """The installed `mcp` SDK lacks an internal this project cannot do without."""


@dataclass(frozen=True)
class Internal:
    """One private SDK name: where it lives and what the project uses it for."""

    name: str
    module: str
    owner: str | None  # a class in `module` holding `attribute`, or None for the module
    attribute: str
    instance: bool  # set in `owner.__init__`, so only visible on an instance
    used_for: str


INTERNALS: tuple[Internal, ...] = (
    Internal(
        "MCPServer._lowlevel_server",
        "mcp.server.mcpserver.server",
        "MCPServer",
        "_lowlevel_server",
        True,
        "the low-level Server both dispatchers hand to the SDK's session managers",
    ),
    Internal(
        "MCPServer._tool_manager",
        "mcp.server.mcpserver.server",
        "MCPServer",
        "_tool_manager",
        True,
        "the fast path's tool lookup and tools/list cache key",
    ),
    Internal(
        "MCPServer._prompt_manager",
        "mcp.server.mcpserver.server",
        "MCPServer",
        "_prompt_manager",
        True,
        "prompt lookup (the conformance test server)",
    ),
    Internal(
        "ServerRunner._serialize",
        "mcp.server.runner",
        "ServerRunner",
        "_serialize",
        False,
        "the fast path's per-version result serializer",
    ),
    Internal(
        "mcp.server._otel.OpenTelemetryMiddleware",
        "mcp.server._otel",
        None,
        "OpenTelemetryMiddleware",
        False,
        "telling the SDK's built-in middleware from a user's (the fast path's eligibility)",
    ),
    Internal(
        "mcp.server._streamable_http_modern._SSE_PING_INTERVAL",
        "mcp.server._streamable_http_modern",
        None,
        "_SSE_PING_INTERVAL",
        False,
        "the 2026-07-28 SSE keep-alive interval (SSE_KEEPALIVE_SECONDS)",
    ),
)

_BY_NAME = {internal.name: internal for internal in INTERNALS}

# What the fast path cannot answer without; lacking one, every request goes to the SDK.
FAST_PATH_INTERNALS = (
    "MCPServer._tool_manager",
    "ServerRunner._serialize",
    "mcp.server._otel.OpenTelemetryMiddleware",
)


def _hidden() -> frozenset[str]:
    raw = os.environ.get(HIDE_ENV, "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    if "all" in names:
        return frozenset({*_BY_NAME, PYDANTIC_DEFER})
    return frozenset(names)


def _present(internal: Internal, server: Any) -> bool:
    try:
        module = importlib.import_module(internal.module)
    except ImportError:
        return False
    if internal.owner is None:
        return hasattr(module, internal.attribute)
    owner = getattr(module, internal.owner, None)
    if owner is None:
        return False
    if internal.instance:
        # Instance attributes: checked on the server at hand when there is one.
        if server is None or not isinstance(server, owner):
            return True
        return hasattr(server, internal.attribute)
    return hasattr(owner, internal.attribute)


def missing_internals(server: Any = None, names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The internals (of `names`, default all) this SDK lacks, or `HIDE_ENV` hides.

    Instance attributes are checked on `server` when it is an `MCPServer`.
    """
    hidden = _hidden()
    wanted = names if names is not None else tuple(_BY_NAME)
    return tuple(name for name in wanted if name in hidden or not _present(_BY_NAME[name], server))


def fast_path_missing(server: Any) -> tuple[str, ...]:
    """The fast path's internals this SDK lacks for `server` (empty: it can run)."""
    return missing_internals(server, FAST_PATH_INTERNALS)


def _require(server: Any, name: str) -> None:
    if missing_internals(server, (name,)):
        internal = _BY_NAME[name]
        raise SdkCompatError(
            f"the installed mcp SDK has no {name} (used for {internal.used_for}); "
            f"agentcore-mcp was checked against mcp {', '.join(CHECKED_MCP_VERSIONS)}"
        )


def lowlevel_server(server: MCPServer[Any] | Server[Any]) -> Server[Any]:
    """The low-level `Server` behind an `MCPServer` (or the server itself)."""
    from mcp.server.mcpserver import MCPServer

    if isinstance(server, MCPServer):
        _require(server, "MCPServer._lowlevel_server")
        lowlevel: Server[Any] = server._lowlevel_server
        return lowlevel
    return server


def tool_lookups(
    server: MCPServer[Any],
) -> tuple[Callable[[str], Tool | None], Callable[[], list[Tool]]]:
    """`(get_tool, list_tools)` of the server's tool registry, bound once.

    Bound methods, so a caller on the hot path pays no more than the attribute lookups
    it would make itself.
    """
    manager = server._tool_manager
    return manager.get_tool, manager.list_tools


def get_tool(server: MCPServer[Any], name: str) -> Tool | None:
    """The registered tool called `name`, if any."""
    tool: Tool | None = server._tool_manager.get_tool(name)
    return tool


def registered_tools(server: MCPServer[Any]) -> list[Tool]:
    """The registered tools, in registration order."""
    tools: list[Tool] = server._tool_manager.list_tools()
    return tools


def get_prompt(server: MCPServer[Any], name: str) -> Prompt | None:
    """The registered prompt called `name`, if any."""
    prompt: Prompt | None = server._prompt_manager.get_prompt(name)
    return prompt


def serializer(runner: ServerRunner[Any]) -> Callable[[str, str, Any], dict[str, Any]]:
    """`runner._serialize`, bound: `(method, version, result)` to the wire dump."""
    serialize: Callable[[str, str, Any], dict[str, Any]] = runner._serialize
    return serialize


def otel_middleware_type() -> type:
    """The SDK's OpenTelemetry middleware class (built in, not a user's middleware)."""
    from mcp.server._otel import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware


def set_modern_sse_ping_interval(seconds: float) -> bool:
    """Set the 2026-07-28 SSE keep-alive interval; False (and a warning) if it cannot be.

    The SDK exposes no parameter for it: the module-level default is the only knob.
    """
    name = "mcp.server._streamable_http_modern._SSE_PING_INTERVAL"
    if missing_internals(None, (name,)):
        logger.warning(
            "the installed mcp SDK has no %s: 2026-07-28 SSE keep-alives keep the SDK's "
            "own interval (agentcore-mcp was checked against mcp %s)",
            name,
            ", ".join(CHECKED_MCP_VERSIONS),
        )
        return False
    from mcp.server import _streamable_http_modern

    _streamable_http_modern._SSE_PING_INTERVAL = seconds
    return True


def pydantic_defer_usable() -> str | None:
    """None if `sdk_models_deferred` can defer on this pydantic, else why not."""
    if PYDANTIC_DEFER in _hidden():
        return f"{HIDE_ENV} hides {PYDANTIC_DEFER}"
    # pydantic's own constant, not importlib.metadata: that import and its scan of the
    # path cost more than a few milliseconds on a cold start.
    from pydantic.version import VERSION as installed

    if installed not in CHECKED_PYDANTIC_VERSIONS:
        return (
            f"pydantic {installed} is not one of {', '.join(CHECKED_PYDANTIC_VERSIONS)} "
            "(the versions its internals were checked in)"
        )
    from pydantic import type_adapter
    from pydantic._internal import _config

    defaults = getattr(_config, "config_defaults", None)
    if not isinstance(defaults, dict) or defaults.get("defer_build") is not False:
        return "pydantic._internal._config.config_defaults has no defer_build default"
    if not isinstance(type_adapter.TypeAdapter.__dict__.get("_defer_build"), property):
        return "pydantic.type_adapter.TypeAdapter has no _defer_build property"
    return None


@contextlib.contextmanager
def sdk_models_deferred() -> Iterator[None]:
    """Import the `mcp` SDK inside this block: its pydantic models are built on first use.

    `import mcp` defines about 550 pydantic models and a few module-level `TypeAdapter`s,
    and builds a validator and a serializer for each: a third of the import's CPU, most
    of it for models a given server never uses. Inside the block, pydantic's own
    `defer_build` applies to every model and adapter defined (the process-wide default
    `config_defaults['defer_build']`, and `TypeAdapter._defer_build`, which is otherwise
    read from the adapted type's config only): each is built, by pydantic, the first time
    it validates or serializes, exactly as it would have been at import. The models'
    configs are untouched (the default is read at class creation, not stored), so a
    subclass or a model defined after the block is built at once as usual: the user's
    own models, the tools' argument models built at `@tool()`, are not affected.

    Both are restored on the way out. Nothing is changed when the SDK is already loaded
    (there is nothing to defer), or when `pydantic_defer_usable` says no: the import
    then happens as it always did.
    """
    if _SDK_MODULE in sys.modules:
        yield
        return
    unusable = pydantic_defer_usable()
    if unusable is not None:
        logger.debug("the mcp SDK's models are built at import: %s", unusable)
        yield
        return
    from pydantic import type_adapter
    from pydantic._internal import _config

    adapter_class: Any = type_adapter.TypeAdapter
    adapter_default = adapter_class.__dict__["_defer_build"]
    _config.config_defaults["defer_build"] = True
    adapter_class._defer_build = property(lambda self: True)
    try:
        yield
    finally:
        adapter_class._defer_build = adapter_default
        _config.config_defaults["defer_build"] = False
