"""Sessions, lifecycle, quota, crashes, slow starts and request limits, with shortened clocks.

This module's local AgentCore runs with --lifecycle-scale 0.02 (60 s idle → 1.2 s),
--max-active-sessions 3 and --startup-timeout 12 (long enough for an instance to start
on a busy machine, short enough that the slow-start test, whose instance sleeps 30 s, is
refused without waiting out the service's own 30 s).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.local import (
    MCP_HEADERS,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
    local_agentcore_fixture,
)
from tests.support.mcp_messages import encoded, final_message, rpc, tool_call

CRASHY_MAIN = """\
import os, time
from pathlib import Path
from mcp.server.mcpserver import MCPServer
from agentcore_mcp.server import serve

flag = os.environ.get("SLOW_START_FLAG")
if flag and Path(flag).exists():
    time.sleep(30)

mcp = MCPServer("crashy")

@mcp.tool()
def pid() -> int:
    return os.getpid()

@mcp.tool()
def crash() -> str:
    time.sleep(0.2)
    os._exit(3)

serve(mcp)
"""


fast_clock = local_agentcore_fixture(
    "fast", "--lifecycle-scale", "0.02", "--max-active-sessions", "3", "--startup-timeout", "12"
)


@pytest.fixture(scope="module")
def flag_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flag") / "slow"


@pytest.fixture(scope="module")
def crashy(fast_clock: LocalAgentCoreHandle, flag_file: Path) -> str:
    got = fast_clock.create_runtime(
        "crashy",
        {"main.py": CRASHY_MAIN},
        environmentVariables={"SLOW_START_FLAG": str(flag_file)},
        lifecycleConfiguration={"idleRuntimeSessionTimeout": 60, "maxLifetime": 300},
    )
    assert got["status"] == "READY", got
    return fast_clock.invocation_url(got["agentRuntimeArn"])


@pytest.fixture(scope="module")
def patient(fast_clock: LocalAgentCoreHandle) -> str:
    """Like `crashy`, but idle 600 s x 0.02 = 12 s: no session is reaped mid-test on a
    busy machine, where starting the next instance can take longer than `crashy`'s 1.2 s."""
    got = fast_clock.create_runtime(
        "patient",
        {"main.py": CRASHY_MAIN},
        lifecycleConfiguration={"idleRuntimeSessionTimeout": 600, "maxLifetime": 28800},
    )
    assert got["status"] == "READY", got
    return fast_clock.invocation_url(got["agentRuntimeArn"])


@pytest.fixture(scope="module")
def sample(fast_clock: LocalAgentCoreHandle) -> str:
    """The sample server, idle 600 s x 0.02 = 12 s (nothing reaped while a test runs); the
    tests using it end the sessions they open."""
    got = fast_clock.create_runtime(
        "sample", lifecycleConfiguration={"idleRuntimeSessionTimeout": 600, "maxLifetime": 28800}
    )
    assert got["status"] == "READY", got
    return fast_clock.invocation_url(got["agentRuntimeArn"])


def post(
    url: str, body: dict[str, Any], session: str | None = None, **headers: str
) -> httpx2.Response:
    h = {**MCP_HEADERS, **headers}
    if session:
        h["mcp-session-id"] = session
    return httpx2.post(url, content=encoded(body), headers=h, auth=SIGV4_AUTH, timeout=60)


def pid_of(url: str, session: str) -> int:
    r = post(url, tool_call("pid", {}), session)
    return int(final_message(r)["result"]["structuredContent"]["result"])


def stop_all(handle: LocalAgentCoreHandle, url: str, sessions: list[str]) -> None:
    data = handle.client("bedrock-agentcore")
    arn = url.split("/runtimes/")[1].split("/")[0]
    from urllib.parse import unquote

    from botocore.exceptions import ClientError

    for s in sessions:
        # A session the reaper already ended is fine here: the point is a clean slate.
        with contextlib.suppress(ClientError):
            data.stop_runtime_session(agentRuntimeArn=unquote(arn), runtimeSessionId=s)


def test_new_session_per_request_without_id_and_two_processes(
    fast_clock: LocalAgentCoreHandle, patient: str
) -> None:
    a = post(patient, rpc("ping"))
    b = post(patient, rpc("ping"))
    sa, sb = a.headers["mcp-session-id"], b.headers["mcp-session-id"]
    assert sa != sb
    assert a.headers["x-amzn-bedrock-agentcore-runtime-session-id"] == sa
    pa, pb = pid_of(patient, sa), pid_of(patient, sb)
    assert pa != pb
    # The same id keeps hitting the same process.
    assert pid_of(patient, sa) == pa
    stop_all(fast_clock, patient, [sa, sb])


def test_made_up_session_id_is_kept(fast_clock: LocalAgentCoreHandle, patient: str) -> None:
    sid = "my-own-session-id-0123456789-abcdefgh"
    r = post(patient, rpc("ping"), sid)
    assert r.headers["mcp-session-id"] == sid
    assert pid_of(patient, sid) == pid_of(patient, sid)
    stop_all(fast_clock, patient, [sid])


@pytest.mark.slow
def test_idle_session_is_reaped_then_404(fast_clock: LocalAgentCoreHandle, crashy: str) -> None:
    r = post(crashy, rpc("ping"))
    sid = r.headers["mcp-session-id"]
    # Idle 60 s x 0.02 = 1.2 s, reaper every 1 s: wait (bounded) until the local AgentCore
    # no longer lists the session; asking the runtime itself would keep it busy.
    deadline = time.monotonic() + 15
    while any(s["id"] == sid for s in fast_clock.status()["sessions"]):
        assert time.monotonic() < deadline, "the idle session was never reaped"
        time.sleep(0.1)
    gone = post(crashy, rpc("ping"), sid)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == -32004
    assert "idle" in gone.json()["error"]["data"]["detail"]


@pytest.mark.slow
def test_max_lifetime_ends_a_busy_session(fast_clock: LocalAgentCoreHandle) -> None:
    got = fast_clock.create_runtime(
        "short_lived",
        lifecycleConfiguration={"idleRuntimeSessionTimeout": 60, "maxLifetime": 100},
    )
    url = fast_clock.invocation_url(got["agentRuntimeArn"])
    sid = post(url, rpc("ping")).headers["mcp-session-id"]
    deadline = time.monotonic() + 8
    status = 200
    while time.monotonic() < deadline:  # busy every 0.3 s: never idle, but 100 s x 0.02 = 2 s max
        status = post(url, rpc("ping"), sid).status_code
        if status == 404:
            break
        time.sleep(0.3)
    assert status == 404


def test_stop_runtime_session(fast_clock: LocalAgentCoreHandle, crashy: str) -> None:
    sid = post(crashy, rpc("ping")).headers["mcp-session-id"]
    arn = crashy.split("/runtimes/")[1].split("/")[0]
    from urllib.parse import unquote

    data = fast_clock.client("bedrock-agentcore")
    out = data.stop_runtime_session(agentRuntimeArn=unquote(arn), runtimeSessionId=sid)
    assert out["statusCode"] == 200
    assert post(crashy, rpc("ping"), sid).status_code == 404


@pytest.mark.slow
def test_instance_bound_is_held(fast_clock: LocalAgentCoreHandle, sample: str) -> None:
    # Idle 600 s x 0.02 = 12 s: nothing is reaped while the bound is being reached.
    url = sample
    sessions = [post(url, rpc("ping")).headers["mcp-session-id"] for _ in range(3)]
    over = post(url, rpc("ping"))
    assert over.status_code == 200
    assert over.json()["error"]["code"] == -32003
    assert over.headers["x-amzn-errortype"] == "ServiceQuotaExceededException"
    status = fast_clock.status()
    assert len([s for s in status["sessions"] if s["pid"]]) <= 3
    # Existing sessions still work while the bound holds.
    assert post(url, rpc("ping"), sessions[0]).status_code == 200
    stop_all(fast_clock, url, sessions)
    after = post(url, rpc("ping"))
    assert after.status_code == 200
    stop_all(fast_clock, url, [after.headers["mcp-session-id"]])


def test_crash_mid_call_maps_to_runtime_client_error_then_fresh_instance(
    fast_clock: LocalAgentCoreHandle, crashy: str
) -> None:
    sid = post(crashy, rpc("ping")).headers["mcp-session-id"]
    before = pid_of(crashy, sid)
    started = time.monotonic()
    r = post(crashy, tool_call("crash", {}), sid)
    assert time.monotonic() - started < 10  # at once, not a hang
    assert final_message(r)["error"]["code"] == -32010
    after = pid_of(crashy, sid)
    assert after != before
    assert "exited with status 3" in fast_clock.log(crashy.split("runtime%2F")[1].split("/")[0])
    stop_all(fast_clock, crashy, [sid])


@pytest.mark.slow
def test_slow_start_is_424_with_the_real_message(
    fast_clock: LocalAgentCoreHandle, crashy: str, flag_file: Path
) -> None:
    flag_file.touch()
    try:
        r = post(crashy, rpc("ping"))
    finally:
        flag_file.unlink()
    assert r.status_code == 424
    assert r.json() == {
        "message": "Runtime initialization time exceeded. Please make sure that "
        "initialization completes in 30s."
    }
    assert post(crashy, rpc("ping")).status_code == 200


def test_bad_accept_is_406(crashy: str) -> None:
    r = post(crashy, rpc("ping"), accept="application/json")
    assert r.status_code == 406
    assert r.json()["error"]["code"] == -32011


def test_oversized_body_refused_without_buffering(crashy: str) -> None:
    import socket
    from urllib.parse import urlsplit

    # A declared size over 100 MB is refused before a byte of the body is sent.
    parts = urlsplit(crashy)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            "Content-Length: 200000000\r\n\r\n".encode()
        )
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head

    def chunks() -> Iterator[bytes]:
        for _ in range(101):
            yield b"x" * 1_000_000

    streamed = httpx2.post(crashy, content=chunks(), headers=MCP_HEADERS, timeout=120)
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == -32006


def test_sse_passes_through_chunk_by_chunk(fast_clock: LocalAgentCoreHandle, sample: str) -> None:
    url = sample
    arguments = {"steps": 3, "interval_seconds": 0.5}
    body = encoded(tool_call("long_task", arguments, _meta={"progressToken": "p1"}))
    arrivals: list[float] = []
    started = time.monotonic()
    with httpx2.stream(
        "POST", url, content=body, headers=MCP_HEADERS, auth=SIGV4_AUTH, timeout=60
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        sid = r.headers["mcp-session-id"]
        for line in r.iter_lines():
            if line.startswith("data:") and "notifications/progress" in line:
                arrivals.append(time.monotonic() - started)
    stop_all(fast_clock, url, [sid])
    assert len(arrivals) == 3
    # Each progress event arrives when it happens, not all together at the end.
    assert arrivals[1] - arrivals[0] > 0.3 and arrivals[2] - arrivals[1] > 0.3


async def test_quota_message_names_the_flag_that_raises_it() -> None:
    from agentcore_mcp.local.sessions import QuotaExceeded, SessionPool

    async def never_started(session: object) -> Any:
        raise AssertionError("no instance starts past the quota")

    pool = SessionPool(max_active_sessions=0)
    with pytest.raises(QuotaExceeded, match=r"--max-active-sessions N"):
        await pool.acquire(
            "rt", "s", version="1", idle_timeout=60, max_lifetime=60, start=never_started
        )
