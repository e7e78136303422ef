"""Idle keep-alive connections stay usable; session ids follow the runtime session id rule."""

from __future__ import annotations

import http.client
import json
import select
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.support.local import MCP_HEADERS, PING, SIGV4_AUTH, LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # waits out real keep-alive and idle timeouts

# Past the 5 s at which uvicorn's default keep-alive closed idle connections, and past
# httpx's own 5 s pool expiry, with a margin for a busy machine's late timers.
IDLE_SECONDS = 6.0


@pytest.fixture(scope="module")
def invoke_url(local_agentcore: LocalAgentCoreHandle, sigv4_runtime: dict[str, Any]) -> str:
    arn = str(sigv4_runtime["agentRuntimeArn"])
    return local_agentcore.invocation_url(arn)


def test_an_idle_connection_is_still_open_after_5_seconds(
    local_agentcore: LocalAgentCoreHandle,
) -> None:
    """A client that reuses its connection after >5 s idle gets an answer on it.

    Deterministic: with a 5 s server keep-alive the server has closed the socket by
    then (the second request gets no response); with a longer one it is still open.
    """
    where = urlsplit(local_agentcore.url)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        for round_ in range(2):
            conn.request("GET", "/_local/health")
            response = conn.getresponse()
            assert response.status == 200, round_
            response.read()
            assert not response.will_close
            if round_ == 0:
                sock = conn.sock
                time.sleep(IDLE_SECONDS)
                # The server has not closed it meanwhile (a closed socket reads as EOF).
                readable, _, _ = select.select([sock], [], [], 0)
                assert not readable, "the server closed the idle connection"
        assert conn.sock is sock  # same connection, not a reconnect
    finally:
        conn.close()


def test_invocations_after_idle_on_a_pooled_connection(invoke_url: str) -> None:
    """The data plane on a pooled httpx connection, reused just past 5 s idle."""
    limits = httpx2.Limits(keepalive_expiry=60)  # the client keeps it longer than 5 s
    with httpx2.Client(limits=limits, timeout=60, trust_env=False) as client:
        sid = client.post(invoke_url, content=PING, headers=MCP_HEADERS, auth=SIGV4_AUTH).headers[
            "mcp-session-id"
        ]
        # httpx silently reconnects when it finds a closed socket: the pool must still
        # hold the very connection it opened first.
        pool = client._transport._pool  # type: ignore[attr-defined]
        (first,) = pool.connections
        for _ in range(2):
            time.sleep(IDLE_SECONDS)
            r = client.post(
                invoke_url,
                content=PING,
                headers={**MCP_HEADERS, "mcp-session-id": sid},
                auth=SIGV4_AUTH,
            )
            assert r.status_code == 200, r.text
        assert pool.connections == [first]


def _post(url: str, **headers: str) -> httpx2.Response:
    return httpx2.post(
        url, content=PING, headers={**MCP_HEADERS, **headers}, auth=SIGV4_AUTH, timeout=60
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("short-id", "must be 33 to 256 characters long (got 8)"),
        ("x" * 32, "must be 33 to 256 characters long (got 32)"),
        ("x" * 257, "must be 33 to 256 characters long (got 257)"),
        ("has a space-0123456789-0123456789-0123", "may hold only visible ASCII"),
    ],
)
def test_mcp_session_id_follows_the_runtime_session_id_rule(
    local_agentcore: LocalAgentCoreHandle, invoke_url: str, value: str, problem: str
) -> None:
    before = len(local_agentcore.status()["sessions"])
    r = _post(invoke_url, **{"mcp-session-id": value})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == -32006
    assert f"Mcp-Session-Id {problem}" in error["data"]["detail"]
    assert "Send no session id" in error["data"]["detail"]
    assert r.json()["id"] == json.loads(PING)["id"]
    assert len(local_agentcore.status()["sessions"]) == before  # no instance started


@pytest.mark.parametrize("length", [33, 256])
def test_mcp_session_id_at_the_bounds_is_kept(
    local_agentcore: LocalAgentCoreHandle, invoke_url: str, length: int
) -> None:
    sid = ("bound-" + "0123456789" * 26)[:length]
    r = _post(invoke_url, **{"mcp-session-id": sid})
    assert r.status_code == 200, r.text
    assert r.headers["mcp-session-id"] == sid
    assert r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] == sid
    arn = invoke_url.split("/runtimes/")[1].split("/")[0]
    from urllib.parse import unquote

    local_agentcore.client("bedrock-agentcore").stop_runtime_session(
        agentRuntimeArn=unquote(arn), runtimeSessionId=sid
    )


def test_runtime_session_header_rule_still_applies(invoke_url: str) -> None:
    r = _post(invoke_url, **{"x-amzn-bedrock-agentcore-runtime-session-id": "x" * 20})
    assert r.status_code == 400
    assert "Runtime-Session-Id must be 33 to 256" in r.json()["error"]["data"]["detail"]
