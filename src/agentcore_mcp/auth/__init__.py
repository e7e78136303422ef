"""The one auth core shared by the MCP client, the proxy and the local AgentCore.

- `sigv4`: sign requests (an httpx2 `Auth`) and verify incoming SigV4 requests.
- `jwt`: AgentCore's custom JWT authorizer (config, discovery + JWKS cache, verification,
  RFC 9728 metadata and the WWW-Authenticate challenge).
- `cognito`: user-pool tokens via InitiateAuth.
- `errors`: `AuthError`, the one base of every SigV4, JWT and Cognito failure.

This package depends on no other part of agentcore_mcp. Its names are the subpackages'
(each keeps the one list of what it exports, its `__all__`), gathered here.
"""

from __future__ import annotations

from agentcore_mcp.auth import cognito, errors, jwt, messages, sigv4
from agentcore_mcp.auth.cognito import *  # noqa: F403
from agentcore_mcp.auth.errors import *  # noqa: F403
from agentcore_mcp.auth.jwt import *  # noqa: F403
from agentcore_mcp.auth.messages import *  # noqa: F403
from agentcore_mcp.auth.sigv4 import *  # noqa: F403

__all__ = []
__all__ += messages.__all__
__all__ += cognito.__all__
__all__ += errors.__all__
__all__ += jwt.__all__
__all__ += sigv4.__all__
