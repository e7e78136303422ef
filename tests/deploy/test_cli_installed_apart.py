"""Your own project with the CLI installed apart (docs/packaging.md): `uv tool install
agentcore-mcp[deploy]` keeps the CLI's dependencies out of the project's resolution, and
the zip carries the project's own locked pins, even ones the CLI could not live with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agentcore_mcp.deploy.state import load_state
from tests.support.deploy import PROJECTS, REPO, call, deploy_config, tool_text
from tests.support.local import LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # installs the CLI as a uv tool, then a whole deploy


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No virtualenv of this checkout, no AWS settings: only the tool's bin and uv."""
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


def test_own_project_whose_pins_conflict_with_the_cli(
    local_agentcore: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    installed = subprocess.run(
        ["uv", "tool", "install", "--from", f"{REPO}[deploy]", "agentcore-mcp"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    cli = tmp_path / "bin" / "agentcore-mcp"
    tool_python = tmp_path / "tools" / "agentcore-mcp" / "bin" / "python"
    cli_typer = subprocess.run(
        [str(tool_python), "-c", "import typer; print(typer.__version__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert tuple(int(p) for p in cli_typer.split(".")[:2]) >= (0, 12), cli_typer

    project = tmp_path / "pinnedtyper"
    shutil.copytree(PROJECTS / "pinnedtyper", project)
    state = tmp_path / "state.json"
    home = str(local_agentcore.home)
    got = subprocess.run(
        [str(cli), "deploy", "--json", "--local-home", home, "--state", str(state)],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["tools"] == ["typer_version"]

    config = deploy_config(local_agentcore, project_dir=project)
    record = load_state(state).get(f"local/us-east-1/{config.name}")
    answer = call(local_agentcore, config, record, "typer_version", {})
    assert tool_text(answer) == "0.9.0"  # the project's pin, not the CLI's typer
