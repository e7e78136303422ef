"""MCP clients for plain URLs and AgentCore runtime URLs."""

from agentcore_mcp.client.probe import AuthProbe, probe_auth, test_auth
from agentcore_mcp.client.remote import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuth,
    RuntimeAuthError,
    boto_session,
    new_runtime_session_id,
    open_runtime,
    runtime_auth,
    runtime_options,
)
from agentcore_mcp.client.runtime import (
    DEFAULT_QUALIFIER,
    AuthMethod,
    RuntimeTarget,
    RuntimeTargetError,
    data_plane_endpoint,
    invocation_url,
    parse_arn,
    runtime_arn,
    target_from_arn,
    target_from_ssm,
    target_from_url,
)
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
    "target_from_arn",
    "target_from_ssm",
    "target_from_url",
    "test_auth",
]
