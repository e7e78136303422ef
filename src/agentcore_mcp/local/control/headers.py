"""Which of a request's headers reach a runtime's instances.

Which names a runtime may allowlist is `agentcore_mcp.runtime_rules` (the deployer checks
the same rules). Of the allowlisted headers a request carries, `Authorization` is
forwarded only to runtimes with a custom JWT authorizer, and values over 4 KB are dropped
(the developer guide's "Pass custom headers to Amazon Bedrock AgentCore Runtime").
Names compare case-insensitively.
"""

from __future__ import annotations

MAX_ALLOWLISTED_VALUE_BYTES = 4096


def forwarded_custom_headers(
    received: list[tuple[str, str]], allowlist: tuple[str, ...], *, jwt_runtime: bool
) -> dict[str, str]:
    """The allowlisted headers of a request that reach the instance (lower-case names)."""
    allow = {h.lower() for h in allowlist}
    if not jwt_runtime:
        allow.discard("authorization")
    out: dict[str, str] = {}
    for key, value in received:
        if key in allow and len(value.encode()) <= MAX_ALLOWLISTED_VALUE_BYTES:
            out[key] = value
    return out
