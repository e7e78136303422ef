"""The README's main command: `agentcore-mcp deploy` with no local AgentCore running
starts one in the background, says so, deploys the sample and lists its tools, using
only the local AgentCore's own credentials (a bogus AWS_PROFILE changes nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcore_mcp.local.credentials import read_local_credentials
from tests.support.deploy import run_cli
from tests.support.procs import free_port

pytestmark = pytest.mark.slow  # deploys that start a local AgentCore in the background


def test_deploy_starts_the_local_agentcore_and_lists_tools(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    try:
        got = run_cli(
            ["deploy", "--local-home", str(home), "--local-port", str(port), "--json"],
            cwd=tmp_path,
            env={"AWS_ACCESS_KEY_ID": "AKIAUSERSREALKEY0000", "AWS_SECRET_ACCESS_KEY": "x"},
        )
        assert got.returncode == 0, got.stderr
        assert "starting the local AgentCore in the background" in got.stderr
        doc = json.loads(got.stdout)
        assert doc["started_local"] is True
        assert "echo" in doc["tools"]
        creds = read_local_credentials(home)
        assert creds is not None and creds.url.endswith(f":{port}")
        assert doc["deployment"]["endpoint_url"] == creds.url
        # what `tools --remote` reads with no flags finds this deployment
        from agentcore_mcp.cli.target import DEFAULT_SSM_PARAMETER
        from agentcore_mcp.client.runtime import target_from_ssm
        from agentcore_mcp.deploy.config import load_config
        from agentcore_mcp.deploy.target import open_target

        session = open_target(load_config(tmp_path, local_home=home), start_local=False).session
        found = target_from_ssm(DEFAULT_SSM_PARAMETER, session)
        assert found.arn == doc["deployment"]["runtime"]["arn"] and found.auth == "sigv4"
        # a second deploy finds it running and changes nothing
        again = run_cli(["deploy", "--local-home", str(home), "--json"], cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert second["started_local"] is False and second["writes"] == []
    finally:
        stopped = run_cli(["local", "stop", "--home", str(home)], cwd=tmp_path)
        if stopped.returncode != 0:  # never leave the process this test started running
            _terminate_from_pid_file(home / "local.pid")
        assert stopped.returncode == 0, stopped.stderr


def _terminate_from_pid_file(pid_file: Path) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)


def test_aws_target_with_nothing_at_the_endpoint_says_so(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    got = run_cli(
        ["deploy", "--target", "aws", "--name", "nowhere", "--state", str(tmp_path / "s.json")],
        cwd=tmp_path,
        env={
            "AWS_PROFILE": "",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed}",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
            "AWS_SECRET_ACCESS_KEY": "example",
            "AWS_REGION": "us-east-1",
        },
        timeout=120,
    )
    assert got.returncode == 4, got.stderr
    assert (
        f"cannot reach http://127.0.0.1:{closed}" in got.stderr and "AWS_ENDPOINT_URL" in got.stderr
    )
    assert "Traceback" not in got.stderr
    assert not (tmp_path / "s.json").exists()
