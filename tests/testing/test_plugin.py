"""The pytest plugin's fixtures, used by a project's own pytest run (a child process in a
folder of its own, the plugin loaded through its entry point): a SigV4 deployment of the
project's server, an anyio test on the connected client, clean-up (no runtime session
left, no runtime, no local AgentCore process), nothing of the user's read; one local
AgentCore per xdist worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.procs import wait_for_file
from tests.testing.inner import mini_project, pid_alive, pytest_argv, run_pytest

pytestmark = pytest.mark.slow  # child pytest runs that start local AgentCores and deploy

CONFTEST = '''\
import json, os, pathlib

import pytest

OUT = pathlib.Path(os.environ["PLUGIN_OUT"])


@pytest.fixture(scope="session")
def agentcore_deployment(agentcore_deploy):
    """The plugin's own, overridden: the project's server (pyproject), with an env var."""
    return agentcore_deploy(env={"MINI_MODE": "tested"})


@pytest.fixture(scope="session", autouse=True)
def witness(agentcore_local):
    """Set up before agentcore_deploy, so torn down after it (deployments destroyed) and
    before the local AgentCore stops: what is left in it then."""
    yield
    status = agentcore_local.status()
    OUT.joinpath("teardown.json").write_text(json.dumps({
        "runtimes": status["runtimes"], "sessions": status["sessions"],
        "pid": agentcore_local.pid, "instances": [s["pid"] for s in status["sessions"]],
    }))
'''

TESTS = """\
import os

import boto3
import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.config import ConfigError


def live(local, runtime_id):
    return [s for s in local.status()["sessions"] if s["runtime_id"] == runtime_id]


@pytest.mark.anyio
async def test_a_call_through_the_client(agentcore_client, agentcore_deployment, agentcore_local):
    result = await agentcore_client.call_tool("echo", {"text": "hi"})
    assert not result.is_error
    assert result.content[0].text == "hi"
    assert len(live(agentcore_local, agentcore_deployment.runtime_id)) == 1


def test_b_the_client_session_was_stopped(agentcore_deployment, agentcore_local):
    assert live(agentcore_local, agentcore_deployment.runtime_id) == []
    assert agentcore_deployment.auth == "sigv4"
    assert agentcore_deployment.tools == ["echo", "env_var"]
    assert agentcore_deployment.name == "mini_1"
    assert agentcore_deployment.arn.startswith("arn:aws:bedrock-agentcore:us-east-1:")
    assert agentcore_deployment.state_path.parent.is_relative_to(agentcore_local.home.parents[1])


def test_c_sync_helpers_stop_their_sessions(agentcore_deployment, agentcore_local):
    assert agentcore_deployment.call_tool("echo", {"text": "sync"}).content[0].text == "sync"
    assert agentcore_deployment.list_tools() == ["echo", "env_var"]
    env = agentcore_deployment.call_tool("env_var", {"name": "MINI_MODE"})
    assert env.content[0].text == "tested"
    assert live(agentcore_local, agentcore_deployment.runtime_id) == []


def test_d_boto3_settings_reach_it_and_test_test_does_not(agentcore_local, monkeypatch):
    for var in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):  # this HOME's are broken
        monkeypatch.setenv(var, os.devnull)
    monkeypatch.delenv("AWS_PROFILE")
    assert agentcore_local.client("sts").get_caller_identity()["Account"] == "123456789012"
    sts = boto3.client("sts", **agentcore_local.boto3_settings)
    assert sts.get_caller_identity()["Account"] == agentcore_local.account_id
    well_known = {**agentcore_local.boto3_settings,
                  "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    with pytest.raises(ClientError):
        boto3.client("sts", **well_known).get_caller_identity()


def test_e_a_bad_spec_is_refused_before_anything_is_made(agentcore_deploy, agentcore_local):
    before = agentcore_local.status()["runtimes"]
    with pytest.raises(ConfigError, match="module:attribute"):
        agentcore_deploy("mini/server.py")
    assert agentcore_local.status()["runtimes"] == before
"""


def test_fixtures_deploy_connect_and_clean_up(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    project = mini_project(tmp_path / "project", {"conftest.py": CONFTEST, "test_it.py": TESTS})
    # What a user has around must not be read: a broken ~/.aws, a profile that does not
    # exist, AWS keys of their own, a local AgentCore's credentials in the default home,
    # and a state file in the project's folder.
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile broken\nnot ini at all")
    (home / ".aws" / "credentials").write_text("[default\n")
    (home / ".agentcore-mcp" / "local").mkdir(parents=True)
    (home / ".agentcore-mcp" / "local" / "credentials.json").write_text("{not json")
    (project / "deployment_config.json").write_text("{not json")
    got = run_pytest(
        project,
        env={
            "PLUGIN_OUT": str(out),
            "HOME": str(home),
            "AWS_PROFILE": "no-such-profile",
            "AWS_ACCESS_KEY_ID": "AKIAUSERSOWNKEY00001",
            "AWS_SECRET_ACCESS_KEY": "users-own-secret",
        },
    )
    assert got.returncode == 0, got.stdout + got.stderr
    assert "5 passed" in got.stdout
    teardown = json.loads((out / "teardown.json").read_text())
    assert teardown["runtimes"] == []  # destroyed at the factory's teardown
    assert teardown["sessions"] == []
    assert not pid_alive(teardown["pid"])  # the local AgentCore stopped
    assert (project / "deployment_config.json").read_text() == "{not json"


XDIST_TESTS = """\
import json, os, pathlib

OUT = pathlib.Path(os.environ["PLUGIN_OUT"])


def test_where(agentcore_local):
    assert agentcore_local.client("s3").list_buckets()["Buckets"] == []
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    OUT.joinpath(f"{worker}.json").write_text(json.dumps({
        "port": agentcore_local.port, "home": str(agentcore_local.home),
        "pid": agentcore_local.pid,
    }))
"""


def test_one_local_agentcore_per_xdist_worker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    project = mini_project(tmp_path / "project", {"test_where.py": XDIST_TESTS})
    # --dist each: every worker runs the test, so each starts its session's fixture.
    got = run_pytest(project, ["-n", "2", "--dist", "each"], env={"PLUGIN_OUT": str(out)})
    assert got.returncode == 0, got.stdout + got.stderr
    seen = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert sorted(seen) == ["gw0", "gw1"]
    assert seen["gw0"]["port"] != seen["gw1"]["port"]
    assert seen["gw0"]["home"] != seen["gw1"]["home"]
    assert not any(pid_alive(s["pid"]) for s in seen.values())


HANGS_TESTS = """\
import os, pathlib, time


def test_hangs(agentcore_local):
    pathlib.Path(os.environ["PLUGIN_OUT"]).write_text(str(agentcore_local.pid))
    time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_a_killed_pytest_leaves_no_local_agentcore(tmp_path: Path) -> None:
    """SIGKILL runs no teardown: the local AgentCore gets the parent-death SIGTERM."""
    out = tmp_path / "pid"
    project = mini_project(tmp_path / "project", {"test_hangs.py": HANGS_TESTS})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.Popen(
        pytest_argv(),
        cwd=project,
        env={**env, "PLUGIN_OUT": str(out)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        text = wait_for_file(out, timeout=180)
        assert text is not None, "the inner test never started"
        local_pid = int(text)
        assert pid_alive(local_pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 60  # its own stop: sessions, then a bounded drain
    while pid_alive(local_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(local_pid)
