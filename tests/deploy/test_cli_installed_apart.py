"""Your own project with the CLI installed apart (docs/packaging.md): `uv tool install
'agentcore-mcp[deploy,local]'` keeps the CLI's dependencies out of the project's
resolution, and the zip carries the project's own locked pins, even ones the CLI could not
live with (here typer 0.9.0; the CLI needs typer>=0.12)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agentcore_mcp.deploy.config import load_config
from agentcore_mcp.deploy.state import load_state
from agentcore_mcp.deploy.target import open_target
from tests.support.deploy import PROJECTS, REPO, call_tool, tool_text
from tests.support.procs import free_port

pytestmark = pytest.mark.slow  # installs the CLI as a uv tool twice, then a whole deploy


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No virtualenv of this checkout, no AWS settings: the tool's bin and uv on PATH."""
    uv = shutil.which("uv")
    assert uv is not None
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "VIRTUAL_ENV", "PYTHON", "UV_")) and k != "PATH"
    }
    return {
        **keep,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "PATH": os.pathsep.join([str(tmp_path / "bin"), str(Path(uv).parent), "/usr/bin", "/bin"]),
    }


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_own_project_whose_pins_conflict_with_the_cli(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    cli = str(tmp_path / "bin" / "agentcore-mcp")
    project = tmp_path / "pinnedtyper"
    shutil.copytree(PROJECTS / "pinnedtyper", project)
    home, state, port = tmp_path / "home", tmp_path / "state.json", str(free_port())
    deploy = [cli, "deploy", "--json", "--local-home", str(home), "--local-port", port]
    deploy += ["--state", str(state)]

    # [deploy] alone: a local deploy says what to install, in the uv tool's words
    got = _run(
        ["uv", "tool", "install", "--from", f"{REPO}[deploy]", "agentcore-mcp"], env, tmp_path
    )
    assert got.returncode == 0, got.stderr
    got = _run(deploy, env, project)
    assert got.returncode == 6, got.stderr
    assert "uv tool install 'agentcore-mcp[deploy,local]'" in got.stderr
    assert not (home / "local.log").exists()  # nothing was started

    # the documented install: [deploy,local]
    got = _run(
        ["uv", "tool", "install", "--force", "--from", f"{REPO}[deploy,local]", "agentcore-mcp"],
        env,
        tmp_path,
    )
    assert got.returncode == 0, got.stderr
    tool_python = str(tmp_path / "tools" / "agentcore-mcp" / "bin" / "python")
    cli_typer = _run([tool_python, "-c", "import typer; print(typer.__version__)"], env, tmp_path)
    assert tuple(int(p) for p in cli_typer.stdout.split(".")[:2]) >= (0, 12), cli_typer
    try:
        got = _run(deploy, env, project)  # starts the local AgentCore, from the tool
        assert got.returncode == 0, got.stderr
        doc = json.loads(got.stdout)
        assert doc["started_local"] and doc["tools"] == ["typer_version"]
        config = load_config(project, local_home=home)
        record = load_state(state).get(doc["key"])
        answer = call_tool(open_target(config, start_local=False), record, "typer_version", {})
        assert tool_text(answer) == "0.9.0"  # the project's pin, not the CLI's typer
    finally:
        stopped = _run([cli, "local", "stop", "--home", str(home)], env, tmp_path)
        assert stopped.returncode == 0, stopped.stderr
