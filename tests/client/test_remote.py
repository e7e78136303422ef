"""The runtime client against a real local AgentCore: both auth methods, both eras,
session affinity, token renewal, and refusals that say what to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from mcp.shared.exceptions import MCPError
from typer.testing import CliRunner

from agentcore_mcp.cli import app
from agentcore_mcp.client import (
    CognitoTokenSource,
    RuntimeTarget,
    open_runtime,
    target_from_arn,
    test_auth,
)
from tests.client._runtimes import Deployed
from tests.support.local import CREDS, REGION


@pytest.fixture
def aws_env(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """The process environment a user has when pointed at the local AgentCore."""
    for key, value in deployed.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    yield boto3.Session(region_name=REGION)


def oauth_target(d: Deployed, client_id: str | None = None) -> RuntimeTarget:
    return target_from_arn(
        d.oauth_arn,
        auth="oauth",
        client_id=client_id or d.client_id,
        user_secret_id=d.secret_id,
    )


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_sigv4_one_call_both_eras_keeps_affinity(
    deployed: Deployed, aws_env: boto3.Session, era: str
) -> None:
    target = target_from_arn(deployed.sigv4_arn)
    assert target.url.startswith(deployed.local.url + "/runtimes/arn%3Aaws%3Abedrock-agentcore")
    before = {s["id"] for s in deployed.local.status()["sessions"]}
    async with open_runtime(target, session=aws_env, protocol=era) as client:  # type: ignore[arg-type]
        for i in range(3):
            result = await client.call_tool("echo", {"text": f"sigv4 {i}"})
            assert result.content[0].text == f"sigv4 {i}"  # type: ignore[union-attr]
        during = deployed.local.status()["sessions"]
    # One connection, one runtime session: every request reached the same microVM.
    new = [s for s in during if s["id"] not in before]
    assert len(new) == 1, during
    assert new[0]["id"].startswith("agentcore-mcp-")
    # ... and the session ended with the connection (StopRuntimeSession).
    assert new[0]["id"] not in {s["id"] for s in deployed.local.status()["sessions"]}


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_oauth_with_stored_user_both_eras(
    deployed: Deployed, aws_env: boto3.Session, era: str
) -> None:
    async with open_runtime(oauth_target(deployed), session=aws_env, protocol=era) as client:  # type: ignore[arg-type]
        tools = await client.list_tools()
        assert "echo" in {t.name for t in tools.tools}
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.structured_content == {"result": 5.0}


def test_token_source_refreshes_then_signs_in_again(
    deployed: Deployed, aws_env: boto3.Session
) -> None:
    now = [datetime.now(UTC)]
    idp = aws_env.client("cognito-idp")
    source = CognitoTokenSource(
        idp,
        aws_env.client("secretsmanager"),
        client_id=deployed.client_id,
        user_secret_id=deployed.secret_id,
        clock=lambda: now[0],
    )
    first = source.token()
    assert source.sign_ins == 1 and source.refreshes == 0
    assert source.token() == first  # fresh: no call to Cognito
    now[0] += timedelta(minutes=56)  # within the 5-minute margin of the 1-hour expiry
    source.token()
    assert source.refreshes == 1 and source.sign_ins == 1
    # A revoked refresh token: the source signs in again as the stored user.
    idp.admin_user_global_sign_out(UserPoolId=deployed.pool, Username="alice")
    now[0] += timedelta(minutes=56)
    source.token()
    assert source.sign_ins == 2


async def refusal(target: RuntimeTarget, session: boto3.Session, **kw: str) -> str:
    with pytest.raises(BaseException) as info:
        async with open_runtime(target, session=session, **kw) as client:  # type: ignore[arg-type]
            await client.list_tools()
    leaf: BaseException = info.value
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, MCPError), repr(leaf)
    return leaf.error.message


async def test_refusals_say_what_to_fix(deployed: Deployed, aws_env: boto3.Session) -> None:
    wrong_method = await refusal(target_from_arn(deployed.oauth_arn), aws_env)
    assert "--oauth" in wrong_method and "test-auth" in wrong_method
    not_allowed = await refusal(oauth_target(deployed, deployed.other_client_id), aws_env)
    assert "allowedClients" in not_allowed
    idp = aws_env.client("cognito-idp")
    from agentcore_mcp.auth import get_user_token

    id_token = get_user_token(idp, deployed.client_id, "alice", "Passw0rd!x").id_token
    assert id_token
    with_id = await refusal(oauth_target(deployed), aws_env, bearer_token=id_token)
    assert "ID token" in with_id and "access token" in with_id
    revoked = boto3.Session(
        aws_access_key_id="AKIAREVOKEDKEY000001",
        aws_secret_access_key="nope",
        region_name=REGION,
    )
    unknown_key = await refusal(target_from_arn(deployed.sigv4_arn), revoked)
    assert "access key" in unknown_key and "get-caller-identity" in unknown_key


async def test_test_auth_reports_both_methods(deployed: Deployed, aws_env: boto3.Session) -> None:
    sig = await test_auth(target_from_arn(deployed.sigv4_arn), aws_env)
    assert [(p.method, p.accepted) for p in sig] == [("sigv4", True), ("oauth", False)]
    assert "no credentials" in sig[1].reason  # no Cognito user known for a SigV4 runtime
    oauth = await test_auth(oauth_target(deployed), aws_env)
    assert [(p.method, p.accepted) for p in oauth] == [("sigv4", False), ("oauth", True)]
    assert oauth[0].status == 403 and "--oauth" in oauth[0].reason


def cli(d: Deployed, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=d.env(),
    )


def cli_in_process(
    d: Deployed, monkeypatch: pytest.MonkeyPatch, *args: str
) -> subprocess.CompletedProcess[str]:
    """The same CLI (typer app, error handler, library call) in this process, with the
    environment `cli()` gives its subprocess: for variants of a behaviour that a `cli()`
    run in this file covers end to end (Python and boto3 start-up is most of a run)."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in d.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(
        list(args), result.exit_code, stdout=result.stdout, stderr=result.stderr
    )


def test_cli_tools_remote_both_methods_and_debug_redacts(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = cli(deployed, "tools", "list", "--remote", "--arn", deployed.sigv4_arn, "--json")
    assert out.returncode == 0, out.stderr
    assert "echo" in {t["name"] for t in json.loads(out.stdout)}
    oauth = (
        "--oauth", "--arn", deployed.oauth_arn,
        "--client-id", deployed.client_id, "--user-secret-id", deployed.secret_id,
    )  # fmt: skip
    out = cli(deployed, "tools", "call", "echo", "-a", "text=hi", "--remote", *oauth, "--debug")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hi"
    assert "authorization: Bearer <redacted>" in out.stderr
    assert "eyJ" not in out.stderr  # no JWT anywhere in the debug output
    out = cli(deployed, "tools", "list", "--remote", "--arn", deployed.sigv4_arn, "--debug")
    assert "authorization: AWS4-HMAC-SHA256 <redacted>" in out.stderr
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in out.stderr
    wrong = cli_in_process(
        deployed, monkeypatch, "tools", "list", "--remote", "--arn", deployed.oauth_arn
    )
    assert wrong.returncode == 5, wrong.stderr
    assert "--oauth" in wrong.stderr


def test_cli_test_auth_table_and_json(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    out = cli(
        deployed, "test-auth", "--arn", deployed.oauth_arn,
        "--client-id", deployed.client_id, "--user-secret-id", deployed.secret_id, "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    methods = {m["method"]: m for m in json.loads(out.stdout)["methods"]}
    assert methods["oauth"]["accepted"] is True
    assert methods["sigv4"]["accepted"] is False and methods["sigv4"]["status"] == 403
    table = cli_in_process(deployed, monkeypatch, "test-auth", "--arn", deployed.sigv4_arn)
    assert table.returncode == 0, table.stderr
    assert "accepted" in table.stdout and "refused" in table.stdout
    missing = cli_in_process(
        deployed, monkeypatch, "test-auth", "--ssm-parameter", "/no/such/param"
    )
    assert missing.returncode == 6 and "--arn" in missing.stderr


def test_cli_reads_the_deployer_state_file(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcore_mcp.deploy.state import (
        CognitoRecord,
        DeploymentRecord,
        DeploymentState,
        RuntimeRecord,
        save_state,
    )

    arn = deployed.oauth_arn
    record = DeploymentRecord(
        target="local", region=REGION, name="sample_oauth", auth="oauth",
        account="123456789012", endpoint_url=deployed.local.url,
        runtime=RuntimeRecord(id=arn.rsplit("/", 1)[1], arn=arn, name="sample_oauth"),
        cognito=CognitoRecord(pool_id=deployed.pool, pool_name="mcp-users",
                              client_id=deployed.client_id, user_secret_id=deployed.secret_id),
    )  # fmt: skip
    state = tmp_path / "deployment_config.json"
    save_state(DeploymentState(state, {record.key: record}))
    env = deployed.env()
    env.pop("AWS_ENDPOINT_URL")  # the state alone says where the runtime and Cognito are
    out = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "tools", "call", "echo", "-a", "text=state",
         "--remote", "--state", str(state)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "state"
    bad = tmp_path / "seed.json"
    bad.write_text('{"cognito": {}}')
    refused = cli_in_process(
        deployed, monkeypatch, "tools", "list", "--remote", "--state", str(bad)
    )
    assert refused.returncode == 6 and "state file" in refused.stderr


def test_cli_finds_the_runtime_through_the_ssm_parameter(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm = deployed.local.client("ssm")
    # What `agentcore-mcp deploy` publishes for the default name: the deployment document.
    ssm.put_parameter(
        Name="/agentcore-mcp/agentcore_mcp_server/deployment",
        Value=json.dumps({"runtime_arn": deployed.sigv4_arn, "auth": "sigv4"}),
        Type="String",
    )
    out = subprocess.run(  # no state file in this directory: the SSM parameter is next
        [sys.executable, "-m", "agentcore_mcp", "tools", "call", "echo", "-a", "text=ssm",
         "--remote"],
        capture_output=True, text=True, timeout=120, env=deployed.env(), cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ssm"
    # A parameter holding the ARN alone (the scripts' agent_arn) works too.
    ssm.put_parameter(Name="/seed/agent_arn", Value=deployed.sigv4_arn, Type="String")
    monkeypatch.chdir(tmp_path)
    out = cli_in_process(
        deployed, monkeypatch,
        "tools", "call", "echo", "-a", "text=arn", "--remote", "--ssm-parameter", "/seed/agent_arn",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "arn"
