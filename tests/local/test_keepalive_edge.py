"""The keep-alive edge between the local AgentCore and an instance, with small timeouts.

An instance's server closes an idle connection after its keep-alive (the server kit's
75 s; uvicorn's and Node's default 5 s). The data plane's pool used to keep idle
connections until the server closed them, so a call sent just as that happened went
out on a connection being closed. Here the instance's keep-alive is 1 s and calls come
at idle gaps around it; the pool's idle expiry (AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS,
0.5 s here, 4 s by default) must be below it, and every call is answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from botocore.credentials import Credentials

from agentcore_mcp.auth import SigV4HttpxAuth
from tests.support.local import CREDS, REGION, LocalAgentCoreHandle, run_local_agentcore

pytestmark = pytest.mark.slow  # idle gaps around a 1 s keep-alive, a dozen times

AUTH = SigV4HttpxAuth(
    Credentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"]), region=REGION
)
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}
INSTANCE_KEEP_ALIVE = 1

# A uvicorn server with a 1 s keep-alive; it counts the requests it answered in $COUNT.
SHORT_KEEPALIVE_MAIN = """\
import json, os, pathlib, uvicorn

answered = 0

async def app(scope, receive, send):
    global answered
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = json.loads(body)
    answered += 1
    out = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": {}}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})

uvicorn.run(app, host=os.environ["HOST"], port=int(os.environ["PORT"]), log_level="warning",
            timeout_keep_alive=int(os.environ["KEEP_ALIVE"]))
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(
        tmp_path_factory.mktemp("edge"),
        env={"AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS": "0.5"},
    ) as handle:
        yield handle


def test_calls_at_the_instance_keep_alive_edge_are_all_answered(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    got = local.create_runtime(
        "short_keepalive",
        {"main.py": SHORT_KEEPALIVE_MAIN},
        environmentVariables={"KEEP_ALIVE": str(INSTANCE_KEEP_ALIVE)},
    )
    assert got["status"] == "READY", got
    url = f"{local.url}/runtimes/{quote(got['agentRuntimeArn'], safe='')}/invocations"
    outcomes: list[tuple[float, Any]] = []
    with httpx.Client(timeout=30, trust_env=False) as client:
        first = client.post(
            url, content=b'{"jsonrpc":"2.0","id":0,"method":"ping"}', headers=HEADERS, auth=AUTH
        )
        assert first.status_code == 200, first.text
        session = {"mcp-session-id": first.headers["mcp-session-id"]}
        # Idle gaps from just under to just over the instance's keep-alive, where the
        # instance closes the pooled connection as the next call goes out.
        for i in range(12):
            gap = INSTANCE_KEEP_ALIVE - 0.06 + 0.01 * i
            time.sleep(gap)
            body = json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "ping"}).encode()
            try:
                r = client.post(url, content=body, headers={**HEADERS, **session}, auth=AUTH)
                outcomes.append((gap, (r.status_code, r.json())))
            except httpx.HTTPError as exc:
                outcomes.append((gap, repr(exc)))
    lost = [
        (gap, outcome)
        for gap, outcome in outcomes
        if not (isinstance(outcome, tuple) and outcome[0] == 200 and "result" in outcome[1])
    ]
    assert lost == [], lost
