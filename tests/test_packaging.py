"""The built wheel as a user installs it (issue 13): `uv build`, a fresh venv, no extras,
then extras one by one. Real installs from the uv cache, real processes, the official client.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.support.procs import REPO, free_port, run_process

pytestmark = pytest.mark.slow

# Not in the base install: what the extras bring (flask and werkzeug come with moto[server]).
EXTRA_ONLY = ("moto", "flask", "openai", "typer", "rich", "boto3", "botocore", "joserfc")
INSTALL_TIMEOUT = 600


@dataclass
class Venv:
    path: Path
    wheel: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def command(self) -> str:
        return str(self.path / "bin" / "agentcore-mcp")

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the project's own environment may leak into the fresh venv.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return {**env, "PYTHONPATH": "", **extra}

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.path,
            check=False,
        )

    def install(self, extras: str = "") -> None:
        spec = f"{self.wheel}[{extras}]" if extras else str(self.wheel)
        uv(["pip", "install", "--python", self.python, spec])

    def missing(self, *modules: str) -> list[str]:
        probe = (
            "import importlib.util, sys; "
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
        )
        done = self.run(self.python, "-c", probe, *modules)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()


def uv(args: list[str]) -> None:
    found = shutil.which("uv")
    assert found, "uv is needed to build and install the wheel"
    done = subprocess.run(
        [found, *args],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        check=False,
    )
    assert done.returncode == 0, f"uv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    root = tmp_path_factory.mktemp("packaging")
    uv(["build", "--wheel", "--out-dir", str(root / "dist"), str(REPO)])
    [wheel] = (root / "dist").glob("agentcore_mcp-*.whl")
    path = root / "venv"
    uv(["venv", "--python", sys.executable, str(path)])
    made = Venv(path, wheel)
    made.install()
    yield made


def one_line_hint(done: subprocess.CompletedProcess[str], extra: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 6, output
    assert output.count("\n") == 1, output
    assert "Traceback" not in output
    assert f"pip install 'agentcore-mcp[{extra}]'" in output, output


def test_base_install_is_the_server_kit_only(venv: Venv) -> None:
    assert sorted(venv.missing(*EXTRA_ONLY)) == sorted(EXTRA_ONLY)
    assert venv.missing("mcp", "uvicorn", "starlette", "agentcore_mcp") == []


def test_base_install_serves_the_sample_without_web_search(venv: Venv, tmp_path: Path) -> None:
    port = free_port()
    argv = [venv.python, "-m", "agentcore_mcp.server"]
    env = venv.env(HOST="127.0.0.1", PORT=str(port), MCP_SERVER="")

    async def tool_names(url: str) -> set[str]:
        async with Client(url, read_timeout_seconds=30) as client:
            echoed = await client.call_tool("echo", {"text": "from the base install"})
            assert not echoed.is_error
            return {tool.name for tool in (await client.list_tools()).tools}

    with run_process(argv, port=port, tmp_path=tmp_path, env=env, name="base-server") as server:
        names = anyio.run(tool_names, f"{server.base_url}/mcp")
        log = server.log()

    assert {"echo", "add", "text_stats", "fail", "long_task", "blob"} <= names
    assert "web_search" not in names
    hints = [line for line in log.splitlines() if "web_search" in line]
    assert len(hints) == 1 and "pip install 'agentcore-mcp[web-search]'" in hints[0], log


def test_commands_without_their_extra_name_it_in_one_line(venv: Venv) -> None:
    one_line_hint(venv.run(venv.command, "local", "start"), "local")
    one_line_hint(venv.run(venv.command, "serve"), "cli")
    one_line_hint(venv.run(venv.command, "--help"), "cli")
    one_line_hint(venv.run(venv.python, "-m", "agentcore_mcp", "tools", "list"), "cli")
    # A secret to resolve without [secrets]: the server says so and does not start.
    port = str(free_port())
    secret = venv.run(
        venv.python, "-m", "agentcore_mcp.server", HOST="127.0.0.1", PORT=port, KEY_SECRET_ID="k"
    )
    one_line_hint(secret, "secrets")


def test_extras_add_what_they_name(venv: Venv) -> None:
    # [cli] without [local]: the command line works, `local` still names its extra.
    venv.install("cli")
    assert venv.missing("typer", "rich", "boto3", "moto", "openai") == ["moto", "openai"]
    assert venv.run(venv.command, "--help").returncode == 0
    one_line_hint(venv.run(venv.command, "local", "start"), "local")

    venv.install("all")
    assert venv.missing(*EXTRA_ONLY) == []
    for command in (
        ["--help"],
        ["serve", "--help"],
        ["manifest", "--help"],
        ["tools", "--help"],
        ["local", "--help"],
        ["local", "start", "--help"],
        ["deploy", "--help"],
        ["proxy", "--help"],
        ["connect", "--help"],
        ["test-auth", "--help"],
    ):
        done = venv.run(venv.command, *command)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        assert "Usage" in done.stdout, command
