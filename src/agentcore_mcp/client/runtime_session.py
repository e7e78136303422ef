"""Ending a runtime session: the data plane's StopRuntimeSession.

`POST /runtimes/{arn}/stopruntimesession?qualifier=Q` with the session's
`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`: the request boto3's
`bedrock-agentcore.stop_runtime_session` sends, signed the way the runtime's invocations
are (SigV4, or the bearer token of an OAuth runtime: AWS accepts both for this call).
Kept apart from `remote` so that `test-auth`'s probes end their sessions without
importing the `mcp` SDK.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

import anyio
import httpx2

from agentcore_mcp.client.request_auth import RUNTIME_SESSION_HEADER, RuntimeAuth, RuntimeAuthError
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.tokens import TokenSourceError

logger = logging.getLogger("agentcore_mcp.client")

#: How long ending a session may take before the client gives up (with a warning).
STOP_SESSION_TIMEOUT_SECONDS = 10.0


def stop_session_url(invocation_url: str) -> str:
    """The StopRuntimeSession URL beside an invocation URL (same runtime, same qualifier,
    the ARN escaped as it was)."""
    stop, count = re.subn(r"/invocations/?(?=\?|$)", "/stopruntimesession", invocation_url, count=1)
    if not count:
        raise ValueError(f"{invocation_url!r} is not a runtime invocation URL")
    return stop


def stop_session_body() -> bytes:
    """StopRuntimeSession's JSON body: a fresh idempotency token, as boto3 fills it in."""
    return json.dumps({"clientToken": str(uuid.uuid4())}).encode()


async def stop_runtime_session(
    target: RuntimeTarget,
    auth: RuntimeAuth,
    runtime_session_id: str,
    *,
    timeout: float = STOP_SESSION_TIMEOUT_SECONDS,
    debug: Callable[[str], None] | None = None,
) -> bool:
    """End one runtime session now (the data plane's StopRuntimeSession, the request boto3's
    `stop_runtime_session` sends). True when it ended or was already gone; a failure is
    logged as a warning (the session then ends at the runtime's idle timeout)."""
    try:
        url = stop_session_url(target.url)
    except ValueError:
        logger.warning("cannot end runtime session %s: %s is not an invocation URL",
                       runtime_session_id, target.url)  # fmt: skip
        return False
    body = stop_session_body()
    headers = {"content-type": "application/json", RUNTIME_SESSION_HEADER: runtime_session_id}
    try:
        with anyio.fail_after(timeout):
            async with httpx2.AsyncClient(
                auth=auth.auth,
                timeout=timeout,
            ) as http:
                if debug:
                    debug(f"> POST {url} (StopRuntimeSession {runtime_session_id})")
                response = await http.post(url, content=body, headers=headers)
                if debug:
                    debug(f"< {response.status_code} {response.reason_phrase}")
    except (TimeoutError, httpx2.HTTPError, OSError, RuntimeAuthError, TokenSourceError) as exc:
        logger.warning(
            "could not end runtime session %s (%s: %s); it ends at the runtime's idle timeout",
            runtime_session_id,
            type(exc).__name__,
            exc,
        )
        return False
    if response.status_code == 404:
        return True  # already ended (idle timeout, or the runtime restarted)
    if response.status_code >= 400:
        logger.warning(
            "could not end runtime session %s: HTTP %d %s; it ends at the runtime's idle timeout",
            runtime_session_id,
            response.status_code,
            response.text[:300],
        )
        return False
    return True
