"""Run pytest as a user's project runs it: a child process in a folder of its own (its
own config, so this suite's conftest and options do not apply), with the plugin loaded
through its `pytest11` entry point from this environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

MINI_SERVER = '''\
import os

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("mini")


@mcp.tool()
def echo(text: str) -> str:
    """Say `text` back."""
    return text


@mcp.tool()
def env_var(name: str) -> str:
    """The runtime's environment variable `name` ("" when unset)."""
    return os.environ.get(name, "")
'''

MINI_PYPROJECT = """\
[project]
name = "mini"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[tool.agentcore-mcp]
server = "mini.server:mcp"

[tool.pytest.ini_options]
"""


def mini_project(root: Path, tests: dict[str, str]) -> Path:
    """A project with a one-tool server (`mini.server:mcp`, in its pyproject) and `tests`."""
    (root / "mini").mkdir(parents=True)
    (root / "mini" / "__init__.py").write_text("")
    (root / "mini" / "server.py").write_text(MINI_SERVER)
    (root / "pyproject.toml").write_text(MINI_PYPROJECT)
    (root / "tests").mkdir()
    for name, text in tests.items():
        (root / "tests" / name).write_text(text)
    return root


def pytest_argv(args: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def run_pytest(
    project: Path,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    # The outer run's own pytest settings (xdist's worker id, PYTEST_ADDOPTS) stay out.
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env = {**base, **(env or {})}
    return subprocess.run(
        pytest_argv(args),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper that never comes does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # not Linux: kill(0) is all there is
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"
