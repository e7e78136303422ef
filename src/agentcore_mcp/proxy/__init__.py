"""A SigV4/OAuth proxy that makes a deployed runtime reachable from any MCP client.

One forwarder (`Forwarder`: sign or bearer, stream, affinity, session recovery) under two
front doors: `run_stdio` (an stdio MCP server) and `serve_http` (Streamable HTTP on
127.0.0.1). Layering: proxy -> client -> auth; nothing here imports deploy/ or local/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.proxy.forwarder import Forwarder, ForwardError, ProxySession

if TYPE_CHECKING:
    import boto3

    from agentcore_mcp.client.runtime import RuntimeTarget

__all__ = ["ForwardError", "Forwarder", "ProxySession", "make_forwarder", "run_proxy"]


def make_forwarder(
    target: RuntimeTarget,
    session: boto3.Session | None = None,
    *,
    bearer_token: str | None = None,
) -> Forwarder:
    from agentcore_mcp.client.request_auth import runtime_auth

    return Forwarder(target, runtime_auth(target, session, bearer_token=bearer_token))


async def run_proxy(
    target: RuntimeTarget,
    *,
    port: int | None = None,
    session: boto3.Session | None = None,
    bearer_token: str | None = None,
    path: str = "/mcp",
    caller_token: str | None = None,
) -> None:
    """`proxy --stdio` when `port` is None, else `proxy --port`; `caller_token`, when
    given, is what every HTTP caller must send as `Authorization: Bearer`."""
    forwarder = make_forwarder(target, session, bearer_token=bearer_token)
    if port is None:
        from agentcore_mcp.proxy.stdio import run_stdio

        await run_stdio(forwarder)
    else:
        from agentcore_mcp.proxy.http import serve_http

        await serve_http(forwarder, port, path=path, caller_token=caller_token)
