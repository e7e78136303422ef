"""What a deploy trusts on a shared machine: the endpoint it talks to (here) and the
bytes it uploads (test_deploy_user_project.py's tool-change redeploy, which builds a new
zip anyway). Another local user is played by uid 65534 (nobody) where the test runs as
root."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from agentcore_mcp.local.credentials import (
    new_local_credentials,
    read_local_credentials,
    write_local_credentials,
)
from agentcore_mcp.local.identity import IDENTITY_PATH, identity_proof
from tests.support.deploy import PROJECTS, run_cli
from tests.support.local import LocalAgentCoreHandle
from tests.support.procs import RunningProcess, free_port
from tests.support.squatter import OTHER_UID, run_squatter


@pytest.fixture
def squatter(tmp_path: Path) -> Iterator[RunningProcess]:
    with run_squatter(tmp_path) as proc:
        yield proc


def test_identity_route_answers_only_with_a_proof_of_the_start_secret(
    local_agentcore: LocalAgentCoreHandle,
) -> None:
    creds = read_local_credentials(local_agentcore.home)
    assert creds is not None
    nonce = secrets.token_hex(32)
    with httpx2.Client(base_url=local_agentcore.url, trust_env=False) as http:
        got = http.get(IDENTITY_PATH, params={"nonce": nonce})  # no token needed
        assert got.status_code == 200
        proof = got.json()["proof"]
        assert proof == identity_proof(creds.admin_token, creds.url, nonce)
        assert creds.admin_token not in got.text and creds.secret_access_key not in got.text
        other = http.get(IDENTITY_PATH, params={"nonce": secrets.token_hex(32)}).json()
        assert other["proof"] != proof  # a proof is good for its nonce only
        assert http.get(IDENTITY_PATH).status_code == 400
        assert http.get(IDENTITY_PATH, params={"nonce": "../x"}).status_code == 400
        # the other admin routes still want the admin token
        assert http.get("/_local/status").status_code == 401


def _dead_local_home(tmp_path: Path, url: str) -> Path:
    """A home whose local AgentCore died without a clean stop: its credentials stay."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    creds = new_local_credentials(url, "us-east-1", "123456789012")
    write_local_credentials(home, creds)
    return home


def test_a_squatter_on_the_recorded_port_gets_nothing(
    tmp_path: Path, squatter: RunningProcess
) -> None:
    home = _dead_local_home(tmp_path, squatter.base_url)
    creds = read_local_credentials(home)
    assert creds is not None
    project = tmp_path / "tabletool"
    shutil.copytree(PROJECTS / "tabletool", project)
    secret_value = "sv-" + secrets.token_hex(16)
    got = run_cli(
        [
            "deploy",
            "--local-home",
            str(home),
            "--state",
            str(tmp_path / "state.json"),
            "--secret",
            "MY_API_KEY",
        ],
        cwd=project,
        env={"MY_API_KEY": secret_value},
    )
    received = squatter.log()
    assert got.returncode == 4, got.stderr
    # The preflight's progress lines come first (the server is imported before any
    # endpoint is contacted); the refusal is one line, the last.
    errors = [x for x in got.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and got.stderr.strip().endswith(errors[0]), got.stderr
    line = errors[0]
    assert f"listens on {squatter.base_url}, not the local AgentCore" in line
    assert "nothing was sent to it" in line and "agentcore-mcp local stop" in line
    assert "--local-port" in line
    if os.getuid() == 0:
        assert f"a process of uid {OTHER_UID}" in line
    # it was asked to prove itself (a nonce), and got nothing else
    assert f"GET {IDENTITY_PATH}?nonce=" in received
    assert received.count("\n----\n") == 1, received
    for secret in (secret_value, creds.secret_access_key, creds.admin_token):
        assert secret not in received
    assert "Authorization" not in received
    assert not (tmp_path / "state.json").exists()


@pytest.mark.slow  # starts a local AgentCore
def test_local_port_elsewhere_starts_a_fresh_local_agentcore(
    tmp_path: Path, squatter: RunningProcess
) -> None:
    """The way out the message names: --local-port on another port treats the stale
    credentials as gone and starts a new local AgentCore there."""
    home = _dead_local_home(tmp_path, squatter.base_url)
    port = free_port()
    project = tmp_path / "tabletool"
    shutil.copytree(PROJECTS / "tabletool", project)
    try:
        args = ["deploy", "--dry-run", "--local-home", str(home), "--local-port", str(port)]
        got = run_cli([*args, "--state", str(tmp_path / "state.json")], cwd=project)
        assert got.returncode == 0, got.stderr
        assert f"starting the local AgentCore in the background on 127.0.0.1:{port}" in (
            got.stderr.replace("http://", "")
        )
        fresh = read_local_credentials(home)
        assert fresh is not None and fresh.url == f"http://127.0.0.1:{port}"
        received = squatter.log()
        assert received.count("\n----\n") == 1 and f"GET {IDENTITY_PATH}?nonce=" in received
    finally:
        stopped = run_cli(["local", "stop", "--home", str(home)], cwd=tmp_path)
        assert stopped.returncode == 0, stopped.stderr
