"""`agentcore-mcp dev` against a real local AgentCore: the CLI as a user runs it, a real
`mcp` client (agentcore_mcp.client.open_runtime) for the calls, real edits on disk.

Waits are on the command's output (bounded), never on durations.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support.deploy import deploy_config, run_cli, tool_text
from tests.support.local import CREDS, REGION, LocalAgentCoreHandle, run_local_agentcore

SERVER = '''\
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("devtool")


@mcp.tool()
def greet(name: str) -> str:
    """Say hello."""
    return "{greeting} " + name


@mcp.tool()
def invert(x: int) -> str:
    """1 / x."""
    return str(1 // x)
'''
PYPROJECT = """\
[project]
name = "devtool"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[tool.agentcore-mcp]
name = "devtool"
server = "devtool.server:mcp"
"""
WAIT = 240.0  # a first deploy on a busy 2-core machine; every wait ends at its marker


def _project(root: Path) -> Path:
    (root / "devtool").mkdir(parents=True)
    (root / "devtool" / "__init__.py").write_text("")
    (root / "devtool" / "server.py").write_text(SERVER.format(greeting="hello"))
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


class DevProcess:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = WAIT) -> re.Match[str]:
        """The first match of `pattern` in the output past offset `after`; fails when the
        process exits or `timeout` passes first (bounded: 0.1 s steps)."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.1) + 1):
            text = self.output()
            found = re.compile(pattern).search(text, after)
            if found:
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} in dev's output (exit {self.proc.poll()}):\n{self.output()}")


def _start_dev(handle: LocalAgentCoreHandle, tmp_path: Path) -> tuple[DevProcess, Path, Path]:
    project = _project(tmp_path / "proj")
    state = tmp_path / "state.json"
    log = tmp_path / "dev.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "400"})
    argv = [sys.executable, "-m", "agentcore_mcp", "dev"]
    argv += ["--state", str(state), "--local-home", str(handle.home)]
    with log.open("wb") as out:
        # Ctrl-C as a terminal delivers it: a runner that started the tests in the
        # background (a shell's `&` ignores SIGINT, and children inherit that) would
        # otherwise leave dev deaf to the SIGINT the tests send.
        proc = subprocess.Popen(
            argv, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
    return DevProcess(proc, log), project, state


@pytest.fixture
def dev_run(
    local_agentcore: LocalAgentCoreHandle, tmp_path: Path
) -> Iterator[tuple[DevProcess, Path, Path]]:
    started = _start_dev(local_agentcore, tmp_path)
    try:
        yield started
    finally:
        if started[0].proc.poll() is None:
            started[0].proc.kill()
            started[0].proc.wait(timeout=30)


def _call(
    handle: LocalAgentCoreHandle,
    project: Path,
    state: Path,
    text: str,
    *,
    tool: str = "greet",
    args: dict[str, Any] | None = None,
) -> str:
    from agentcore_mcp.deploy.state import find_record, load_state
    from agentcore_mcp.deploy.target import open_target
    from tests.support.deploy import call_tool

    record = find_record(load_state(state), target="local", region=None, name="devtool")
    assert record is not None
    config = deploy_config(handle, project_dir=project)
    return tool_text(
        call_tool(open_target(config, start_local=False), record, tool, args or {"name": text})
    )


@pytest.mark.slow
def test_dev_serves_each_save_keeps_the_last_good_one_and_leaves_the_deployment(
    dev_run: tuple[DevProcess, Path, Path], local_agentcore: LocalAgentCoreHandle
) -> None:
    dev, project, state = dev_run
    source = project / "devtool" / "server.py"
    ready = dev.wait_for(r"watching .*Ctrl-C stops")
    out = dev.output()
    assert "npx -y @modelcontextprotocol/inspector -- " in out
    assert re.search(r"proxy --port 8765 --url '?http://127\.0\.0\.1:\d+/runtimes/", out)
    assert _call(local_agentcore, project, state, "ada") == "hello ada"
    # A tool that fails: its traceback is in dev's output (the instance log), pointing at
    # the project's file.
    failed = _call(local_agentcore, project, state, "", tool="invert", args={"x": 0})
    assert failed.startswith("Error executing tool invert"), failed
    dev.wait_for(rf'File "{re.escape(str(project))}/devtool/server\.py", line \d+, in invert')
    dev.wait_for(r"│ \[.*\] ZeroDivisionError: integer division or modulo by zero")

    # A session held across a save: its next request is refused (the old version's
    # session ended), and a new session answers with the new code.
    async def held_session() -> tuple[str, str]:
        from agentcore_mcp.client.remote import open_runtime
        from agentcore_mcp.deploy.plan import runtime_target_of
        from agentcore_mcp.deploy.state import find_record, load_state
        from agentcore_mcp.deploy.target import open_target

        record = find_record(load_state(state), target="local", region=None, name="devtool")
        assert record is not None
        target = open_target(deploy_config(local_agentcore, project_dir=project), start_local=False)
        async with open_runtime(runtime_target_of(target, record), session=target.session) as c:
            before = tool_text(await c.call_tool("greet", {"name": "bo"}))
            source.write_text(SERVER.format(greeting="howdy"))
            await anyio.to_thread.run_sync(
                lambda: dev.wait_for(
                    r"serving version \d+ .*older session\(s\) ended", after=ready.end()
                )
            )
            try:
                stale: Any = tool_text(await c.call_tool("greet", {"name": "bo"}))
            except Exception as exc:  # the session ended: 404 from the runtime
                stale = f"refused: {exc}"
        return before, stale

    before, stale = anyio.run(held_session)
    after = _call(local_agentcore, project, state, "bo")
    assert before == "hello bo"
    assert stale.startswith("refused"), stale
    assert after == "howdy bo"
    served = dev.wait_for(r"serving version (\d+)")
    version = served.group(1)

    # An import error: file and line printed, the last good version still answers.
    source.write_text(SERVER.format(greeting="broken") + "\nimport no_such_module_here\n")
    broken = dev.wait_for(r"server\.py:(\d+): ModuleNotFoundError", after=served.end())
    assert broken.group(1) == str(SERVER.format(greeting="broken").count("\n") + 2)
    # named from the failed instance's own traceback (the runtime log), not a preflight
    still = dev.wait_for(rf"version {version} still serves[^\n]*", after=broken.start())
    assert "traceback" in still.group(0) and "preflight" not in still.group(0), still.group(0)
    assert _call(local_agentcore, project, state, "cy") == "howdy cy"

    # A syntax error: found before anything is built.
    source.write_text(SERVER.format(greeting="howdy") + "\ndef oops(:\n")
    syntax = dev.wait_for(r"server\.py:\d+: SyntaxError", after=broken.end())

    # Other commands work against it while it runs (they read the same state file).
    listed = run_cli(
        ["tools", "list", "--remote", "--state", str(state)],
        cwd=project,
        # the local AgentCore accepts the keys of whoever started it
        env={**CREDS, "AWS_REGION": REGION, "AWS_PROFILE": ""},
    )
    assert listed.returncode == 0, listed.stderr
    assert "greet" in listed.stdout

    # Fixed again: served.
    source.write_text(SERVER.format(greeting="hi"))
    dev.wait_for(r"serving version \d+", after=syntax.end())
    assert _call(local_agentcore, project, state, "di") == "hi di"

    # Ctrl-C: exit 0, the deployment stays (recorded, answering), the way to remove it said.
    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=60) == 0, dev.output()
    assert "agentcore-mcp destroy --yes --name devtool" in dev.output()
    assert _call(local_agentcore, project, state, "ed") == "hi ed"


def test_dev_refuses_to_start_without_a_server_of_the_project(tmp_path: Path) -> None:
    """The sample server is the kit's own: nothing of the user's to watch. Refused before
    the local AgentCore is started or anything is made."""
    home = tmp_path / "local-home"
    result = run_cli(
        ["dev", "--local-home", str(home), "--state", str(tmp_path / "s.json")], cwd=tmp_path
    )
    assert result.returncode == 6, result.stderr
    assert "dev watches your project's server: pass --server" in result.stderr
    assert not home.exists()
    assert not (tmp_path / "s.json").exists()


def test_dev_refuses_a_package_that_is_not_there(tmp_path: Path) -> None:
    result = run_cli(
        ["dev", "--server", "nosuchpkg.server:mcp", "--local-home", str(tmp_path / "h")],
        cwd=tmp_path,
    )
    assert result.returncode == 6, result.stderr
    assert "no package or module 'nosuchpkg'" in result.stderr


def test_the_watch_filter_skips_dotfiles_bytecode_and_build_folders(tmp_path: Path) -> None:
    from watchfiles import Change

    from agentcore_mcp.deploy.dev import project_filter

    project = _project(tmp_path / "proj")
    accepts = project_filter(project)
    for kept in ("devtool/server.py", "devtool/data/table.csv", "pyproject.toml", "uv.lock"):
        assert accepts(Change.modified, str(project / kept)), kept
    for skipped in (
        "devtool/.env",
        "devtool/.secrets/key.txt",
        ".venv/lib/x.py",
        "devtool/__pycache__/server.cpython-311.pyc",
        "devtool/server.py.swp",
        "devtool/server.py~",
        "build/lib/devtool/server.py",
    ):
        assert not accepts(Change.modified, str(project / skipped)), skipped


def test_a_syntax_error_is_named_by_file_and_line_without_an_import(tmp_path: Path) -> None:
    from agentcore_mcp.deploy.artifact.codezip import zip_inputs
    from agentcore_mcp.deploy.config import load_config
    from agentcore_mcp.deploy.dev import syntax_error

    project = _project(tmp_path / "proj")
    config = load_config(project)
    assert syntax_error(zip_inputs(config)) is None
    (project / "devtool" / "helpers.py").write_text("x = 1\nif x\n    pass\n")
    found = syntax_error(zip_inputs(config))
    assert found is not None
    assert found.startswith(f"{project / 'devtool' / 'helpers.py'}:2: SyntaxError")


@pytest.mark.slow
def test_a_save_after_the_local_agentcore_went_away_is_an_error_and_dev_keeps_watching(
    tmp_path: Path,
) -> None:
    (tmp_path / "local").mkdir()
    with run_local_agentcore(tmp_path / "local", host_path=False) as handle:
        dev, project, _state = _start_dev(handle, tmp_path)
        try:
            ready = dev.wait_for(r"watching .*Ctrl-C stops")
            assert handle.process is not None
            handle.process.proc.terminate()
            handle.process.proc.wait(timeout=60)
            (project / "devtool" / "server.py").write_text(SERVER.format(greeting="gone"))
            gone = dev.wait_for(
                r"✗ devtool/server\.py: .*\n  version 1 still serves", after=ready.end()
            )
            assert dev.proc.poll() is None, "dev stopped on the error instead of watching on"
            assert "Traceback" not in dev.output()[ready.end() : gone.end()]
            dev.proc.terminate()  # SIGTERM stops watching as Ctrl-C does (exit 0)
            assert dev.proc.wait(timeout=60) == 0, dev.output()
            assert "destroy --yes" in dev.output()
        finally:
            if dev.proc.poll() is None:
                dev.proc.kill()
                dev.proc.wait(timeout=30)


@pytest.mark.slow  # three builds of a zip with the kit's dependencies
def test_a_rebuild_in_the_same_process_gives_a_fresh_builds_bytes(tmp_path: Path) -> None:
    """dev's builds reuse the bytecode of unchanged modules (artifact.bytecode._BYTECODE_CACHE): the
    zip must be byte for byte what a build with nothing cached gives, and a changed
    module's bytecode must be the new one."""
    import io
    import zipfile

    from agentcore_mcp.deploy.artifact import bytecode, codezip
    from agentcore_mcp.deploy.config import load_config

    project = _project(tmp_path / "proj")
    config = load_config(project)
    pyc = bytecode.pyc_arcname("devtool/server.py", config.python_version)

    def built(folder: str) -> tuple[str, bytes]:
        zipped = codezip.build_zip(codezip.zip_inputs(config), tmp_path / folder, lambda _m: None)
        with zipfile.ZipFile(io.BytesIO(zipped.body)) as z:
            return zipped.sha256, z.read(pyc)

    _, first_pyc = built("a")
    (project / "devtool" / "server.py").write_text(SERVER.format(greeting="changed"))
    cached_sha, cached_pyc = built("b")
    bytecode._BYTECODE_CACHE.clear()
    fresh_sha, fresh_pyc = built("c")
    assert cached_pyc != first_pyc
    assert cached_pyc == fresh_pyc
    assert cached_sha == fresh_sha
