"""The one base of every auth failure: SigV4, JWT and Cognito errors all derive from it."""

from __future__ import annotations

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode

__all__ = ["AuthError"]


class AuthError(AgentCoreMcpError):
    """A request or token could not be signed, verified or obtained; the message says why."""

    exit_code = ExitCode.AUTH_ERROR
