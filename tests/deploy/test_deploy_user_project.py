"""A user's own server (a project with a third-party dependency), a tool change that
makes exactly one new version, and the AWS code path pointed at the local AgentCore."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.deploy.plan import deploy
from agentcore_mcp.deploy.state import load_state
from agentcore_mcp.local.credentials import read_local_credentials
from agentcore_mcp.local.process import healthy
from tests.support.deploy import PROJECTS, call, deploy_config, listing, run_cli, tool_text
from tests.support.local import LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # whole deploys of user projects, one with a fresh venv


@pytest.fixture(scope="module")
def project(workdir: Path) -> Path:
    dest = workdir / "tabletool"
    shutil.copytree(PROJECTS / "tabletool", dest)
    return dest


@pytest.fixture(scope="module")
def deployed(local_agentcore: LocalAgentCoreHandle, project: Path) -> dict[str, Any]:
    config = deploy_config(local_agentcore, project_dir=project)  # name/app from pyproject
    result = deploy(config, state_path=project / "deployment_config.json")
    return {"config": config, "result": result}


def test_own_server_with_a_third_party_dependency(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    result = deployed["result"]
    assert deployed["config"].name == "tabletool"
    assert result.tools == ["table"]
    answer = call(
        local_agentcore, deployed["config"], result.record, "table", {"rows": [["a", "1"]]}
    )
    assert not answer.is_error and "a  1" in tool_text(answer)
    art = result.record.artifact
    body = local_agentcore.client("s3").get_object(Bucket=art.bucket, Key=art.key)["Body"].read()
    tops = {n.split("/")[0] for n in zipfile.ZipFile(io.BytesIO(body)).namelist()}
    assert {"tabulate", "tabletool", "agentcore_mcp", "mcp"} <= tops
    assert "openai" not in tops and "botocore" not in tops  # not the sample, no secrets


def test_a_changed_tool_makes_exactly_one_new_version(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], project: Path
) -> None:
    runtime_id = deployed["result"].record.runtime.id
    before = listing(local_agentcore)["runtimes"]["tabletool"]["versions"]
    server = project / "tabletool" / "server.py"
    server.write_text(
        server.read_text() + "\n\n@mcp.tool()\ndef width(text: str) -> int:\n    return len(text)\n"
    )
    changed = deploy(deployed["config"], state_path=project / "deployment_config.json")
    assert changed.steps["build"] and changed.steps["runtime"]
    assert not changed.steps["role"]
    assert sorted(changed.tools or []) == ["table", "width"]
    after = listing(local_agentcore)["runtimes"]["tabletool"]
    assert after["id"] == runtime_id
    assert len(after["versions"]) == len(before) + 1
    answer = call(local_agentcore, deployed["config"], changed.record, "width", {"text": "abcd"})
    assert tool_text(answer) == "4"
    rerun = deploy(deployed["config"], state_path=project / "deployment_config.json")
    assert rerun.writes == []
    assert listing(local_agentcore)["runtimes"]["tabletool"] == after


def test_aws_target_through_aws_endpoint_url(
    local_agentcore: LocalAgentCoreHandle, project: Path
) -> None:
    """`--target aws` is the same code path with boto3's defaults: here the endpoint and
    credentials point at the local AgentCore, and the build uses the host platform."""
    creds = read_local_credentials(local_agentcore.home)
    assert creds is not None and healthy(creds.url)
    env = {
        "AWS_ENDPOINT_URL": creds.url,
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_REGION": creds.region,
    }
    state = project / "deployment_config.json"
    got = run_cli(
        [
            "deploy",
            "--target",
            "aws",
            "--name",
            "aws_path",
            "--platform",
            "x86_64-unknown-linux-gnu",
            "--state",
            str(state),
            "--json",
        ],
        cwd=project,
        env={**env, "AWS_PROFILE": ""},
    )
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert doc["key"] == "aws/123456789012/us-east-1/aws_path"
    assert doc["tools"] == ["table", "width"]
    assert doc["deployment"]["artifact"]["platform"] == "x86_64-unknown-linux-gnu"
    keys = set(load_state(state).deployments)
    assert keys == {"local/us-east-1/tabletool", "aws/123456789012/us-east-1/aws_path"}
    # logs on the aws target read CloudWatch Logs (the embedded moto's here)
    runtime_id = doc["deployment"]["runtime"]["id"]
    logs = local_agentcore.client("logs")
    group = f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="bench-test-stream")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="bench-test-stream",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello from cloudwatch"}],
    )
    got_logs = run_cli(
        ["logs", "--target", "aws", "--name", "aws_path", "--state", str(state), "--since", "5m"],
        cwd=project,
        env={**env, "AWS_PROFILE": ""},
    )
    assert got_logs.returncode == 0, got_logs.stderr
    assert "hello from cloudwatch" in got_logs.stdout
    gone = run_cli(
        ["destroy", "--target", "aws", "--name", "aws_path", "--state", str(state), "--yes"],
        cwd=project,
        env={**env, "AWS_PROFILE": ""},
    )
    assert gone.returncode == 0, gone.stderr
    assert "aws_path" not in listing(local_agentcore)["runtimes"]
