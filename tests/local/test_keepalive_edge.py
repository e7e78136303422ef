"""The keep-alive edge between the local AgentCore and an instance, with small timeouts.

An instance's server closes an idle connection after its keep-alive (the server kit's
75 s; uvicorn's and Node's default 5 s). The data plane's pool used to keep idle
connections until the server closed them, so a call could go out on a connection the
server was closing. Some servers still read (and run) a request that arrives then, but
never answer it; the pool then sent it again on a new connection: run twice, or lost
where no retry is safe. Here the instance's keep-alive is 1 s, with a 2 s window in
which it runs what arrives but answers nothing, and calls come after 2 s idle: the pool's
idle expiry (AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS, 0.5 s here, 4 s by default) is
below the keep-alive, so each call goes out on a fresh connection, runs once and is
answered.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentcore_mcp.upstream import UpstreamPool
from tests.support.local import (
    MCP_HEADERS,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
    local_agentcore_fixture,
)
from tests.support.procs import free_port, terminate, wait_for_port

pytestmark = pytest.mark.slow  # idle gaps around a 1 s keep-alive, a dozen times

INSTANCE_KEEP_ALIVE = 1.0
CLOSING_WINDOW = 2.0
IDLE_GAP = 2.0  # inside the window: 1 s past the keep-alive, 1 s before the close
LOCAL_KEEP_ALIVE = 3  # the local AgentCore's own, toward clients (75 s by default)

# A minimal HTTP/1.1 server with a keep-alive of $KEEP_ALIVE s. When it passes, the
# connection is not closed at once: for $WINDOW s a request that arrives is still read
# and run (its id appended to $EXECUTED) but not answered, as when a server's close
# races a request. Every request it runs is logged, answered or not.
CLOSING_SERVER_MAIN = """\
import asyncio, json, os, pathlib

KEEP_ALIVE, WINDOW = float(os.environ["KEEP_ALIVE"]), float(os.environ["WINDOW"])
EXECUTED = pathlib.Path(os.environ["EXECUTED"])
# With $HINT, every answer says so: `Keep-Alive: timeout=<KEEP_ALIVE>`.
HINT = b"keep-alive: timeout=%d\\r\\n" % int(KEEP_ALIVE) if os.environ.get("HINT") else b""


async def handle(reader, writer):
    try:
        while True:
            closing = False
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\\r\\n\\r\\n"), KEEP_ALIVE)
            except asyncio.TimeoutError:
                closing = True
                head = await asyncio.wait_for(reader.readuntil(b"\\r\\n\\r\\n"), WINDOW)
            length = 0
            for line in head.decode("latin-1").split("\\r\\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            request = json.loads(await reader.readexactly(length))
            with EXECUTED.open("a") as log:
                log.write(f"{request['id']}\\n")
            if closing:
                return
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {}}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n" + HINT
                + b"content-length: %d\\r\\n\\r\\n" % len(body) + body
            )
            await writer.drain()
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, os.environ["HOST"], int(os.environ["PORT"]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
"""


local = local_agentcore_fixture(
    "edge",
    env={
        "AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS": "0.5",
        "AGENTCORE_MCP_LOCAL_KEEP_ALIVE_SECONDS": str(LOCAL_KEEP_ALIVE),
    },
)


def test_calls_after_the_instance_keep_alive_run_once_and_are_answered(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    executed = tmp_path / "executed"
    got = local.create_runtime(
        "closing_server",
        {"main.py": CLOSING_SERVER_MAIN},
        environmentVariables={
            "KEEP_ALIVE": str(INSTANCE_KEEP_ALIVE),
            "WINDOW": str(CLOSING_WINDOW),
            "EXECUTED": str(executed),
        },
    )
    assert got["status"] == "READY", got
    url = local.invocation_url(got["agentRuntimeArn"])
    answers: list[Any] = []
    with httpx2.Client(timeout=30, trust_env=False) as client:
        first = client.post(
            url,
            content=b'{"jsonrpc":"2.0","id":0,"method":"ping"}',
            headers=MCP_HEADERS,
            auth=SIGV4_AUTH,
        )
        assert first.status_code == 200, first.text
        session = {"mcp-session-id": first.headers["mcp-session-id"]}
        for i in range(1, 6):
            time.sleep(IDLE_GAP)
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "ping"}).encode()
            try:
                r = client.post(
                    url, content=body, headers={**MCP_HEADERS, **session}, auth=SIGV4_AUTH
                )
                answers.append((r.status_code, r.json().get("id"), "result" in r.json()))
            except httpx2.HTTPError as exc:
                answers.append(repr(exc))
    assert answers == [(200, i, True) for i in range(1, 6)], answers
    # Each call ran once: none went out on the connection the instance was closing.
    assert executed.read_text().split() == [str(i) for i in range(6)]


def test_the_local_agentcore_states_its_keep_alive(local: LocalAgentCoreHandle) -> None:
    """Clients that read `Keep-Alive: timeout=N` (Node's fetch, this project's proxy)
    stop reusing a connection before the local AgentCore closes it."""
    r = httpx2.get(f"{local.url}/_local/health", timeout=10)
    assert r.status_code == 200
    assert r.headers["keep-alive"] == f"timeout={LOCAL_KEEP_ALIVE}"


async def test_the_pool_honours_a_servers_keep_alive_hint(tmp_path: Path) -> None:
    """The proxy's pool has no idle expiry of its own; a server that states its keep-alive
    (1 s here) gets its connections retired a margin before it closes them."""
    executed = tmp_path / "executed"
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KEEP_ALIVE": str(INSTANCE_KEEP_ALIVE),
        "WINDOW": str(CLOSING_WINDOW),
        "EXECUTED": str(executed),
        "HINT": "1",
        "PATH": "/usr/bin:/bin",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLOSING_SERVER_MAIN], env=env, stdout=log, stderr=log
        )
    pool = UpstreamPool()
    try:
        wait_for_port(port, proc, log_path)
        answers = []
        for i in range(4):
            if i:
                await asyncio.sleep(IDLE_GAP)
            body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "ping"}).encode()
            response = await pool.post(
                "127.0.0.1", port, "/", [(b"content-type", b"application/json")], body
            )
            data = b"".join([chunk async for chunk, _more in response.body()])
            response.release()
            answers.append((response.status, json.loads(data)["id"]))
    finally:
        await pool.aclose()
        terminate(proc)
    assert answers == [(200, i) for i in range(4)], answers
    assert executed.read_text().split() == [str(i) for i in range(4)]
