"""One call to an `mcp.Client` connected to a deployed runtime, with SigV4 or OAuth.

    async with open_runtime(target_from_arn(arn)) as client:
        print(await client.list_tools())

Session affinity: one `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` per connection, so
every request of the connection reaches the same microVM (both protocol eras; the
2026-07-28 era has no `Mcp-Session-Id`). Timeouts allow AgentCore's 15-minute
synchronous and 60-minute streamed calls.

The session ends with the connection: on exit `open_runtime` calls StopRuntimeSession
(`POST /runtimes/{arn}/stopruntimesession`, signed like the invocations: SigV4, or the
bearer token of an OAuth runtime), bounded in time; a failure is a warning. Otherwise
each one-shot client would leave a microVM running (and billed) until the runtime's
idle timeout, and a local AgentCore would refuse new sessions at its bound. No MCP
DELETE: the data plane accepts only POST.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio
from mcp import Client

from agentcore_mcp.client.request_auth import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuth,
    RuntimeAuthError,
    new_runtime_session_id,
    runtime_auth,
)
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.runtime_session import stop_runtime_session
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
        terminate_session=False,  # the data plane is POST-only: StopRuntimeSession instead
    )


@contextlib.asynccontextmanager
async def open_runtime(
    target: RuntimeTarget,
    *,
    session: boto3.Session | None = None,
    protocol: ProtocolChoice = "auto",
    debug: DebugSink | None = None,
    bearer_token: str | None = None,
    auth: RuntimeAuth | None = None,
    headers: Mapping[str, str] | None = None,
    end_session: bool = True,
) -> AsyncIterator[Client]:
    """An entered `mcp.Client` connected to the runtime (the original `client.py --remote`).

    On exit the runtime session ends (StopRuntimeSession, see the module doc) unless
    `end_session` is False. Failures reach the caller as the leaf exception (an
    `MCPError` with the JSON-RPC code and message, an httpx2 error, ...), never as an
    exception group.
    """
    if auth is None:
        try:
            auth = runtime_auth(target, session, bearer_token=bearer_token)
        except TokenSourceError as exc:
            raise RuntimeAuthError(str(exc)) from exc
    session_id = new_runtime_session_id()
    options = runtime_options(
        target, auth=auth, protocol=protocol, debug=debug, runtime_session_id=session_id
    )
    if headers:
        options = replace(options, headers={**options.headers, **headers})
    transport = options.transport
    try:
        async with open_client(options) as client:
            yield client
    finally:
        # Only a session the runtime answered on can exist: a refused first request
        # (auth, quota) started none, and a stop would be one more refusal to report.
        answered = isinstance(transport, RuntimeTransport) and transport.answered > 0
        if end_session and answered:
            with anyio.CancelScope(shield=True):
                await stop_runtime_session(target, auth, session_id, debug=debug)
