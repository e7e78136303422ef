"""The merge of flags and pyproject over a recorded deployment, and which differences are
destructive: a matrix over the library's pure functions (the end-to-end behaviour is in
test_deploy_desired_state.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcore_mcp.deploy.config import changes_between, desired_config, load_config
from agentcore_mcp.deploy.state import DeploymentRecord, SettingsRecord


def _record(**settings: object) -> DeploymentRecord:
    return DeploymentRecord(
        target="local",
        region="us-east-1",
        name="s",
        auth="oauth",
        server_spec="app:mcp",
        secrets={"KEY": "arn:aws:secretsmanager:us-east-1:1:secret:agentcore-mcp/s/KEY-x"},
        settings=SettingsRecord(
            env={"A": "1", "B": "2"},
            header_allowlist=["X-Tenant"],
            idle_timeout=300,
            **settings,  # type: ignore[arg-type]
        ),
    )


def _project(tmp_path: Path, table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.agentcore-mcp]\n{table}\n")
    return tmp_path


def test_no_flags_is_the_record(tmp_path: Path) -> None:
    desired = desired_config(load_config(_project(tmp_path)), _record())
    assert desired.server_spec == "app:mcp" and desired.auth == "oauth"
    assert desired.secrets == ("KEY",) and dict(desired.env) == {"A": "1", "B": "2"}
    assert desired.header_allowlist == ("X-Tenant",) and desired.idle_timeout == 300
    assert changes_between(_record(), desired) == []


def test_flags_change_only_what_they_name(tmp_path: Path) -> None:
    config = load_config(
        _project(tmp_path),
        env={"A": "9", "C": "3"},
        secrets=("OTHER",),
        header_allowlist=("x-TENANT", "X-Two"),
    )
    desired = desired_config(config, _record())
    assert dict(desired.env) == {"A": "9", "B": "2", "C": "3"}
    assert desired.secrets == ("KEY", "OTHER")
    assert desired.header_allowlist == ("X-Tenant", "X-Two")  # one name per header
    changes = changes_between(_record(), desired)
    assert {c.message for c in changes} == {
        "add secret OTHER",
        "add env var C",
        "change env var A",
        "pass header X-Two",
    }
    assert not any(c.destructive for c in changes)


@pytest.mark.parametrize(
    ("flags", "pyproject", "message"),
    [
        ({"server_spec": "other:mcp"}, "", "replace the server app:mcp with other:mcp"),
        ({}, 'server = "other:mcp"', "replace the server app:mcp with other:mcp"),
        ({"auth": "sigv4"}, "", "switch auth from oauth to sigv4"),
        ({}, 'auth = "sigv4"', "switch auth from oauth to sigv4"),
        ({"remove_secrets": ("KEY",)}, "", "remove secret KEY"),
        ({"remove_env": ("B",)}, "", "remove env var B"),
        ({"remove_headers": ("x-tenant",)}, "", "stop passing header X-Tenant"),
    ],
)
def test_destructive_changes_from_flags_and_pyproject(
    tmp_path: Path, flags: dict[str, object], pyproject: str, message: str
) -> None:
    desired = desired_config(load_config(_project(tmp_path, pyproject), **flags), _record())
    destructive = [c.message for c in changes_between(_record(), desired) if c.destructive]
    assert len(destructive) == 1 and destructive[0].startswith(message)


def test_pyproject_lists_add_to_the_record(tmp_path: Path) -> None:
    project = _project(tmp_path, 'secrets = ["NEW"]\nenv = { C = 3, DEBUG = true }')
    desired = desired_config(load_config(project), _record())
    assert desired.secrets == ("KEY", "NEW")
    assert dict(desired.env) == {"A": "1", "B": "2", "C": "3", "DEBUG": "true"}


def test_removing_what_is_not_recorded_changes_nothing(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path), remove_env=("NOPE",), remove_secrets=("NONE",))
    assert changes_between(_record(), desired_config(config, _record())) == []


def test_adding_and_removing_the_same_name_is_refused(tmp_path: Path) -> None:
    from agentcore_mcp.deploy.config import ConfigError

    with pytest.raises(ConfigError, match="--env and --remove-env"):
        load_config(_project(tmp_path), env={"A": "1"}, remove_env=("A",))


def test_a_record_written_before_settings_keeps_auth_server_and_secrets(tmp_path: Path) -> None:
    old = _record()
    old.settings = None
    desired = desired_config(load_config(_project(tmp_path), env={"Z": "1"}), old)
    assert desired.auth == "oauth" and desired.server_spec == "app:mcp"
    assert desired.secrets == ("KEY",) and dict(desired.env) == {"Z": "1"}
    assert changes_between(old, desired) == []


def test_a_new_deployment_has_no_changes(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path), server_spec="x:y")
    assert desired_config(config, None) is config
    assert changes_between(None, config) == []
