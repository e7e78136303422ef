"""A user's own server (a project with a third-party dependency), a tool change that
makes exactly one new version, and the AWS code path pointed at the local AgentCore.

One deployment of the project serves the tests in order (each whole deploy costs
seconds): what a session leaves in the unpacked version (the zip's bytecode only; once
in test_deploy_sees_only_its_zip.py) is checked on it, and the tool change's redeploy is
also the upload-trust check (once in test_deploy_trust.py): the zip is built in a
private folder and the bytes uploaded are the bytes hashed, whatever another local user
does to the copies under a shared $TMPDIR.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.deploy.context import Event
from agentcore_mcp.deploy.plan import deploy
from agentcore_mcp.deploy.state import load_state
from agentcore_mcp.local.credentials import read_local_credentials
from agentcore_mcp.local.process import healthy
from tests.support.deploy import PROJECTS, call, deploy_config, listing, run_cli, tool_text
from tests.support.local import LocalAgentCoreHandle
from tests.support.squatter import OTHER_UID

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


def test_sessions_write_no_bytecode_into_the_unpacked_version(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    """(Moved from test_deploy_sees_only_its_zip.py, which deployed this project again.)"""
    config, result = deployed["config"], deployed["result"]
    answer = call(local_agentcore, config, result.record, "table", {"rows": [["a", "1"]]})
    assert "a  1" in tool_text(answer)
    art = result.record.artifact
    body = local_agentcore.client("s3").get_object(Bucket=art.bucket, Key=art.key)["Body"].read()
    carried = {n for n in zipfile.ZipFile(io.BytesIO(body)).namelist() if n.endswith(".pyc")}
    assert carried  # the deployer ships bytecode
    unpacked = [
        p for p in (local_agentcore.home / "artifacts").glob(f"{result.record.runtime.id}/*")
    ]
    assert unpacked
    for version in unpacked:
        present = {p.relative_to(version).as_posix() for p in version.rglob("*.pyc")}
        assert present == carried, sorted(present ^ carried)[:10]
    # Adversarial: bytecode the zip did not carry. A new session compiles the server's
    # module from source and must leave nothing behind for the session after it.
    (pyc,) = [p for v in unpacked for p in v.glob("tabletool/__pycache__/server.*.pyc")]
    pyc.unlink()
    again = call(local_agentcore, config, result.record, "table", {"rows": [["b", "2"]]})
    assert "b  2" in tool_text(again)
    assert not pyc.exists()
    assert not list(pyc.parent.glob("server.*"))


def _evil_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("main.py", "print('EVIL: the zip was swapped after it was hashed')\n")
    return out.getvalue()


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A $TMPDIR like /tmp (1777) where another user made `agentcore-mcp-deploy` first,
    world-writable, the folder the deployer once reused for every build."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    squatted = tmp / "agentcore-mcp-deploy" / "artifacts"
    squatted.mkdir(parents=True)
    for folder in (squatted.parent, squatted):
        folder.chmod(0o777)
        if os.getuid() == 0:
            os.chown(folder, OTHER_UID, OTHER_UID)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_a_changed_tool_makes_exactly_one_new_version_from_the_hashed_bytes(
    local_agentcore: LocalAgentCoreHandle,
    deployed: dict[str, Any],
    project: Path,
    shared_tmp: Path,
) -> None:
    """Also test_deploy_trust.py's former test_the_upload_is_the_hashed_bytes_built_in_a_
    private_folder: between the hash and the upload, every zip a user could reach by
    path under $TMPDIR is replaced; the upload is still the bytes hashed."""
    runtime_id = deployed["result"].record.runtime.id
    before = listing(local_agentcore)["runtimes"]["tabletool"]["versions"]
    server = project / "tabletool" / "server.py"
    server.write_text(
        server.read_text() + "\n\n@mcp.tool()\ndef width(text: str) -> int:\n    return len(text)\n"
    )
    evil = _evil_zip()
    swapped: list[Path] = []
    build_dirs: list[tuple[Path, int]] = []

    def swap_zips(event: Event) -> None:
        # Between the hash and the upload, replace every zip a user could reach by path.
        if event.kind == "progress" and event.message.startswith("uploading"):
            for path in sorted(shared_tmp.rglob("*.zip")):
                build_dirs.append((path.parent, path.parent.stat().st_mode & 0o777))
                path.write_bytes(evil)
                swapped.append(path)

    changed = deploy(
        deployed["config"], state_path=project / "deployment_config.json", on_event=swap_zips
    )
    assert swapped, "the build wrote its copy of the zip under $TMPDIR"
    # the squatted folder was not used: nothing in it, and the build folder was private
    assert list((shared_tmp / "agentcore-mcp-deploy" / "artifacts").iterdir()) == []
    assert all(folder.parent == shared_tmp and mode == 0o700 for folder, mode in build_dirs)
    art: Any = changed.record.artifact
    body = local_agentcore.client("s3").get_object(Bucket=art.bucket, Key=art.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == art.sha256
    assert (
        b"EVIL" not in body
        and "tabletool/server.py" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    )
    assert not any(p.exists() for p in swapped)  # the build folder is removed after upload
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
