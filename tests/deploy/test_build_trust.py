"""What the build trusts on a shared machine: its own folder, its own cache, its own files.

Another local user is played by uid 65534 (nobody): the tests run as root, so they can
hand folders to that uid the way a squatter would have made them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from agentcore_mcp.deploy.artifact.codezip import build_zip, zip_inputs
from agentcore_mcp.deploy.artifact.sources import user_sources
from agentcore_mcp.deploy.config import ConfigError, load_config
from agentcore_mcp.deploy.errors import BuildError
from tests.support.deploy import PROJECTS, run_cli
from tests.support.procs import free_port

OTHER_UID = 65534  # nobody

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="hands folders to another uid")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_each_build_gets_a_fresh_private_folder_and_a_0600_zip() -> None:
    inputs = zip_inputs(load_config(PROJECTS / "tabletool", manifest=False))
    first = build_zip(inputs, None, lambda _m: None)
    second = build_zip(inputs, None, lambda _m: None)
    try:
        assert first.path.parent != second.path.parent  # fresh per build, never reused
        for built in (first, second):
            assert _mode(built.path.parent) == 0o700
            assert built.path.parent.stat().st_uid == os.getuid()
            assert _mode(built.path) == 0o600
            # the hash is of the bytes the upload sends; the file is a copy of them
            assert hashlib.sha256(built.body).hexdigest() == built.sha256
            assert built.path.read_bytes() == built.body
        assert first.sha256 == second.sha256  # still deterministic
    finally:
        for built in (first, second):
            built.path.unlink()
            built.path.parent.rmdir()


@needs_root
def test_a_given_build_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    squatted = tmp_path / "artifacts"
    squatted.mkdir(mode=0o777)
    squatted.chmod(0o777)
    os.chown(squatted, OTHER_UID, OTHER_UID)
    inputs = zip_inputs(load_config(PROJECTS / "tabletool", manifest=False))
    with pytest.raises(BuildError) as caught:
        build_zip(inputs, squatted, lambda _m: None)
    assert f"belongs to uid {OTHER_UID}" in str(caught.value)
    assert list(squatted.iterdir()) == []


def _poisoned_cache(root: Path, deps_key: str) -> Path:
    """A cache another user laid out in advance: a deps.zip with their code in it."""
    entry = root / "deps" / deps_key
    (entry / "site" / "tabulate").mkdir(parents=True)
    (entry / "site" / "tabulate" / "__init__.py").write_text("OWNED = True\n")
    with zipfile.ZipFile(entry / "deps.zip", "w") as z:
        z.writestr("tabulate/__init__.py", "import os; os.system('id')  # EVIL\n")
    return entry


@needs_root
def test_a_dependency_cache_of_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("AGENTCORE_MCP_CACHE", str(cache))
    inputs = zip_inputs(load_config(PROJECTS / "tabletool", manifest=False))
    entry = _poisoned_cache(cache, inputs.deps_key)
    for path in (cache, cache / "deps", entry):
        os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(BuildError) as caught:
        build_zip(inputs, tmp_path / "out", lambda _m: None)
    message = str(caught.value)
    assert f"{cache} belongs to uid {OTHER_UID}" in message
    assert "AGENTCORE_MCP_CACHE" in message
    assert not (tmp_path / "out").exists()


def test_a_group_or_world_writable_dependency_cache_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("AGENTCORE_MCP_CACHE", str(cache))
    inputs = zip_inputs(load_config(PROJECTS / "tabletool", manifest=False))
    entry = _poisoned_cache(cache, inputs.deps_key)
    entry.chmod(0o777)  # the key folder: anyone could have swapped deps.zip
    with pytest.raises(BuildError) as caught:
        build_zip(inputs, tmp_path / "out", lambda _m: None)
    assert f"{entry} is writable by others (mode 0777)" in str(caught.value)


def test_a_linked_dependency_folder_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("AGENTCORE_MCP_CACHE", str(cache))
    inputs = zip_inputs(load_config(PROJECTS / "tabletool", manifest=False))
    elsewhere = _poisoned_cache(tmp_path / "elsewhere", inputs.deps_key)
    (cache / "deps").mkdir(parents=True, mode=0o700)
    (cache / "deps" / inputs.deps_key).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BuildError) as caught:
        build_zip(inputs, tmp_path / "out", lambda _m: None)
    assert "is a symbolic link" in str(caught.value)


def _project_with_secrets(root: Path) -> Path:
    pkg = root / "leaky" / "leaky"
    (pkg / ".git").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "server.py").write_text(
        "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('leaky')\n"
    )
    (pkg / ".env").write_text("OPENAI_API_KEY=sk-never-in-a-zip\n")
    (pkg / ".git" / "config").write_text("[core]\n")
    (pkg / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (pkg / "certs").mkdir()
    (pkg / "certs" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (pkg / "certs" / "README.txt").write_text("kept\n")
    (root / "leaky" / ".env").write_text("OPENAI_API_KEY=sk-never-in-a-zip\n")
    return root / "leaky"


def test_dotfiles_and_key_files_never_go_into_the_zip(tmp_path: Path) -> None:
    project = _project_with_secrets(tmp_path)
    config = load_config(project, server_spec="leaky.server:mcp", name="leaky", manifest=False)
    said: list[str] = []
    built = build_zip(zip_inputs(config), tmp_path / "out", said.append)
    names = zipfile.ZipFile(built.path).namelist()
    assert "leaky/server.py" in names and "leaky/certs/README.txt" in names
    leaked = [n for n in names if n.startswith("leaky/") and n.endswith((".env", "config"))]
    assert leaked == []
    assert not any(n.endswith(("id_rsa", ".pem")) or "/.git/" in n for n in names)
    assert b"sk-never-in-a-zip" not in built.body
    # and the build says what it left out (a progress line, shown with --debug too)
    excluded = [m for m in said if m.startswith("left out of the zip:")]
    assert excluded == [
        "left out of the zip: leaky/.git/, leaky/.env, leaky/id_rsa, leaky/certs/server.pem"
    ]


def test_a_relative_server_spec_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    project = _project_with_secrets(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(project, server_spec=".server:mcp", name="leaky")
    assert "relative modules are not supported" in str(caught.value)
    # the builder refuses it on its own too (a config made without load_config)
    with pytest.raises(BuildError):
        user_sources(".server:mcp", project)


def test_cli_relative_server_spec_exit_6(tmp_path: Path) -> None:
    project = _project_with_secrets(tmp_path)
    got = run_cli(
        [
            "deploy",
            "--server",
            ".server:mcp",
            "--name",
            "leaky",
            "--local-home",
            str(tmp_path / "home"),
            "--local-port",  # never the shared default 8700, should it get that far
            str(free_port()),
            "--state",
            str(tmp_path / "state.json"),
        ],
        cwd=project,
    )
    assert got.returncode == 6, got.stderr
    assert "relative modules are not supported" in got.stderr
    assert not (tmp_path / "home").exists()  # refused before any local AgentCore started
