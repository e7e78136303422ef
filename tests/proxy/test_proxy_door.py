"""The `proxy --port` door: what a web page cannot do through it (a foreign or `null`
Origin, a CORS-simple POST that needs no preflight), what loopback callers still can, and
the one header the proxy keeps to itself (`X-Amzn-Bedrock-AgentCore-Runtime-User-Id`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import httpx2
import pytest
from mcp import Client

from agentcore_mcp.client.runtime import RuntimeTarget, invocation_url
from agentcore_mcp.proxy import make_forwarder
from agentcore_mcp.proxy.http import ProxyApp
from tests.client._runtimes import Deployed
from tests.proxy.test_proxy_http import port_proxy
from tests.support.local import CREDS, REGION
from tests.support.mcp_messages import tool_call
from tests.support.procs import wait_for_file

PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
ACCEPT = "application/json, text/event-stream"
JSON = "application/json"


def local_target(d: Deployed, arn: str) -> RuntimeTarget:
    return RuntimeTarget(url=invocation_url(arn, endpoint=d.local.url), arn=arn, region=REGION)


def local_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


@pytest.fixture
async def in_process(deployed: Deployed) -> AsyncIterator[tuple[ProxyApp, httpx2.AsyncClient]]:
    """The proxy's ASGI app in this process, forwarding to the real local AgentCore."""
    app = ProxyApp(make_forwarder(local_target(deployed, deployed.sigv4_arn), local_session()))
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as c:
        yield app, c
    await app.forwarder.aclose()


# (Origin, Content-Type, expected status). None: the header is not sent.
DOOR = [
    # What a web page can send without a CORS preflight: refused before any forwarding.
    ("null", "text/plain", 403),  # a sandboxed iframe or data: URL page
    ("null", JSON, 403),
    ("https://evil.example", JSON, 403),
    ("https://evil.example", "text/plain", 403),
    ("http://localhost.evil.example", JSON, 403),  # a name that only starts like loopback
    ("http://127.0.0.1.nip.io", JSON, 403),  # a name that resolves to loopback
    ("http://localhost:6274@evil.example", JSON, 403),  # no origin has a user part
    ("file://", JSON, 403),
    ("", JSON, 403),
    (None, "text/plain", 415),
    (None, "text/plain;charset=UTF-8", 415),
    (None, "application/x-www-form-urlencoded", 415),
    (None, "multipart/form-data; boundary=x", 415),
    (None, None, 415),
    (None, "application/jsonp", 415),
    ("http://localhost:6274", "text/plain", 415),  # loopback page, wrong type
    # Legitimate callers: MCP clients (no Origin) and pages on a loopback origin.
    (None, JSON, 200),
    (None, "application/json; charset=utf-8", 200),
    (None, "Application/JSON", 200),
    ("http://localhost:6274", JSON, 200),  # MCP Inspector's UI
    ("http://127.0.0.1:6274", JSON, 200),
    ("http://[::1]:6274", JSON, 200),
    ("https://inspector.localhost", JSON, 200),
]


@pytest.mark.parametrize(("origin", "content_type", "status"), DOOR)
async def test_origin_and_content_type_matrix(
    in_process: tuple[ProxyApp, httpx2.AsyncClient],
    origin: str | None,
    content_type: str | None,
    status: int,
) -> None:
    app, client = in_process
    headers = {"accept": ACCEPT}
    if origin is not None:
        headers["origin"] = origin
    if content_type is not None:
        headers["content-type"] = content_type
    response = await client.post("/mcp", content=PING, headers=headers)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
        assert app.default.opened  # it reached the runtime
        return
    # Refused before anything was forwarded: no runtime session was ever opened.
    assert not app.default.opened
    message = response.json()["error"]["message"]
    if status == 403:
        assert "loopback origin" in message, message
    else:
        assert "application/json" in message, message


async def test_preflight_is_never_granted(
    in_process: tuple[ProxyApp, httpx2.AsyncClient],
) -> None:
    """A page's non-simple POST needs a CORS preflight first; the proxy grants none."""
    _, client = in_process
    for origin in ("https://evil.example", "null"):
        response = await client.options(
            "/mcp",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert response.status_code == 403
        assert not any(k.lower().startswith("access-control-") for k in response.headers)


async def test_web_page_requests_refused_end_to_end_and_inspector_path_works(
    deployed: Deployed, tmp_path: Path
) -> None:
    """The real `proxy --port`: the tools/call a page could send is refused; the same call
    from a loopback page (Inspector's UI) or a plain client goes through, and so does the
    official client sending a loopback Origin, as Inspector's proxy does for its UI."""
    from mcp.client.streamable_http import streamable_http_client

    call = json.dumps(tool_call("echo", {"text": "through the door"})).encode()
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn) as proxy:
        url = f"{proxy.base_url}/mcp"
        page = {"accept": ACCEPT, "content-type": "text/plain", "origin": "null"}
        refused = httpx2.post(url, content=call, headers=page, timeout=30)
        assert refused.status_code == 403, refused.text
        no_preflight = httpx2.post(
            url, content=call, headers={"accept": ACCEPT, "content-type": "text/plain"}
        )
        assert no_preflight.status_code == 415, no_preflight.text
        for origin in (None, "http://localhost:6274"):
            headers = {"accept": ACCEPT, "content-type": JSON}
            if origin:
                headers["origin"] = origin
            ok = httpx2.post(url, content=call, headers=headers, timeout=60)
            assert ok.status_code == 200, ok.text
            assert "through the door" in ok.text
        async with httpx2.AsyncClient(headers={"origin": "http://localhost:6274"}) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode="legacy") as client:
                result = await client.call_tool("echo", {"text": "from a loopback page"})
        assert result.content[0].text == "from a loopback page"  # type: ignore[union-attr]
    assert "through the door" not in refused.text + no_preflight.text


# A runtime that answers every MCP POST with an empty result and appends the identity
# headers it received to $MARK, one JSON line per request.
RECORDS_HEADERS_MAIN = """
import json, os, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    seen = {k: headers.get(k) for k in (
        "x-amzn-bedrock-agentcore-runtime-user-id", "traceparent", "authorization")}
    with open(os.environ["MARK"], "a") as f:
        f.write(json.dumps(seen) + "\\n")
    answer = json.dumps({"jsonrpc": "2.0", "id": json.loads(body).get("id"), "result": {}})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer.encode()})

uvicorn.run(app, host=os.environ["HOST"], port=int(os.environ["PORT"]), log_level="warning")
"""


def test_caller_runtime_user_id_is_dropped(deployed: Deployed, tmp_path: Path) -> None:
    """A local caller cannot assert an end user's identity with the proxy's credentials:
    the instance never sees the caller's Runtime-User-Id; a trace header still passes."""
    mark = tmp_path / "seen.jsonl"
    got = deployed.local.create_runtime(
        "proxy_user_id",
        {"main.py": RECORDS_HEADERS_MAIN},
        environmentVariables={"MARK": str(mark)},
    )
    assert got["status"] == "READY", got
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with port_proxy(deployed, tmp_path, "--arn", got["agentRuntimeArn"]) as proxy:
        response = httpx2.post(
            f"{proxy.base_url}/mcp",
            content=PING,
            headers={
                "accept": ACCEPT,
                "content-type": JSON,
                "x-amzn-bedrock-agentcore-runtime-user-id": "someone-else",
                "traceparent": trace,
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        text = wait_for_file(mark, 30)
    assert text is not None, "the instance never recorded the request"
    seen = json.loads(text.splitlines()[0])
    assert seen["x-amzn-bedrock-agentcore-runtime-user-id"] is None, seen
    assert seen["traceparent"] == trace, seen


CALLER_TOKEN = "caller-token-0123456789abcdef"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 403),
        ("Bearer wrong-token-0123456789abcdef", 403),
        (f"Basic {CALLER_TOKEN}", 403),
        (f"Bearer {CALLER_TOKEN}x", 403),
        (f"Bearer {CALLER_TOKEN[:-1]}", 403),
        (f"Bearer {CALLER_TOKEN}", 200),
        (f"bearer {CALLER_TOKEN}", 200),
    ],
)
async def test_caller_token_matrix(
    deployed: Deployed, authorization: str | None, status: int
) -> None:
    """With a caller token, a loopback caller without it gets nothing, DELETE included."""
    forwarder = make_forwarder(local_target(deployed, deployed.sigv4_arn), local_session())
    app = ProxyApp(forwarder, caller_token=CALLER_TOKEN)
    headers = {"accept": ACCEPT, "content-type": JSON}
    if authorization is not None:
        headers["authorization"] = authorization
    transport = httpx2.ASGITransport(app=app)
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as c:
            response = await c.post("/mcp", content=PING, headers=headers)
            assert response.status_code == status, response.text
            assert app.default.opened == (status == 200)
            if status == 403:
                assert "AGENTCORE_PROXY_TOKEN" in response.text
                assert CALLER_TOKEN not in response.text
                deleted = await c.delete("/mcp", headers={**headers, "mcp-session-id": "x" * 40})
                assert deleted.status_code == 403
    finally:
        await forwarder.aclose()


async def test_caller_token_end_to_end(deployed: Deployed, tmp_path: Path) -> None:
    """`AGENTCORE_PROXY_TOKEN` from the environment: a caller without it is refused, the
    official client sending it works, the token is in no log line; a short one is refused
    at start with a configuration error."""
    import subprocess
    import sys

    from mcp.client.streamable_http import streamable_http_client

    short = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "proxy", "--port", "1", "--arn",
         deployed.sigv4_arn],
        env=deployed.env(AGENTCORE_PROXY_TOKEN="short"), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert short.returncode == 6, short.stderr
    assert "openssl rand" in short.stderr
    env = deployed.env(AGENTCORE_PROXY_TOKEN=CALLER_TOKEN)
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn, "--debug", env=env) as proxy:
        url = f"{proxy.base_url}/mcp"
        bare = httpx2.post(url, content=PING, headers={"accept": ACCEPT, "content-type": JSON})
        assert bare.status_code == 403, bare.text
        bearer = {"authorization": f"Bearer {CALLER_TOKEN}"}
        async with httpx2.AsyncClient(headers=bearer) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode="legacy") as client:
                result = await client.call_tool("echo", {"text": "with the token"})
        assert result.content[0].text == "with the token"  # type: ignore[union-attr]
    assert "callers must send" in proxy.log()
    assert CALLER_TOKEN not in proxy.log()
