"""A local instance sees what an AgentCore microVM sees: its zip and the standard library.

A server importing a package its project never declared (boto3: the developer's
environment has it, the zip does not) deployed, answered locally and then failed every
session on AWS. Now the local deploy fails the same way, naming the module, and `logs`
holds the traceback. (That a session writes no bytecode into the unpacked version is
checked on test_deploy_user_project.py's deployment of the same project.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.deploy import PROJECTS, run_cli
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
