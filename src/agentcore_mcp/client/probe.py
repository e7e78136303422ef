"""`test-auth` as a library call: try SigV4 and OAuth on one runtime, say which worked."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx2

from agentcore_mcp.client.request_auth import (
    RUNTIME_SESSION_HEADER,
    RuntimeAuthError,
    new_runtime_session_id,
    runtime_auth,
)
from agentcore_mcp.client.runtime import AuthMethod, RuntimeTarget
from agentcore_mcp.client.runtime_session import stop_runtime_session
from agentcore_mcp.client.tokens import TokenSourceError
from agentcore_mcp.client.transport import RuntimeTransport

if TYPE_CHECKING:
    import boto3

_PING = json.dumps({"jsonrpc": "2.0", "id": "test-auth", "method": "ping"}).encode()


@dataclass(frozen=True, slots=True)
class AuthProbe:
    """One method's outcome. `reason` says why it was refused and what to fix."""

    method: AuthMethod
    accepted: bool
    status: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "accepted": self.accepted,
            "status": self.status,
            "reason": self.reason,
        }


async def probe_auth(
    target: RuntimeTarget,
    method: AuthMethod,
    session: boto3.Session | None = None,
    *,
    bearer_token: str | None = None,
    timeout: float = 120.0,
) -> AuthProbe:
    """Send one JSON-RPC `ping` with `method`; a JSON-RPC answer means the auth passed."""
    try:
        auth = runtime_auth(replace(target, auth=method), session, bearer_token=bearer_token)
    except (RuntimeAuthError, TokenSourceError) as exc:
        return AuthProbe(method, False, None, f"no credentials for this method: {exc}")
    session_id = new_runtime_session_id()
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        RUNTIME_SESSION_HEADER: session_id,
    }
    # This command is what the refusal hints point to: they must not point to it again.
    transport = RuntimeTransport(auth_method=method, suggest_test_auth=False)
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=timeout) as http:
            response = await http.post(target.url, content=_PING, headers=headers, auth=auth.auth)
    except (TokenSourceError, RuntimeAuthError) as exc:
        return AuthProbe(method, False, None, f"no token for this method: {exc}")
    except httpx2.HTTPError as exc:
        return AuthProbe(method, False, None, f"cannot reach the data plane: {exc}")
    finally:
        if transport.answered:  # the ping started a session: end it, do not leave it idle
            await stop_runtime_session(target, auth, session_id)
    if response.status_code in (401, 403):
        return AuthProbe(method, False, response.status_code, _message(response))
    if response.status_code >= 400 or response.headers.get("x-amzn-errortype"):
        # Auth passed (the platform checks it first) but the call failed after it.
        return AuthProbe(
            method, True, response.status_code, f"accepted, then: {_message(response)}"
        )
    return AuthProbe(method, True, response.status_code, "accepted")


def _message(response: httpx2.Response) -> str:
    """The refusal's JSON-RPC error as `code: message`, else the body's start."""
    try:
        error = response.json()["error"]
        code = error.get("code")
        message = str(error["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.text[:300]
    return f"JSON-RPC error {code}: {message}" if code is not None else message


async def test_auth(
    target: RuntimeTarget,
    session: boto3.Session | None = None,
    *,
    bearer_token: str | None = None,
) -> list[AuthProbe]:
    """Both methods against the runtime, SigV4 first."""
    return [
        await probe_auth(target, "sigv4", session),
        await probe_auth(target, "oauth", session, bearer_token=bearer_token),
    ]


test_auth.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
