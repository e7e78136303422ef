"""MCP clients for plain URLs and AgentCore runtime URLs.

The names below load on first use: `agentcore_mcp.client.runtime` (ARNs, URLs, targets)
is light, while the sessions import the `mcp` SDK, which costs most of a second. The CLI
resolves a target on every `tools`/`proxy`/`connect` command and should not pay for the
SDK until it talks MCP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.lazy import lazy_exports

if TYPE_CHECKING:
    from agentcore_mcp.client.probe import AuthProbe, probe_auth, test_auth
    from agentcore_mcp.client.remote import open_runtime, runtime_options
    from agentcore_mcp.client.request_auth import (
        RUNTIME_SESSION_HEADER,
        RuntimeAuth,
        RuntimeAuthError,
        boto_session,
        new_runtime_session_id,
        runtime_auth,
    )
    from agentcore_mcp.client.runtime import (
        DEFAULT_QUALIFIER,
        AuthMethod,
        RuntimeTarget,
        RuntimeTargetError,
        RuntimeTargetUsageError,
        data_plane_endpoint,
        invocation_url,
        parse_arn,
        runtime_arn,
        target_from_arn,
        target_from_ssm,
        target_from_url,
    )
    from agentcore_mcp.client.runtime_session import stop_runtime_session
    from agentcore_mcp.client.session import (
        ConnectOptions,
        call_tool,
        list_tools,
        open_client,
        parse_arguments,
    )
    from agentcore_mcp.client.tokens import (
        BearerAuth,
        CognitoTokenSource,
        StaticTokenSource,
        TokenSourceError,
    )
    from agentcore_mcp.client.transport import RetryPolicy, RuntimeTransport, explain_refusal

__all__ = [
    "DEFAULT_QUALIFIER",
    "RUNTIME_SESSION_HEADER",
    "AuthMethod",
    "AuthProbe",
    "BearerAuth",
    "CognitoTokenSource",
    "ConnectOptions",
    "RetryPolicy",
    "RuntimeAuth",
    "RuntimeAuthError",
    "RuntimeTarget",
    "RuntimeTargetError",
    "RuntimeTargetUsageError",
    "RuntimeTransport",
    "StaticTokenSource",
    "TokenSourceError",
    "boto_session",
    "call_tool",
    "data_plane_endpoint",
    "explain_refusal",
    "invocation_url",
    "list_tools",
    "new_runtime_session_id",
    "open_client",
    "open_runtime",
    "parse_arguments",
    "parse_arn",
    "probe_auth",
    "runtime_arn",
    "runtime_auth",
    "runtime_options",
    "stop_runtime_session",
    "target_from_arn",
    "target_from_ssm",
    "target_from_url",
    "test_auth",
]

_HOMES = {
    "AuthMethod": "agentcore_mcp.client.runtime",
    "AuthProbe": "agentcore_mcp.client.probe",
    "BearerAuth": "agentcore_mcp.client.tokens",
    "CognitoTokenSource": "agentcore_mcp.client.tokens",
    "ConnectOptions": "agentcore_mcp.client.session",
    "DEFAULT_QUALIFIER": "agentcore_mcp.client.runtime",
    "RUNTIME_SESSION_HEADER": "agentcore_mcp.client.request_auth",
    "RetryPolicy": "agentcore_mcp.client.transport",
    "RuntimeAuth": "agentcore_mcp.client.request_auth",
    "RuntimeAuthError": "agentcore_mcp.client.request_auth",
    "RuntimeTarget": "agentcore_mcp.client.runtime",
    "RuntimeTargetError": "agentcore_mcp.client.runtime",
    "RuntimeTargetUsageError": "agentcore_mcp.client.runtime",
    "RuntimeTransport": "agentcore_mcp.client.transport",
    "StaticTokenSource": "agentcore_mcp.client.tokens",
    "TokenSourceError": "agentcore_mcp.client.tokens",
    "boto_session": "agentcore_mcp.client.request_auth",
    "call_tool": "agentcore_mcp.client.session",
    "data_plane_endpoint": "agentcore_mcp.client.runtime",
    "explain_refusal": "agentcore_mcp.client.transport",
    "invocation_url": "agentcore_mcp.client.runtime",
    "list_tools": "agentcore_mcp.client.session",
    "new_runtime_session_id": "agentcore_mcp.client.request_auth",
    "open_client": "agentcore_mcp.client.session",
    "open_runtime": "agentcore_mcp.client.remote",
    "parse_arguments": "agentcore_mcp.client.session",
    "parse_arn": "agentcore_mcp.client.runtime",
    "probe_auth": "agentcore_mcp.client.probe",
    "runtime_arn": "agentcore_mcp.client.runtime",
    "runtime_auth": "agentcore_mcp.client.request_auth",
    "runtime_options": "agentcore_mcp.client.remote",
    "stop_runtime_session": "agentcore_mcp.client.runtime_session",
    "target_from_arn": "agentcore_mcp.client.runtime",
    "target_from_ssm": "agentcore_mcp.client.runtime",
    "target_from_url": "agentcore_mcp.client.runtime",
    "test_auth": "agentcore_mcp.client.probe",
}


__getattr__ = lazy_exports(__name__, _HOMES)
