"""pytest loads the plugin in every run where agentcore-mcp is installed (this suite's
too): importing it loads nothing heavy, and it registers through its entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

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
