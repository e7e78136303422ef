"""A local instance sees what an AgentCore microVM sees: its zip and the standard library.

A server importing a package its project never declared (boto3: the developer's
environment has it, the zip does not) deployed, answered locally and then failed every
session on AWS. Now the local deploy fails the same way, naming the module, and `logs`
holds the traceback. And a session writes no bytecode into the unpacked version: the
next session starts from exactly what the zip carried.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from agentcore_mcp.deploy.plan import deploy
from tests.support.deploy import PROJECTS, call, deploy_config, run_cli, tool_text
from tests.support.local import LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # whole deploys


def test_an_undeclared_dependency_fails_the_local_deploy_naming_it(
    local_agentcore: LocalAgentCoreHandle, workdir: Path
) -> None:
    import boto3  # noqa: F401  (present here: the point is that the instance cannot see it)

    project = workdir / "undeclared"
    shutil.copytree(PROJECTS / "undeclared", project)
    home = ["--local-home", str(local_agentcore.home)]
    got = run_cli(["deploy", *home], cwd=project)
    assert got.returncode == 8, got.stdout + got.stderr
    assert "No module named 'boto3'" in got.stderr, got.stderr
    # The build said it too: the manifest could not be recorded from the zip's files.
    assert "boto3" in got.stdout + got.stderr
    logs = run_cli(["logs", *home], cwd=project)
    assert logs.returncode == 0, logs.stderr
    assert "Traceback (most recent call last)" in logs.stdout
    assert "ModuleNotFoundError: No module named 'boto3'" in logs.stdout


def test_sessions_write_no_bytecode_into_the_unpacked_version(
    local_agentcore: LocalAgentCoreHandle, workdir: Path
) -> None:
    project = workdir / "tabletool"
    shutil.copytree(PROJECTS / "tabletool", project)
    config = deploy_config(local_agentcore, project_dir=project)
    result = deploy(config, state_path=project / "deployment_config.json")
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
