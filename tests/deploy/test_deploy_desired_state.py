"""The recorded deployment is the desired state: a plain `deploy` keeps the server, the
auth, the secrets, env vars and headers; destructive changes need --yes; a removed secret
is scheduled for deletion (7-day window), restorable, and restored when added again.

One deployment on a real local AgentCore, driven through the CLI as a user does; the
tests run in order and each starts from what the previous one left.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.state import load_state
from agentcore_mcp.local.credentials import read_local_credentials
from tests.support.deploy import listing, run_cli
from tests.support.local import CREDS, LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # six deploys of a user's server (runtime updates, smoke tests)

NAME = "desired_sample"
KEY = f"local/us-east-1/{NAME}"
SECRET_VALUE = "sk-test-desired-state-4e1d"
USER_APP = Path(__file__).resolve().parents[1] / "support" / "user_app.py"


@pytest.fixture(scope="module")
def project(workdir: Path) -> Path:
    dest = workdir / "shouter"
    dest.mkdir()
    shutil.copy(USER_APP, dest / "shouter.py")
    return dest


def _cli(
    handle: LocalAgentCoreHandle, project: Path, *args: str, env: dict[str, str] | None = None
) -> Any:
    state = project / "deployment_config.json"
    common = ["--name", NAME, "--state", str(state), "--local-home", str(handle.home)]
    return run_cli(["deploy", *common, *args], cwd=project, env=env)


def _runtime(handle: LocalAgentCoreHandle, project: Path) -> dict[str, Any]:
    record = load_state(project / "deployment_config.json").deployments[KEY]
    assert record.runtime is not None
    got: dict[str, Any] = handle.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=record.runtime.id
    )
    got.pop("ResponseMetadata", None)
    return got


@pytest.fixture(scope="module")
def deployed(local_agentcore: LocalAgentCoreHandle, project: Path) -> dict[str, Any]:
    got = _cli(
        local_agentcore,
        project,
        "--server",
        "shouter:mcp",
        "--oauth",
        "--secret",
        "OPENAI_API_KEY",
        "--env",
        "LOG_LEVEL=info",
        "--env",
        "REGION_HINT=eu",
        "--allow-header",
        "X-Tenant",
        "--idle-timeout",
        "300",
        env={"OPENAI_API_KEY": SECRET_VALUE},
    )
    assert got.returncode == 0, got.stderr
    assert "shout" in got.stdout  # the smoke test listed the user's tool
    assert "preflight: shouter:mcp imports; tools: shout" in got.stderr
    return {"first": _runtime(local_agentcore, project), "stdout": got.stdout}


def test_plain_redeploy_keeps_server_auth_secret_env_and_headers(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    before = listing(local_agentcore)
    got = _cli(local_agentcore, project, "--json")  # no flags at all, no secret in env
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert doc["writes"] == [] and doc["changes"] == [] and doc["scheduled_deletions"] == []
    assert "preflight" not in got.stderr  # the code a finished deploy built: not imported again
    assert listing(local_agentcore) == before
    runtime = _runtime(local_agentcore, project)
    assert runtime == deployed["first"]
    assert "customJWTAuthorizer" in runtime["authorizerConfiguration"]
    assert runtime["environmentVariables"]["LOG_LEVEL"] == "info"
    assert "OPENAI_API_KEY_SECRET_ID" in runtime["environmentVariables"]
    record = load_state(project / "deployment_config.json").deployments[KEY]
    assert record.server_spec == "shouter:mcp" and record.auth == "oauth"
    sm = local_agentcore.client("secretsmanager")
    assert sm.get_secret_value(SecretId=record.secrets["OPENAI_API_KEY"])["SecretString"] == (
        SECRET_VALUE
    )


def test_the_next_commands_printed_pick_this_deployment_and_work(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    """The `next:` lines name this deployment (its state file and --name) and leave the
    auth to the record: the first one, run as printed, reaches the OAuth runtime. (Read
    from the first deploy's output, which was given --oauth: not echoed into the hints.)"""
    printed = deployed["stdout"]
    hints = printed.split("next:", 1)[1].split("\n")
    tools = next(h.strip() for h in hints if "tools list --remote" in h)
    state = project / "deployment_config.json"
    assert tools == f"agentcore-mcp tools list --remote --state {state} --name {NAME}"
    assert "--oauth" not in printed.split("next:", 1)[1]
    # The user's own keys, which this local AgentCore accepts (it was started with them).
    env = {**CREDS, "AWS_REGION": "us-east-1", "AWS_PROFILE": ""}
    listed = run_cli([*tools.split()[1:], "--json"], cwd=project.parent, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)] == ["shout"]


def test_a_flag_changes_only_what_it_names(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    """`--env A=1` adds A and keeps the recorded env; `--name` alone keeps the server."""
    got = _cli(local_agentcore, project, "--env", "EXTRA=1", "--json")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert [c["message"] for c in doc["changes"]] == ["add env var EXTRA"]
    assert doc["destructive"] is False and doc["tools"] == ["shout"]  # not the sample's
    env = _runtime(local_agentcore, project)["environmentVariables"]
    assert env["LOG_LEVEL"] == "info" and env["REGION_HINT"] == "eu" and env["EXTRA"] == "1"


def test_destructive_changes_without_yes_exit_2_and_change_nothing(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    before = listing(local_agentcore)
    state_before = (project / "deployment_config.json").read_text()
    got = _cli(
        local_agentcore,
        project,
        "--remove-secret",
        "OPENAI_API_KEY",
        "--remove-env",
        "REGION_HINT",
        "--remove-header",
        "x-tenant",
        "--sigv4",
        "--server",
        "agentcore_mcp.server.sample:build_sample_server",
    )
    assert got.returncode == 2, got.stderr
    for named in (
        "remove secret OPENAI_API_KEY",
        "remove env var REGION_HINT",
        "stop passing header X-Tenant",
        "switch auth from oauth to sigv4",
        "replace the server shouter:mcp",
        "--yes",
    ):
        assert named in got.stderr, named
    assert "Traceback" not in got.stderr
    assert listing(local_agentcore) == before
    assert (project / "deployment_config.json").read_text() == state_before


def test_on_a_terminal_a_destructive_change_is_asked_and_no_keeps_everything(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    """stdin is a terminal (a pty): deploy asks; answering no changes nothing."""
    before = listing(local_agentcore)
    state = project / "deployment_config.json"
    state_before = state.read_text()
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    try:
        os.write(controller, b"n\n")  # typed ahead; the terminal holds it for the prompt
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "agentcore_mcp",
                "deploy",
                "--name",
                NAME,
                "--state",
                str(state),
                "--local-home",
                str(local_agentcore.home),
                "--remove-env",
                "REGION_HINT",
            ],
            cwd=project,
            env=env,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert "apply 1 destructive change(s) listed above?" in proc.stderr
    assert "destructive change: remove env var REGION_HINT" in proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert listing(local_agentcore) == before
    assert state.read_text() == state_before


def test_dry_run_marks_destructive_changes_in_text_and_json(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    before = listing(local_agentcore)
    flags = ["--dry-run", "--remove-env", "EXTRA", "--sigv4", "--idle-timeout", "600"]
    text = _cli(local_agentcore, project, *flags)
    assert text.returncode == 0, text.stderr
    assert "DESTRUCTIVE change: remove env var EXTRA" in text.stdout
    assert "DESTRUCTIVE change: switch auth from oauth to sigv4" in text.stdout
    assert "\nchange: idle timeout 300 -> 600" in text.stdout
    as_json = _cli(local_agentcore, project, *flags, "--json")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["dry_run"] is True and doc["destructive"] is True and doc["writes"] == []
    marked = {c["message"]: c["destructive"] for c in doc["changes"]}
    assert marked == {
        "switch auth from oauth to sigv4": True,
        "remove env var EXTRA": True,
        "idle timeout 300 -> 600": False,
    }
    assert listing(local_agentcore) == before


def test_remove_secret_with_yes_schedules_deletion_and_prints_the_restore_command(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    arn = load_state(project / "deployment_config.json").deployments[KEY].secrets["OPENAI_API_KEY"]
    got = _cli(local_agentcore, project, "--remove-secret", "OPENAI_API_KEY", "--yes")
    assert got.returncode == 0, got.stderr
    assert (
        "OPENAI_API_KEY_SECRET_ID" not in _runtime(local_agentcore, project)["environmentVariables"]
    )
    sm = local_agentcore.client("secretsmanager")
    described = sm.describe_secret(SecretId=arn)
    assert described.get("DeletedDate")  # scheduled, not gone
    with pytest.raises(ClientError) as refused:
        sm.get_secret_value(SecretId=arn)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    # The printed command, run with boto3: its arguments bring the secret back.
    found = re.search(
        r"aws secretsmanager restore-secret --secret-id (\S+) --region (\S+) --endpoint-url (\S+)",
        got.stdout,
    )
    assert found is not None, got.stdout
    assert found[1] == arn and found[2] == "us-east-1"
    creds = read_local_credentials(local_agentcore.home)
    assert creds is not None
    boto3.client(
        "secretsmanager",
        region_name=found[2],
        endpoint_url=found[3],
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
    ).restore_secret(SecretId=found[1])
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == SECRET_VALUE
    assert (
        "OPENAI_API_KEY"
        not in load_state(project / "deployment_config.json").deployments[KEY].secrets
    )


def test_re_adding_a_secret_scheduled_for_deletion_restores_it(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    sm = local_agentcore.client("secretsmanager")
    secret_id = f"agentcore-mcp/{NAME}/OPENAI_API_KEY"
    sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=7)  # as a removal leaves it
    got = _cli(local_agentcore, project, "--secret", "OPENAI_API_KEY")  # no value given
    assert got.returncode == 0, got.stderr
    assert "restored secret OPENAI_API_KEY" in got.stderr
    assert sm.get_secret_value(SecretId=secret_id)["SecretString"] == SECRET_VALUE
    env = _runtime(local_agentcore, project)["environmentVariables"]
    assert env["OPENAI_API_KEY_SECRET_ID"] == sm.describe_secret(SecretId=secret_id)["ARN"]


def test_destroy_schedules_the_secrets_deletion_with_a_window(
    local_agentcore: LocalAgentCoreHandle, project: Path, deployed: dict[str, Any]
) -> None:
    state = project / "deployment_config.json"
    arn = load_state(state).deployments[KEY].secrets["OPENAI_API_KEY"]
    got = run_cli(
        [
            "destroy",
            "--yes",
            "--name",
            NAME,
            "--state",
            str(state),
            "--local-home",
            str(local_agentcore.home),
        ],
        cwd=project,
    )
    assert got.returncode == 0, got.stderr
    assert f"aws secretsmanager restore-secret --secret-id {arn} --region us-east-1" in got.stdout
    sm = local_agentcore.client("secretsmanager")
    assert sm.describe_secret(SecretId=arn).get("DeletedDate")  # scheduled, restorable
    assert NAME not in listing(local_agentcore)["runtimes"]
    # The Cognito user's password goes at once with its pool: a redeploy makes a new one.
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=f"agentcore-mcp/{NAME}/cognito-user")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
