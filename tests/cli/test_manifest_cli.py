"""`agentcore-mcp manifest` as the Dockerfile runs it, then the container entry point using it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.procs import REPO, free_port, mcp_post, run_process


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def test_dockerfile_flow_for_the_sample_server(tmp_path: Path) -> None:
    path = tmp_path / "image" / ".agentcore-mcp" / "manifest.json"
    # The Dockerfile's ENV sets MCP_SERVER to "" when no server spec is given: the samples.
    written = cli("manifest", "--output", str(path), "--json", env={"MCP_SERVER": ""})
    assert written.returncode == 0, written.stderr
    summary = json.loads(written.stdout)
    assert summary["path"] == str(path) and summary["server"] is None
    assert "tools/list@2025-11-25" in summary["answers"]
    assert "initialize@2025-06-18" in summary["answers"]
    # Readable by the image's non-root user, though written by root at build time.
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.parent.stat().st_mode & 0o777 == 0o755

    port = free_port()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MCP_SERVER": "",
        "MCP_STARTUP_MANIFEST": str(path),
        "LOG_LEVEL": "info",
    }
    argv = [sys.executable, "-m", "agentcore_mcp.server"]
    with run_process(argv, port=port, tmp_path=tmp_path, env=env) as running:
        url = f"{running.base_url}/mcp"
        listed = mcp_post(
            url,
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"mcp-protocol-version": "2025-11-25"},
        )
        names = {t["name"] for t in listed.json()["result"]["tools"]}
        assert {"echo", "add", "text_stats", "web_search"} <= names
        deadline = time.monotonic() + 30
        while "replayed" not in running.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = running.log()
        assert "1 request(s) answered from the startup manifest" in log
        assert "1 early answer(s) replayed, all equal" in log


def test_human_output_and_bad_server_spec(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    human = cli("manifest", "tests.support.user_app:mcp", "-o", str(path))
    assert human.returncode == 0, human.stderr
    assert f"wrote {path}" in human.stdout and "MCP_STARTUP_MANIFEST" in human.stdout
    assert json.loads(path.read_text())["server"] == "tests.support.user_app:mcp"
    bad = cli("manifest", "no_such_module:mcp", "-o", str(tmp_path / "bad.json"))
    assert bad.returncode == 6
    assert "no_such_module" in bad.stderr
    assert not (tmp_path / "bad.json").exists()
    helped = cli("manifest", "--help")
    assert helped.returncode == 0 and "MCP_STARTUP_MANIFEST" in helped.stdout


def test_only_mcp_server_names_the_server(tmp_path: Path) -> None:
    """MCP_APP (a name 0.1.0 never shipped) is not read: the sample server is recorded."""
    path = tmp_path / "m.json"
    env = {"MCP_SERVER": "", "MCP_APP": "tests.support.user_app:mcp"}
    written = cli("manifest", "-o", str(path), "--json", env=env)
    assert written.returncode == 0, written.stderr
    assert json.loads(written.stdout)["server"] != "tests.support.user_app:mcp"
    env["MCP_SERVER"] = "tests.support.bench_app:mcp"
    written = cli("manifest", "-o", str(path), "--json", env=env)
    assert json.loads(written.stdout)["server"] == "tests.support.bench_app:mcp"
