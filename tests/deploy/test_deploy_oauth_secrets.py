"""OAuth (Cognito + customJWTAuthorizer) and --secret through the CLI, then a grep for
every secret made during the test: state file, runtime configuration, output, logs."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.client.remote import open_runtime
from agentcore_mcp.deploy.state import load_state, runtime_target
from tests.support.deploy import listing, run_cli, tool_text
from tests.support.local import LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # whole OAuth deploys with Cognito and Secrets Manager

NAME = "oauth_sample"
SECRET_VALUE = "sk-test-NEVER-IN-A-FILE-8c1f3a"


@pytest.fixture(scope="module")
def deployed(local_agentcore: LocalAgentCoreHandle, workdir: Path) -> dict[str, Any]:
    before = listing(local_agentcore)
    state = workdir / "deployment_config.json"
    args = [
        "deploy",
        "--oauth",
        "--name",
        NAME,
        "--secret",
        "OPENAI_API_KEY",
        "--env",
        "LOG_LEVEL=info",
        "--idle-timeout",
        "120",
        "--allow-header",
        "X-Tenant",
        "--local-home",
        str(local_agentcore.home),
        "--state",
        str(state),
        "--debug",
    ]
    got = run_cli(args, cwd=workdir, env={"OPENAI_API_KEY": SECRET_VALUE})
    assert got.returncode == 0, got.stderr
    return {"state": state, "out": got.stdout + got.stderr, "before": before, "args": args}


def _common(handle: LocalAgentCoreHandle, state: Path) -> list[str]:
    return ["--name", NAME, "--state", str(state), "--local-home", str(handle.home)]


def test_oauth_deploy_serves_bearer_calls(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    assert "web_search" in deployed["out"]  # the smoke test's tools/list
    record = load_state(deployed["state"]).deployments[f"local/us-east-1/{NAME}"]
    assert record.auth == "oauth" and record.cognito and record.cognito.client_id
    config = local_agentcore.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=record.runtime.id
    )
    jwt = config["authorizerConfiguration"]["customJWTAuthorizer"]
    assert jwt["allowedClients"] == [record.cognito.client_id] and "allowedAudience" not in jwt
    assert (
        config["environmentVariables"]["OPENAI_API_KEY_SECRET_ID"]
        == record.secrets["OPENAI_API_KEY"]
    )
    assert config["lifecycleConfiguration"]["idleRuntimeSessionTimeout"] == 120

    token = run_cli(
        ["update-token", "--print", *_common(local_agentcore, deployed["state"])], cwd=workdir
    )
    assert token.returncode == 0, token.stderr
    bearer = token.stdout.strip()
    assert bearer.count(".") == 2  # a JWT
    deployed["token"] = bearer

    target = runtime_target(deployed["state"], name=NAME)
    assert target is not None and target.auth == "oauth"

    async def use() -> tuple[list[str], str]:
        async with open_runtime(target, bearer_token=bearer) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            echoed = await client.call_tool("echo", {"text": "over oauth"})
            return tools, tool_text(echoed)

    tools, echoed = asyncio.run(use())
    assert "echo" in tools and "over oauth" in echoed


def test_no_secret_in_state_config_output_or_logs(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    state = deployed["state"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    record = load_state(state).deployments[f"local/us-east-1/{NAME}"]
    sm = local_agentcore.client("secretsmanager")
    user = json.loads(sm.get_secret_value(SecretId=record.cognito.user_secret_id)["SecretString"])
    assert sm.get_secret_value(SecretId=record.secrets["OPENAI_API_KEY"])["SecretString"] == (
        SECRET_VALUE
    )
    token = (
        deployed.get("token")
        or run_cli(
            ["update-token", "--print", *_common(local_agentcore, state)], cwd=workdir
        ).stdout.strip()
    )
    secrets = {"password": user["password"], "api key": SECRET_VALUE, "token": token}
    runtime = local_agentcore.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=record.runtime.id
    )
    haystacks = {
        "state file": state.read_text(),
        "runtime configuration": json.dumps(runtime, default=str),
        "deploy output (--debug)": deployed["out"],
        "runtime log": local_agentcore.log(record.runtime.id),
        "local AgentCore log": local_agentcore.process.log() if local_agentcore.process else "",
    }
    for where, text in haystacks.items():
        for what, value in secrets.items():
            assert value not in text, f"the {what} is in the {where}"
    assert "<redacted>" in deployed["out"]  # --debug printed the calls, values hidden


def test_rerun_with_no_secret_in_env_keeps_it_and_changes_nothing(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    before = listing(local_agentcore)
    again = run_cli([*deployed["args"][:-1], "--json"], cwd=workdir)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["writes"] == [] and doc["changed"] is False
    assert listing(local_agentcore) == before


def test_destroy_removes_pool_secrets_and_parameters(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    got = run_cli(["destroy", "--yes", *_common(local_agentcore, deployed["state"])], cwd=workdir)
    assert got.returncode == 0, got.stderr
    assert listing(local_agentcore) == deployed["before"]
