"""Preflight: a server that cannot be served is refused before anything is made.

The CLI against a real local AgentCore: each broken project exits 6, names the file and
line where there is one, and the local AgentCore's listing (every resource the deployer
could make) and the state file are unchanged. The last test interrupts a deploy (Ctrl-C,
while the preflight imports a slow server) and expects 130 with how to resume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.deploy import listing, run_cli
from tests.support.local import LocalAgentCoreHandle
from tests.support.procs import free_port, wait_for_file

SERVER_OK = """from mcp.server.mcpserver import MCPServer

mcp = MCPServer("pre")


@mcp.tool()
def ping() -> str:
    return "pong"
"""

# name -> (files, spec, what stderr must say)
BROKEN: dict[str, tuple[dict[str, str], str, list[str]]] = {
    "syntax error": (
        {"app.py": "from mcp.server.mcpserver import MCPServer\n\nmcp = MCPServer(\n"},
        "app:mcp",
        ["app.py:3", "SyntaxError"],
    ),
    "import error": (
        {"app.py": "import json\nfrom helpers import nothing_here\n", "helpers.py": "x = 1\n"},
        "app:mcp",
        ["app.py:2", "ImportError", "nothing_here"],
    ),
    "missing module in a package": (
        {"pkg/__init__.py": "", "pkg/server.py": "from pkg import gone  # noqa\n"},
        "pkg.server:mcp",
        ["server.py:1", "gone"],
    ),
    "error at import": (
        {"app.py": "import os\n\nraise RuntimeError('config missing')\n"},
        "app:mcp",
        ["app.py:3", "RuntimeError: config missing"],
    ),
    "no :attr": ({"app.py": SERVER_OK}, "app", ["module:attribute"]),
    "missing attribute": ({"app.py": SERVER_OK}, "app:server", ["app", "server", "attribute"]),
    "not a server": ({"app.py": SERVER_OK + "\nnumber = 5\n"}, "app:number", ["not an mcp"]),
}


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_server_exits_6_naming_file_and_line_and_makes_nothing(
    local_agentcore: LocalAgentCoreHandle, tmp_path: Path, case: str
) -> None:
    files, spec, said = BROKEN[case]
    project = _project(tmp_path / "proj", files)
    state = tmp_path / "state.json"
    before = listing(local_agentcore)
    got = run_cli(
        [
            "deploy",
            "--server",
            spec,
            "--name",
            "preflight_case",
            "--state",
            str(state),
            "--local-home",
            str(local_agentcore.home),
        ],
        cwd=project,
    )
    assert got.returncode == 6, got.stderr
    assert "Traceback" not in got.stderr
    for text in said:
        assert text in got.stderr, (text, got.stderr)
    assert listing(local_agentcore) == before  # zero writes
    assert not state.exists()
    assert not list(project.rglob("__pycache__"))  # the check leaves the project as it was


def test_a_good_server_is_imported_and_its_tools_listed_before_the_target(
    tmp_path: Path,
) -> None:
    """Preflight runs before the target is opened: with --target aws and nothing at the
    endpoint, the tools are listed, then the connection fails (exit 4)."""
    project = _project(tmp_path / "proj", {"app.py": SERVER_OK})
    dead = f"http://127.0.0.1:{free_port()}"
    got = run_cli(
        ["deploy", "--target", "aws", "--server", "app:mcp", "--state", str(tmp_path / "s.json")],
        cwd=project,
        env={
            "AWS_ENDPOINT_URL": dead,
            "AWS_REGION": "us-east-1",
            "AWS_PROFILE": "",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
    )
    assert "preflight: app:mcp imports; tools: ping" in got.stderr
    assert got.returncode == 4, got.stderr


def test_ctrl_c_during_a_deploy_exits_130_and_says_how_to_resume(tmp_path: Path) -> None:
    marker = tmp_path / "importing"
    slow = (
        "import pathlib, time\n"
        f"pathlib.Path({str(marker)!r}).write_text('started')\n"
        "time.sleep(60)\n"
    )
    project = _project(tmp_path / "proj", {"app.py": slow})
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentcore_mcp",
            "deploy",
            "--target",
            "aws",
            "--server",
            "app:mcp",
            "--state",
            str(tmp_path / "s.json"),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_file(marker, timeout=60) == "started"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "rerun the same command" in err
    assert "Traceback" not in err
