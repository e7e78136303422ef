"""Names that were renamed keep working under their former spelling (deprecated aliases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_server_package_keeps_its_former_names() -> None:
    import agentcore_mcp.server as server

    assert server.build_app is server.build_asgi_app
    assert server.serve_app is server.serve_spec
    assert server.AppLoadError is server.ServerLoadError
    assert not {"build_app", "serve_app", "AppLoadError"} & set(server.__all__)


def test_mcp_app_is_read_when_mcp_server_is_unset_or_empty() -> None:
    from agentcore_mcp.server.settings import server_spec_from_env

    assert server_spec_from_env({"MCP_SERVER": "a:b", "MCP_APP": "c:d"}) == "a:b"
    assert server_spec_from_env({"MCP_SERVER": "", "MCP_APP": "c:d"}) == "c:d"
    assert server_spec_from_env({"MCP_APP": "c:d"}) == "c:d"
    assert server_spec_from_env({"MCP_SERVER": "", "MCP_APP": ""}) is None


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.agentcore-mcp]\n{table}\n")
    return tmp_path


def test_deploy_config_reads_the_former_app_spellings(tmp_path: Path) -> None:
    from agentcore_mcp.deploy.config import ConfigError, DeployConfig, load_config

    assert load_config(tmp_path, app="pkg.server:mcp").server_spec == "pkg.server:mcp"
    assert load_config(tmp_path, server_spec="a:b", app="c:d").server_spec == "a:b"
    config = DeployConfig(app="pkg.server:mcp")  # type: ignore[call-arg]
    assert config.server_spec == "pkg.server:mcp" and config.app == "pkg.server:mcp"  # type: ignore[attr-defined]
    old = _project(tmp_path, 'app = "pkg.server:mcp"')
    assert load_config(old).server_spec == "pkg.server:mcp"
    new = _project(tmp_path, 'server = "pkg.server:mcp"')
    assert load_config(new).server_spec == "pkg.server:mcp"
    both = _project(tmp_path, 'server = "a:b"\napp = "c:d"')
    with pytest.raises(ConfigError, match="keep 'server'"):
        load_config(both)


def test_state_files_written_with_app_are_read() -> None:
    from agentcore_mcp.deploy.state import DeploymentRecord

    doc = {"target": "local", "region": "us-east-1", "name": "n", "app": "pkg.server:mcp"}
    record = DeploymentRecord.from_json(doc)
    assert record.server_spec == "pkg.server:mcp" and record.app == "pkg.server:mcp"
    written = record.to_json()
    assert written["server"] == "pkg.server:mcp" and "app" not in written
    assert DeploymentRecord.from_json(written).server_spec == "pkg.server:mcp"


def test_manifests_written_with_app_are_read() -> None:
    from agentcore_mcp.server.manifest import FORMAT, StartupManifest

    doc = {"format": FORMAT, "app": "pkg:mcp", "fingerprint": "f", "results": {}}
    assert StartupManifest.from_json(json.dumps(doc)).server_spec == "pkg:mcp"


def test_protocol_legacy_reaches_the_sdk_as_the_handshake_era() -> None:
    from agentcore_mcp.client.session import sdk_mode

    assert sdk_mode("handshake") == sdk_mode("legacy") == "legacy"  # the SDK's own word
    assert sdk_mode("auto") == "auto" and sdk_mode("2026-07-28") == "2026-07-28"


def test_deploy_app_flag_is_a_hidden_spelling_of_server(tmp_path: Path) -> None:
    import subprocess
    import sys

    def deploy(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "agentcore_mcp", "deploy", *args]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    # Refused while reading the settings, before any AWS call: the message names --server.
    bad = deploy("--app", "not a spec!")
    assert bad.returncode == 6
    assert "--app is deprecated; use --server" in bad.stderr
    assert "--server 'not a spec!': expected module:attribute" in bad.stderr
    assert deploy("--app", "a:b", "--server", "c:d").returncode == 2
    assert "--app" not in deploy("--help").stdout
