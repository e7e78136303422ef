"""One call to an `mcp.Client` connected to a deployed runtime, with SigV4 or OAuth.

    async with open_runtime(target_from_arn(arn)) as client:
        print(await client.list_tools())

Session affinity: one `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` per connection, so
every request of the connection reaches the same microVM (both protocol eras; the
2026-07-28 era has no `Mcp-Session-Id`). Timeouts allow AgentCore's 15-minute
synchronous and 60-minute streamed calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from mcp import Client

from agentcore_mcp.client.request_auth import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuth,
    RuntimeAuthError,
    new_runtime_session_id,
    runtime_auth,
)
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.session import ConnectOptions, DebugSink, ProtocolChoice, open_client
from agentcore_mcp.client.tokens import TokenSourceError
from agentcore_mcp.client.transport import RetryPolicy, RuntimeTransport

if TYPE_CHECKING:
    import boto3


def runtime_options(
    target: RuntimeTarget,
    *,
    auth: RuntimeAuth | None = None,
    session: boto3.Session | None = None,
    protocol: ProtocolChoice = "auto",
    debug: DebugSink | None = None,
    runtime_session_id: str | None = None,
    retry: RetryPolicy | None = None,
) -> ConnectOptions:
    chosen = auth or runtime_auth(target, session)
    return ConnectOptions(
        url=target.url,
        headers={RUNTIME_SESSION_HEADER: runtime_session_id or new_runtime_session_id()},
        auth=chosen.auth,
        protocol=protocol,
        debug=debug,
        transport=RuntimeTransport(auth_method=chosen.method, policy=retry),
    )


@contextlib.asynccontextmanager
async def open_runtime(
    target: RuntimeTarget,
    *,
    session: boto3.Session | None = None,
    protocol: ProtocolChoice = "auto",
    debug: DebugSink | None = None,
    bearer_token: str | None = None,
) -> AsyncIterator[Client]:
    """An entered `mcp.Client` connected to the runtime (the seed's `client.py --remote`)."""
    try:
        auth = runtime_auth(target, session, bearer_token=bearer_token)
    except TokenSourceError as exc:
        raise RuntimeAuthError(str(exc)) from exc
    options = runtime_options(target, auth=auth, protocol=protocol, debug=debug)
    async with open_client(options) as client:
        yield client
