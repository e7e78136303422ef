"""What can be checked of the Dockerfile without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()
# Instructions one per line: continuation lines joined, comments dropped.
LOGICAL_LINES = [
    line
    for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in LOGICAL_LINES if line.split()[0].upper() == name]


def test_arm64_platform_argument() -> None:
    assert "ARG PLATFORM=linux/arm64" in DOCKERFILE
    froms = instructions("FROM")
    assert froms and all("--platform=${PLATFORM}" in f for f in froms)


def test_final_stage_is_slim_and_non_root() -> None:
    final_from = instructions("FROM")[-1]
    assert "-slim" in final_from
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")


def test_port_and_entrypoint_answer_serve_on_8000() -> None:
    assert instructions("EXPOSE") == ["8000"]
    assert instructions("ENTRYPOINT") == ['["python", "-m", "agentcore_mcp.server"]']
    env = " ".join(instructions("ENV"))
    assert "PORT=8000" in env and "HOST=0.0.0.0" in env and "MCP_PATH=/mcp" in env


def test_installed_with_uv_from_the_lockfile() -> None:
    runs = instructions("RUN")
    assert any("uv sync --locked" in r and "--no-dev" in r for r in runs)


def test_copied_files_exist() -> None:
    for copy in instructions("COPY"):
        if "--from=" in copy:
            continue
        sources = re.sub(r"--\S+", "", copy).split()[:-1]
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which is missing"


def test_dockerignore_keeps_local_venv_out() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".env" in ignored


def test_entrypoint_module_exists() -> None:
    assert (REPO / "src" / "agentcore_mcp" / "server" / "__main__.py").is_file()


def test_startup_manifest_is_written_at_build_time_where_the_server_reads_it() -> None:
    runs = [r for r in instructions("RUN") if "agentcore-mcp manifest" in r]
    assert len(runs) == 1
    output = runs[0].split("--output", 1)[1].split()[0]
    env = " ".join(instructions("ENV"))
    assert f"MCP_STARTUP_MANIFEST={output}" in env
    assert "MCP_SERVER=${MCP_SERVER}" in env and "${MCP_SERVER}" in runs[0]
    lines = [line.strip() for line in DOCKERFILE.splitlines()]
    step = next(i for i, line in enumerate(lines) if "agentcore-mcp manifest" in line)
    user = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert step < user, "written as root, before the server's user takes over"


def test_mcp_server_build_arg_names_the_server_in_both_stages() -> None:
    """`--build-arg MCP_SERVER=...` reaches both stages; no other name is read."""
    args = instructions("ARG")
    assert args.count('MCP_SERVER=""') == 2
    env = [e for e in instructions("ENV") if "MCP_SERVER=" in e]
    assert len(env) == 2 and all("MCP_SERVER=${MCP_SERVER}" in e for e in env)
    assert "MCP_APP" not in DOCKERFILE
