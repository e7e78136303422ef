"""The stateless fast path: hot requests answered directly, everything else by the SDK.

For each POST the SDK's stateless transport builds a transport, a task group, a stream
pair, a dispatcher and a server session, then tears them down: about 95% of the cost
of a `tools/call`. This dispatcher answers `ping`, `tools/list` and `tools/call` (for
tools that take no `Context`) in the request's own task, with the SDK's own pieces:

- the registered tools, through `MCPServer.call_tool` (argument validation, result
  conversion, output schemas), with the error handling of the SDK's `tools/call`
  handler;
- the SDK's wire serializer for each protocol version (`ServerRunner._serialize`);

The SDK internals it needs come from `sdk_compat`; when the installed SDK lacks one,
every request goes to `SdkDispatcher` instead (one warning at start).
- the SDK's JSON-RPC envelope types.

Anything it does not recognise exactly (initialize, other methods, unusual params,
tools that take a `Context` and so may report progress, log or ask the client,
servers with user middleware, unknown or unsupported versions, 2026-07-28 header
checks that fail) goes to `SdkDispatcher` unchanged, so the SDK produces the answer
and its error shapes. `tests/server/test_fast_equivalence.py` sends one corpus to both
and compares the responses field by field.

The package: `dispatcher` (classification and dispatch: `FastDispatcher`), `tools`
(running tools and its caches: `ToolRunner`) and `results` (result templates and
serialisation: `CallResultSerializer`, `QuickText`).
"""

from agentcore_mcp.server.fast.dispatcher import Fallback, FastDispatcher
from agentcore_mcp.server.fast.results import (
    CallResultSerializer,
    EncodedResult,
    QuickText,
    sdk_logger,
)
from agentcore_mcp.server.fast.tools import ToolRunner

__all__ = [
    "CallResultSerializer",
    "EncodedResult",
    "Fallback",
    "FastDispatcher",
    "QuickText",
    "ToolRunner",
    "sdk_logger",
]
