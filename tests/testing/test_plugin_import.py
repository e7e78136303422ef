"""pytest loads the plugin in every run where agentcore-mcp is installed (this suite's
too): importing it loads nothing heavy, and it registers through its entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from tests.testing.inner import mini_project, run_pytest

HEAVY = ("boto3", "botocore", "moto", "mcp", "httpx", "httpx2", "anyio", "starlette")


def test_the_entry_point_names_the_plugin() -> None:
    found = {e.name: e.value for e in entry_points(group="pytest11")}
    assert found.get("agentcore_mcp") == "agentcore_mcp.testing.plugin"


def test_importing_the_plugin_loads_nothing_heavy() -> None:
    script = (
        "import sys, pytest\n"
        "before = set(sys.modules)\n"
        "import agentcore_mcp.testing.plugin\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = got.stdout.split()
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert [m for m in loaded if m.startswith("agentcore_mcp.")] == [
        "agentcore_mcp.lazy",
        "agentcore_mcp.testing",
        "agentcore_mcp.testing.plugin",
    ]


def test_a_fixture_without_the_testing_extra_says_what_to_install(tmp_path: Path) -> None:
    """The plugin loads with the server kit alone; its fixtures then fail in one line."""
    project = mini_project(
        tmp_path / "project",
        {
            # moto, as if not installed: find_spec answers None for a None module entry
            "conftest.py": "import sys\nsys.modules['moto'] = None\n",
            "test_x.py": "def test_x(agentcore_local):\n    pass\n",
        },
    )
    got = run_pytest(project)
    assert got.returncode == 1, got.stdout + got.stderr
    assert "agentcore-mcp[testing] (moto not installed)" in got.stdout
    assert "uv add --dev 'agentcore-mcp[testing]'" in got.stdout
    assert "Traceback" not in got.stdout
