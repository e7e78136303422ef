"""Texts shared by the SigV4 and JWT sides."""

from __future__ import annotations

__all__ = ["AUTHORIZATION_METHOD_MISMATCH"]

#: What AgentCore answers (403) when a request uses SigV4 on a JWT runtime or the reverse.
AUTHORIZATION_METHOD_MISMATCH = (
    "Authorization method mismatch. The agent is configured for a different authorization "
    "method than what was used in your request. Check the agent's authorization configuration "
    "and ensure your request uses the matching method (OAuth or SigV4)"
)
