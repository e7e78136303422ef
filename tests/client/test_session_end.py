"""Runtime sessions end when their client is done, and a refusal at the session bound
(-32003) reaches the user as its code and message: against a real local AgentCore that
allows only two active sessions."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import boto3
import pytest
from mcp import Client

from agentcore_mcp.client import open_runtime, target_from_arn
from tests.client._runtimes import Deployed, deployed_runtimes
from tests.support.local import REGION

BOUND = 2


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """A local AgentCore with --max-active-sessions 2 and the two sample runtimes."""
    args = ("--startup-timeout", "20", "--max-active-sessions", str(BOUND))
    with deployed_runtimes(tmp_path_factory.mktemp("bounded"), extra_args=args) as d:
        yield d


@pytest.fixture
def session(bounded: Deployed, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    for key, value in bounded.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return boto3.Session(region_name=REGION)


def cli(d: Deployed, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`agentcore-mcp ARGS` in an empty directory with an empty HOME (no state file, no
    local AgentCore credentials of the user's)."""
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=d.env(HOME=str(home)),
        cwd=home,
    )


def live_sessions(d: Deployed) -> list[str]:
    return [s["id"] for s in d.local.status()["sessions"]]


async def hold_sessions(
    stack: AsyncExitStack, d: Deployed, session: boto3.Session, count: int
) -> list[Client]:
    """`count` runtime sessions kept open (each has answered one request)."""
    clients = []
    for _ in range(count):
        client = await stack.enter_async_context(
            open_runtime(target_from_arn(d.sigv4_arn), session=session, protocol="handshake")
        )
        await client.list_tools()
        clients.append(client)
    return clients


@pytest.fixture
async def no_sessions(bounded: Deployed) -> AsyncIterator[None]:
    assert live_sessions(bounded) == []
    yield


@pytest.mark.slow  # five CLI processes, each starting a runtime instance
def test_one_shot_commands_leave_no_session(bounded: Deployed, tmp_path: Path) -> None:
    """More one-shot calls than the session bound, in a row: every one succeeds, and none
    leaves a session behind (before, the third failed with -32003)."""
    assert live_sessions(bounded) == []
    for i in range(BOUND + 2):
        out = cli(bounded, tmp_path, "tools", "list", "--remote", "--arn", bounded.sigv4_arn)
        assert out.returncode == 0, f"call {i + 1}: {out.stderr}"
        assert "echo" in out.stdout
        assert live_sessions(bounded) == [], f"call {i + 1} left its session"
    oauth = cli(
        bounded, tmp_path, "tools", "call", "echo", "-a", "text=hi", "--arn", bounded.oauth_arn,
        "--oauth", "--client-id", bounded.client_id, "--user-secret-id", bounded.secret_id,
    )  # fmt: skip
    assert oauth.returncode == 0, oauth.stderr
    assert oauth.stdout.strip() == "hi"
    # test-auth's probes start sessions too (the accepted one does): ended as well.
    probed = cli(bounded, tmp_path, "test-auth", "--arn", bounded.sigv4_arn, "--json")
    assert probed.returncode == 0, probed.stderr
    assert live_sessions(bounded) == []


async def test_open_runtime_ends_its_session_for_both_methods(
    bounded: Deployed, session: boto3.Session, no_sessions: None
) -> None:
    oauth = target_from_arn(
        bounded.oauth_arn, auth="oauth", client_id=bounded.client_id,
        user_secret_id=bounded.secret_id,
    )  # fmt: skip
    for target in (target_from_arn(bounded.sigv4_arn), oauth):
        async with open_runtime(target, session=session) as client:
            await client.list_tools()
            assert len(live_sessions(bounded)) == 1
        assert live_sessions(bounded) == [], target.auth
    # A caller that keeps its session (end_session=False) keeps it.
    async with open_runtime(
        target_from_arn(bounded.sigv4_arn), session=session, end_session=False
    ) as client:
        await client.list_tools()
    kept = live_sessions(bounded)
    assert len(kept) == 1
    from agentcore_mcp.client import runtime_auth, stop_runtime_session

    auth = runtime_auth(target_from_arn(bounded.sigv4_arn), session)
    assert await stop_runtime_session(target_from_arn(bounded.sigv4_arn), auth, kept[0])
    assert live_sessions(bounded) == []


async def test_session_bound_refusal_names_code_and_message(
    bounded: Deployed, session: boto3.Session, tmp_path: Path, no_sessions: None
) -> None:
    """With every session slot held, the CLI, test-auth and the deploy smoke test say
    -32003 and the quota message, never "ExceptionGroup"; once freed, calls work."""
    from agentcore_mcp.deploy.config import load_config
    from agentcore_mcp.deploy.errors import SmokeTestError
    from agentcore_mcp.deploy.plan import list_tools
    from agentcore_mcp.deploy.state import DeploymentRecord, RuntimeRecord
    from agentcore_mcp.deploy.target import open_target

    async with AsyncExitStack() as stack:
        await hold_sessions(stack, bounded, session, BOUND)
        assert len(live_sessions(bounded)) == BOUND

        listed = await asyncio.to_thread(
            cli, bounded, tmp_path, "tools", "list", "--remote", "--arn", bounded.sigv4_arn
        )
        assert listed.returncode == 3, listed.stderr
        assert "-32003" in listed.stderr and "Rate limit exceeded" in listed.stderr
        assert "--max-active-sessions" in listed.stderr  # the local AgentCore's detail
        assert "ExceptionGroup" not in listed.stderr and "[red]" not in listed.stderr

        probed = await asyncio.to_thread(
            cli, bounded, tmp_path, "test-auth", "--arn", bounded.sigv4_arn, "--json"
        )
        methods = {m["method"]: m for m in json.loads(probed.stdout)["methods"]}
        assert "JSON-RPC error -32003" in methods["sigv4"]["reason"], methods

        # The deploy smoke test, through the deployer's own Target and record.
        config = load_config(
            tmp_path, name="sample_sigv4", target="local", local_home=bounded.local.home
        )
        target = open_target(config, start_local=False)
        arn = bounded.sigv4_arn
        record = DeploymentRecord(
            target="local", region=REGION, name="sample_sigv4",
            runtime=RuntimeRecord(id=arn.rsplit("/", 1)[1], arn=arn, name="sample_sigv4"),
        )  # fmt: skip
        with pytest.raises(SmokeTestError) as failed:
            await asyncio.to_thread(list_tools, target, record)
        message = str(failed.value)
        assert "JSON-RPC error -32003" in message and "Rate limit exceeded" in message, message
        assert "ExceptionGroup" not in message and "TaskGroup" not in message
    # The held sessions ended with their clients: the bound is free again.
    assert live_sessions(bounded) == []
    tools = await asyncio.to_thread(list_tools, target, record)
    assert "echo" in tools
    assert live_sessions(bounded) == []  # the smoke test ended its session too
