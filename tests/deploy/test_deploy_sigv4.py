"""The whole SigV4 flow on a real local AgentCore: deploy, call, rerun, status, logs,
role commands, destroy. One deployment, used by the tests in order."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.deploy.plan import deploy
from agentcore_mcp.deploy.state import load_state
from tests.support.deploy import call, deploy_config, listing, run_cli, tool_text
from tests.support.local import LocalAgentCoreHandle

NAME = "sigv4_sample"


@pytest.fixture(scope="module")
def deployed(local_agentcore: LocalAgentCoreHandle, workdir: Path) -> dict[str, Any]:
    before = listing(local_agentcore)
    config = deploy_config(local_agentcore, name=NAME)
    result = deploy(config, state_path=workdir / "state.json")
    return {"config": config, "result": result, "before": before}


def test_deploy_lists_and_calls_tools_through_the_data_plane(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    result = deployed["result"]
    assert result.tools is not None and {"echo", "add", "web_search"} <= set(result.tools)
    assert result.record.runtime is not None and result.record.runtime.version == "1"
    answer = call(local_agentcore, deployed["config"], result.record, "add", {"a": 2, "b": 40})
    assert not answer.is_error
    assert "42" in tool_text(answer)
    after = listing(local_agentcore)
    # exactly one of each kind was made
    assert after["runtime_count"] == deployed["before"]["runtime_count"] + 1
    assert len(after["iam"]) == len(deployed["before"]["iam"]) + 1
    assert f"/agentcore-mcp/{NAME}/agent_arn" in after["ssm"]


def test_the_zip_carries_the_kit_and_its_deps_and_no_developer_tools(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    import io
    import zipfile

    art = deployed["result"].record.artifact
    body = local_agentcore.client("s3").get_object(Bucket=art.bucket, Key=art.key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"main.py", "agentcore_mcp", "mcp", "pydantic_core", "uvicorn", "openai"} <= tops
    assert ".agentcore-mcp" in tops and art.manifest
    for unwanted in ("moto", "flask", "typer", "rich", "boto3"):
        assert unwanted not in tops, unwanted
    assert not any(n.startswith(("agentcore_mcp/cli/", "agentcore_mcp/local/")) for n in names)


def test_state_file_is_0600_and_keyed_by_target(deployed: dict[str, Any]) -> None:
    path = deployed["result"].state_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert list(doc["deployments"]) == [f"local/us-east-1/{NAME}"]


def test_rerun_changes_nothing(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    before = listing(local_agentcore)
    again = deploy(deployed["config"], state_path=deployed["result"].state_path)
    assert again.writes == [], again.writes
    assert not again.changed and again.tools is None  # the smoke test is skipped too
    assert listing(local_agentcore) == before


def test_a_runtime_deleted_outside_is_recreated(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    state = deployed["result"].state_path
    old = load_state(state).deployments[f"local/us-east-1/{NAME}"].runtime
    control = local_agentcore.client("bedrock-agentcore-control")
    control.delete_agent_runtime(agentRuntimeId=old.id)
    # no wait here: a runtime still DELETING is waited out by the deployer itself
    again = deploy(deployed["config"], state_path=state)
    assert again.steps["runtime"] and again.tools
    assert again.record.runtime.id != old.id
    assert listing(local_agentcore)["runtimes"][NAME]["id"] == again.record.runtime.id


def test_status_live_role_and_logs_commands(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    state = str(deployed["result"].state_path)
    common = ["--name", NAME, "--state", state, "--local-home", str(local_agentcore.home)]
    got = run_cli(["status", "--live", "--json", *common], cwd=workdir)
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert doc["live"]["runtime"]["status"] == "READY"
    assert all(doc["live"]["resources"].values()), doc["live"]

    home = ["--local-home", str(local_agentcore.home)]
    shown = run_cli(["role", "show", "--json", *home], cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["account"] == "123456789012"
    role = "DeployingRole"  # stands in for the role a developer deploys with
    iam = local_agentcore.client("iam")
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    put = run_cli(["role", "put-policy", "--role-name", role, "--json", *home], cwd=workdir)
    assert put.returncode == 0, put.stderr
    got_policy = run_cli(["role", "get-policy", "--role-name", role, *home], cwd=workdir)
    assert got_policy.returncode == 0, got_policy.stderr
    assert json.loads(got_policy.stdout) == json.loads(put.stdout)["document"]
    missing = run_cli(
        ["role", "get-policy", "--role-name", role, "--policy-name", "nope", *home], cwd=workdir
    )
    assert missing.returncode == 7 and "put-policy" in missing.stderr
    iam.delete_role_policy(RoleName=role, PolicyName="AgentCoreMcpDeployer")
    iam.delete_role(RoleName=role)

    logs = run_cli(["logs", "--since", "1h", *common], cwd=workdir)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip(), "the smoke test's session should have logged its start"


def test_usage_and_config_errors_say_what_to_do(
    local_agentcore: LocalAgentCoreHandle, workdir: Path
) -> None:
    home = ["--local-home", str(local_agentcore.home)]
    bad = run_cli(["deploy", "--name", "has-hyphen", *home], cwd=workdir)
    assert bad.returncode == 6 and "no hyphens" in bad.stderr
    container = run_cli(
        [
            "deploy",
            "--name",
            "boxed",
            "--artifact",
            "container",
            "--state",
            str(workdir / "c.json"),
            *home,
        ],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert container.returncode == 6, container.stderr
    assert "Docker" in container.stderr and "drop --artifact container" in container.stderr
    iam = local_agentcore.client("iam")
    iam.create_role(RoleName="AgentCoreMcp-taken-us-east-1", AssumeRolePolicyDocument="{}")
    try:
        taken = run_cli(
            ["deploy", "--name", "taken", "--state", str(workdir / "t.json"), *home], cwd=workdir
        )
        # exit 6: the user decides (--adopt or another --name); see docs/deployer.md
        assert taken.returncode == 6, taken.stderr
        assert "untagged" in taken.stderr and "--adopt" in taken.stderr
        assert "--name" in taken.stderr
    finally:
        iam.delete_role(RoleName="AgentCoreMcp-taken-us-east-1")
    none = run_cli(
        ["status", "--name", "never_deployed", "--state", str(workdir / "x.json")], cwd=workdir
    )
    assert none.returncode == 7 and "agentcore-mcp deploy" in none.stderr


def test_dry_run_changes_nothing(local_agentcore: LocalAgentCoreHandle, workdir: Path) -> None:
    before = listing(local_agentcore)
    config = deploy_config(local_agentcore, name="dry_only", auth="oauth", secrets=("TOKEN",))
    result = deploy(
        config, state_path=workdir / "dry.json", dry_run=True, secret_values={"TOKEN": "x"}
    )
    assert result.writes == [] and result.changed
    assert set(result.steps) == {"cognito", "role", "build", "runtime", "publish"}
    assert listing(local_agentcore) == before
    assert not (workdir / "dry.json").exists()


def test_destroy_leaves_nothing(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], workdir: Path
) -> None:
    state = deployed["result"].state_path
    common = ["--name", NAME, "--state", str(state), "--local-home", str(local_agentcore.home)]
    dry = run_cli(["destroy", "--dry-run", *common], cwd=workdir)
    assert dry.returncode == 0 and "would remove" in dry.stdout
    gone = run_cli(["destroy", "--yes", "--json", *common], cwd=workdir)
    assert gone.returncode == 0, gone.stderr
    after = listing(local_agentcore)
    before = deployed["before"]
    # the deployer's bucket goes too once empty; the fixture's own resources stay
    assert after == before
    assert f"local/us-east-1/{NAME}" not in load_state(state).deployments
    again = run_cli(["destroy", "--yes", "--json", *common], cwd=workdir)
    assert again.returncode == 0 and not any(json.loads(again.stdout)["removed"].values())
