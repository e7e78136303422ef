"""The suite never reads the user's working folder or HOME (issue 17, item 7).

The README's two commands run in one clone, in that order: `uv run agentcore-mcp deploy`
writes ./deployment_config.json there and starts a local AgentCore under
~/.agentcore-mcp/local; then `uv run pytest` runs. A test that read either would test the
user's deployment instead of its own, or fail on what the first command left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SANDBOX


def test_the_suite_runs_in_its_own_empty_folder_and_home() -> None:
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    assert cwd == (SANDBOX / "cwd").resolve() and home == (SANDBOX / "home").resolve()
    assert REPO not in cwd.parents and cwd != REPO
    assert not (cwd / "deployment_config.json").exists()
    assert not (home / ".agentcore-mcp").exists() and not (home / ".aws").exists()


def test_a_cli_the_suite_starts_sees_no_state_file_of_the_clone(tmp_path: Path) -> None:
    """A decoy state file in the clone, as the README's main command leaves one: a CLI the
    suite starts (inheriting its folder) must not find it."""
    decoy = REPO / "deployment_config.json"
    if decoy.exists():  # the README's main command ran in this clone: the real case
        out = subprocess.run(
            [sys.executable, "-m", "agentcore_mcp", "status", "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert str(decoy) not in out.stdout + out.stderr
        assert "agentcore_mcp_server" not in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import os, pathlib; print(os.getcwd(), pathlib.Path.home())"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    cwd, home = probe.stdout.split()
    assert Path(cwd).resolve() == (SANDBOX / "cwd").resolve()
    assert Path(home).resolve() == (SANDBOX / "home").resolve()
    assert os.environ["AGENTCORE_MCP_CACHE"].startswith(str(REPO / ".pytest_cache"))
