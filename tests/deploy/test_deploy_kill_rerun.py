"""SIGKILL the deployer mid-flight, then run it again: one complete deployment, no
duplicates of any kind; destroy also cleans up after a killed deploy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy import listing, run_cli
from tests.support.local import LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # deploys killed halfway and run again

SECRET = "kill-test-secret-value"


def _args(handle: LocalAgentCoreHandle, name: str, state: Path) -> list[str]:
    return [
        "deploy",
        "--oauth",
        "--name",
        name,
        "--secret",
        "API_KEY",
        "--state",
        str(state),
        "--local-home",
        str(handle.home),
    ]


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["API_KEY"] = SECRET
    return subprocess.Popen(
        [sys.executable, "-m", "agentcore_mcp", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    # its own process group: the deployer and any child it started (uv, the manifest run)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _ours(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    """The resources of deployment `name`, counted, from a listing."""
    return {
        "runtimes": [r for r in snapshot["runtimes"] if r == name],
        "roles": [r for r in snapshot["iam"] if r == f"AgentCoreMcp-{name}-us-east-1"],
        "pools": [p for p in snapshot["cognito"] if p == f"agentcore-mcp-{name}"],
        "clients": [
            c
            for p, v in snapshot["cognito"].items()
            if p == f"agentcore-mcp-{name}"
            for c in v["clients"]
        ],
        "users": [
            u
            for p, v in snapshot["cognito"].items()
            if p == f"agentcore-mcp-{name}"
            for u in v["users"]
        ],
        "secrets": sorted(s for s in snapshot["secrets"] if s.startswith(f"agentcore-mcp/{name}/")),
        "parameters": sorted(p for p in snapshot["ssm"] if p.startswith(f"/agentcore-mcp/{name}/")),
        "objects": [
            k for objs in snapshot["s3"].values() for k, _ in objs if k.startswith(f"{name}/")
        ],
    }


def _assert_one_complete(handle: LocalAgentCoreHandle, name: str) -> None:
    ours = _ours(listing(handle), name)
    assert ours == {
        "runtimes": [name],
        "roles": [f"AgentCoreMcp-{name}-us-east-1"],
        "pools": [f"agentcore-mcp-{name}"],
        "clients": [f"agentcore-mcp-{name}"],
        "users": ["agentcore-mcp-user"],
        "secrets": [f"agentcore-mcp/{name}/API_KEY", f"agentcore-mcp/{name}/cognito-user"],
        "parameters": [f"/agentcore-mcp/{name}/agent_arn", f"/agentcore-mcp/{name}/deployment"],
        "objects": ours["objects"][:1],
    }, ours
    assert len(ours["objects"]) == 1


def test_killed_while_creating_the_runtime_then_destroy_cleans_up(
    local_agentcore: LocalAgentCoreHandle, workdir: Path
) -> None:
    before = listing(local_agentcore)
    state = workdir / "killed.json"
    proc = _spawn(_args(local_agentcore, "killed_once", state), workdir)
    assert proc.stderr is not None
    deadline = time.monotonic() + 240
    seen = ""
    try:
        for line in proc.stderr:  # bounded by the deadline and the process's end
            seen += line
            if "created runtime" in line or time.monotonic() > deadline:
                break
    finally:
        _kill(proc)
    assert "created runtime" in seen, seen
    gone = run_cli(
        [
            "destroy",
            "--yes",
            "--name",
            "killed_once",
            "--state",
            str(state),
            "--local-home",
            str(local_agentcore.home),
        ],
        cwd=workdir,
    )
    assert gone.returncode == 0, gone.stderr
    assert listing(local_agentcore) == before


# Where in a deploy the SIGKILL lands: early (secrets, role), in the middle (the build, the
# pool), late (the runtime, the parameters); the exact step depends on the machine's speed,
# and the test "killed while creating the runtime" pins that one step. These were five
# random delays, two of them 0.01 s apart: three spread points cover the same ground.
KILL_AFTER_SECONDS = {"early": 1.3, "middle": 5.1, "late": 7.7}


@pytest.mark.parametrize("point", sorted(KILL_AFTER_SECONDS))
def test_sigkill_at_a_point_then_rerun_converges(
    local_agentcore: LocalAgentCoreHandle, workdir: Path, point: str
) -> None:
    name = f"killed_{point}"
    state = workdir / f"{name}.json"
    delay = KILL_AFTER_SECONDS[point]
    proc = _spawn(_args(local_agentcore, name, state), workdir)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        pass
    finally:
        _kill(proc)
    env = {"API_KEY": SECRET}
    again = run_cli(_args(local_agentcore, name, state), cwd=workdir, env=env)
    assert again.returncode == 0, f"{point} (killed at {delay:.2f} s): {again.stderr}"
    _assert_one_complete(local_agentcore, name)
    third = run_cli([*_args(local_agentcore, name, state), "--json"], cwd=workdir, env=env)
    assert third.returncode == 0 and '"writes": []' in third.stdout, third.stdout[-2000:]
