"""The service's behaviours a local copy must share: throttling, the request limits,
CloudWatch Logs, one quiet log line per invocation, and the startup manifest.

One local AgentCore for the module, with --rate-limit 2 (the service's 25/s is too many
to pass reliably from a test) and --request-limit-scale 0.001 (15 min -> 0.9 s,
60 min -> 3.6 s). Each concern has its own runtime, so their rate buckets stay apart.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.local import (
    ANSWERING_SERVER,
    CREDS,
    MCP_HEADERS,
    REGION,
    SIGV4_AUTH,
    LocalAgentCoreHandle,
    kit_files,
    local_agentcore_fixture,
    with_startup_manifest,
)
from tests.support.mcp_messages import encoded, messages, rpc

RATE = 2

TOOLS_MAIN = """\
import anyio
from mcp.server.mcpserver import Context, MCPServer
from agentcore_mcp.server import serve

mcp = MCPServer("fidelity")

@mcp.tool()
async def sleepy(seconds: float) -> str:
    await anyio.sleep(seconds)
    return "slept"

@mcp.tool()
async def streamy(ctx: Context, seconds: float) -> str:
    steps = max(1, int(seconds / 0.1))
    for step in range(steps):
        await anyio.sleep(0.1)
        await ctx.report_progress(step + 1, steps)
    return "streamed"

@mcp.tool()
def shout(text: str) -> str:
    print("SHOUT", text, flush=True)
    return text

serve(mcp)
"""


# The deployer's entry point (deploy/artifact/sources.py): the manifest next to it is
# used if present.
MANIFEST_MAIN = """\
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, ".agentcore-mcp/manifest.json")
if os.path.exists(MANIFEST):
    os.environ.setdefault("MCP_STARTUP_MANIFEST", MANIFEST)
from agentcore_mcp.server.run import serve_spec
sys.exit(serve_spec(None))
"""


local = local_agentcore_fixture(
    "fidelity",
    "--rate-limit",
    str(RATE),
    "--request-limit-scale",
    "0.001",
    "--startup-timeout",
    "20",
)


def _mcp_runtime(
    local: LocalAgentCoreHandle, name: str, files: dict[str, str], **extra: Any
) -> str:
    got = local.create_runtime(name, files, **extra)
    assert got["status"] == "READY", got
    return str(got["agentRuntimeArn"])


def _url(local: LocalAgentCoreHandle, arn: str) -> str:
    return local.invocation_url(arn)


def post(url: str, body: dict[str, Any], session: str, timeout: float = 60) -> httpx2.Response:
    return httpx2.post(
        url,
        content=encoded(body),
        headers={**MCP_HEADERS, "mcp-session-id": session},
        auth=SIGV4_AUTH,
        timeout=timeout,
    )


def new_session() -> str:
    return f"fidelity-{uuid.uuid4()}"


# --- throttling --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_runtime(local: LocalAgentCoreHandle) -> str:
    key = local.upload({"main.py": ANSWERING_SERVER})
    created = local.client("bedrock-agentcore-control").create_agent_runtime(
        agentRuntimeName="fid_http",
        agentRuntimeArtifact={
            "codeConfiguration": {
                "code": {"s3": {"bucket": local.bucket, "prefix": key}},
                "runtime": "PYTHON_3_11",
                "entryPoint": ["main.py"],
            }
        },
        roleArn=local.role_arn,
        networkConfiguration={"networkMode": "PUBLIC"},
    )
    got = local.wait_status(created["agentRuntimeId"])
    assert got["status"] == "READY", got
    return str(got["agentRuntimeArn"])


def _invoke_many(client: Any, arn: str, session: str, count: int) -> list[Any]:
    def one(_: int) -> Any:
        try:
            return client.invoke_agent_runtime(
                agentRuntimeArn=arn, runtimeSessionId=session, payload=b"{}"
            )
        except ClientError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_boto3_without_retries_sees_throttling_past_the_rate(
    local: LocalAgentCoreHandle, http_runtime: str
) -> None:
    client = local.client("bedrock-agentcore")  # max_attempts=1: no retries
    session = new_session()
    # 12 calls at once against 2/s with a burst of 2: at most 2 + 2 per elapsed second pass.
    results = _invoke_many(client, http_runtime, session, 12)
    refused = [r for r in results if isinstance(r, ClientError)]
    passed = [r for r in results if not isinstance(r, ClientError)]
    assert passed, results
    assert refused, "no call was throttled"
    for exc in refused:
        assert exc.response["Error"]["Code"] == "ThrottlingException", exc.response
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert "--rate-limit" in exc.response["Error"]["Message"]


def test_boto3_standard_retries_get_through(local: LocalAgentCoreHandle, http_runtime: str) -> None:
    client = boto3.client(
        "bedrock-agentcore",
        endpoint_url=local.url,
        region_name=REGION,
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    results = _invoke_many(client, http_runtime, new_session(), 8)
    assert not [r for r in results if isinstance(r, ClientError)], results
    assert all(json.loads(r["response"].read())["result"] == {} for r in results)
    # Some calls were throttled and retried by botocore, as against AWS.
    assert max(r["ResponseMetadata"]["RetryAttempts"] for r in results) >= 1


@pytest.fixture(scope="module")
def tools_runtime(local: LocalAgentCoreHandle) -> str:
    return _mcp_runtime(local, "fid_tools", {"main.py": TOOLS_MAIN})


def test_mcp_call_past_the_rate_gets_32003(local: LocalAgentCoreHandle) -> None:
    url = _url(local, _mcp_runtime(local, "fid_rate", {"main.py": TOOLS_MAIN}))
    session = new_session()
    body = rpc("tools/call", {"name": "shout", "arguments": {"text": "x"}}, id_=7)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: post(url, body, session), range(12)))
    codes = []
    for r in answers:
        assert r.status_code == 200, r.text
        doc = messages(r)[-1]
        codes.append(doc["error"]["code"] if "error" in doc else 0)
        if "error" in doc:
            assert doc["error"]["message"] == "Rate limit exceeded - Too many requests"
            assert r.headers["x-amzn-errortype"] == "ThrottlingException"
            assert doc["id"] == 7
    assert 0 in codes and -32003 in codes, codes


# --- request limits ----------------------------------------------------------------------


def test_synchronous_answer_cut_at_the_15_minute_limit(
    local: LocalAgentCoreHandle, tools_runtime: str
) -> None:
    began = time.monotonic()
    r = post(
        _url(local, tools_runtime),
        rpc("tools/call", {"name": "sleepy", "arguments": {"seconds": 30}}, id_=7),
        new_session(),
    )
    assert time.monotonic() - began < 25, "the call was not cut"
    assert r.status_code == 200
    doc = messages(r)[-1]
    assert doc["error"]["code"] == -32010, doc
    assert "15-minute limit of synchronous" in doc["error"]["data"]["detail"]


def _streamy(seconds: float) -> dict[str, Any]:
    return rpc(
        "tools/call",
        {"name": "streamy", "arguments": {"seconds": seconds}, "_meta": {"progressToken": 1}},
        id_=7,
    )


def test_streamed_answer_outlives_the_synchronous_limit(
    local: LocalAgentCoreHandle, tools_runtime: str
) -> None:
    # 1.5 s: past the scaled 15 min (0.9 s), well inside the scaled 60 min (3.6 s).
    r = post(_url(local, tools_runtime), _streamy(1.5), new_session())
    assert r.headers["content-type"].startswith("text/event-stream")
    final = messages(r)[-1]
    assert final["result"]["content"][0]["text"] == "streamed", final


def test_streamed_answer_cut_at_the_60_minute_limit(
    local: LocalAgentCoreHandle, tools_runtime: str
) -> None:
    began = time.monotonic()
    r = post(_url(local, tools_runtime), _streamy(60), new_session())
    assert time.monotonic() - began < 40, "the stream was not cut"
    assert r.headers["content-type"].startswith("text/event-stream")
    got = messages(r)
    assert any(m.get("method") == "notifications/progress" for m in got)
    assert got[-1]["error"]["code"] == -32010, got[-1]
    assert "60-minute limit of streamed" in got[-1]["error"]["data"]["detail"]


# --- logs --------------------------------------------------------------------------------


def test_instance_output_in_cloudwatch_logs_and_one_line_per_invocation(
    local: LocalAgentCoreHandle,
) -> None:
    arn = _mcp_runtime(local, "fid_logs", {"main.py": TOOLS_MAIN})
    runtime_id = arn.rsplit("/", 1)[1]
    session = new_session()
    marker = f"marker-{uuid.uuid4()}"
    url = _url(local, arn)
    assert post(url, rpc("ping", id_=7), session).status_code == 200
    r = post(
        url, rpc("tools/call", {"name": "shout", "arguments": {"text": marker}}, id_=7), session
    )
    assert r.status_code == 200 and "error" not in messages(r)[-1]

    logs = local.client("logs")
    group = f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not found and time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        found = [e for e in events if marker in e["message"]]
        if not found:
            time.sleep(0.2)
    assert found, f"no event with {marker} in {group}"
    stream = found[0]["logStreamName"]
    assert stream.endswith(f"[runtime-logs]{session}"), stream
    # One stream per session: the session's startup line is in the same stream.
    mine = logs.filter_log_events(logGroupName=group, logStreamNames=[stream])["events"]
    assert any("listening on" in e["message"] for e in mine), mine
    assert marker in local.log(runtime_id), "`local logs` lost the line"

    # Quiet by default: exactly one INFO line per invocation, none from the embedded AWS.
    assert local.process is not None
    text = local.process.log()
    lines = [ln for ln in text.splitlines() if f"session={session}" in ln]
    assert len(lines) == 2, lines
    assert "method=ping status=200" in lines[0] and f"runtime={runtime_id}" in lines[0]
    assert "method=tools/call status=200 ms=" in lines[1]
    assert "werkzeug" not in text and "HTTP Request:" not in text


# --- session start -----------------------------------------------------------------------


def test_zip_with_a_startup_manifest_answers_ping_before_the_sdk_loads(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    # The zip carries its own copy of the kit, as the deployer's do, so the manifest's
    # fingerprint cannot be broken by edits to this checkout while the test runs.
    files = with_startup_manifest({"main.py": MANIFEST_MAIN, **kit_files()}, tmp_path)
    arn = _mcp_runtime(local, "fid_manifest", files, environmentVariables={"LOG_LEVEL": "info"})
    runtime_id = arn.rsplit("/", 1)[1]
    session = new_session()
    r = post(_url(local, arn), rpc("ping", id_=7), session)
    assert r.status_code == 200 and messages(r)[-1]["result"] == {}, r.text
    tag = f"[{session[:12]} "
    deadline = time.monotonic() + 30
    loaded: list[str] = []
    while not loaded and time.monotonic() < deadline:
        lines = [ln for ln in local.log(runtime_id).splitlines() if ln.startswith(tag)]
        loaded = [ln for ln in lines if "server loaded" in ln]
        if not loaded:
            time.sleep(0.2)
    assert loaded, lines
    listening = [i for i, ln in enumerate(lines) if "listening on" in ln]
    assert not [ln for ln in lines if "manifest not used" in ln], lines
    assert listening and listening[0] < lines.index(loaded[0]), lines
    # The ping came before the SDK had loaded: the server says it answered it from the
    # manifest meanwhile, and the replay through the real server found it equal.
    assert "1 request(s) answered from the startup manifest" in loaded[0], loaded[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [ln for ln in local.log(runtime_id).splitlines() if ln.startswith(tag)]
        if any("replayed, all equal" in ln for ln in lines):
            break
        time.sleep(0.2)
    assert any("replayed, all equal" in ln for ln in lines), lines
