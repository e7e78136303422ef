"""Wrong types in `[tool.agentcore-mcp]` and wrong shapes in the state file: one line
that names the setting, exit 6, never a traceback, and nothing started or written.

The matrices call the library (each case is a parse); one CLI run per kind checks what
the user sees. The CLI runs use `--target aws` with nothing listening at the endpoint, so
a check that came too late would show as exit 4, not as a started local AgentCore.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcore_mcp.deploy.config import ConfigError, load_config
from agentcore_mcp.deploy.state import StateError, load_state
from tests.support.deploy import run_cli
from tests.support.procs import free_port

PYPROJECT_CASES = {
    'secrets = "AB"': ("secrets", "a string", '["OPENAI_API_KEY"]'),
    "secrets = [1, 2]": ("secrets", "a list", "list of strings"),
    'idle-timeout = "x"': ("idle-timeout", "a string", "whole number"),
    "max-lifetime = true": ("max-lifetime", "a boolean", "whole number"),
    "env = 3": ("env", "a number", "table of strings"),
    'env = { A = ["x"] }': ("env", "a table", "table of strings"),
    'request-header-allowlist = "X-Tenant"': ("request-header-allowlist", "a string", "list"),
    "server = 5": ("server", "a number", "string"),
    "auth = [1]": ("auth", "a list", "string"),
}

STATE_CASES = {
    "record is a number": ({"deployments": {"k": 5}}, "deployments['k'] is a number"),
    "secrets is a list": (
        {"deployments": {"k": {"target": "local", "region": "r", "name": "n", "secrets": []}}},
        "deployments['k'].secrets is a list",
    ),
    "deployments is a list": ({"deployments": []}, "no 'deployments' object"),
    "runtime id is a number": (
        {
            "deployments": {
                "k": {"target": "local", "region": "r", "name": "n", "runtime": {"id": 3}}
            }
        },
        "deployments['k'].runtime.id is a number",
    ),
    "settings env holds a list": (
        {
            "deployments": {
                "k": {
                    "target": "local",
                    "region": "r",
                    "name": "n",
                    "settings": {"env": {"A": ["x"]}},
                }
            }
        },
        "deployments['k'].settings.env",
    ),
    "unknown target": (
        {"deployments": {"k": {"target": "gcp", "region": "r", "name": "n"}}},
        "deployments['k'].target is 'gcp'",
    ),
    "no name": ({"deployments": {"k": {"target": "local", "region": "r"}}}, "no 'name'"),
}


def _pyproject(root: Path, line: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "p"\n\n[tool.agentcore-mcp]\n{line}\n')
    return root


@pytest.mark.parametrize("line", sorted(PYPROJECT_CASES))
def test_pyproject_wrong_types_are_refused_in_one_line(tmp_path: Path, line: str) -> None:
    key, got_kind, advice = PYPROJECT_CASES[line]
    with pytest.raises(ConfigError) as refused:
        load_config(_pyproject(tmp_path, line))
    message = str(refused.value)
    assert "\n" not in message
    assert f"[tool.agentcore-mcp] {key} is {got_kind}" in message and advice in message


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_state_files_of_the_wrong_shape_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    doc, said = STATE_CASES[case]
    path = tmp_path / "state.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(StateError) as refused:
        load_state(path)
    assert "\n" not in str(refused.value) and said in str(refused.value)
    assert path.read_text() == json.dumps(doc)  # left as it was


def _deploy_cli(project: Path, *args: str) -> tuple[int, str]:
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_REGION": "us-east-1",
        "AWS_PROFILE": "",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    got = run_cli(["deploy", "--target", "aws", *args], cwd=project, env=env)
    return got.returncode, got.stderr


def test_cli_pyproject_secrets_as_a_string_exits_6_with_one_line(tmp_path: Path) -> None:
    project = _pyproject(tmp_path / "proj", 'secrets = "AB"')
    code, err = _deploy_cli(project, "--state", str(tmp_path / "state.json"))
    assert code == 6, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "secrets is a string" in lines[0], err
    assert '["OPENAI_API_KEY"]' in lines[0]  # the brackets survive the console's markup
    assert not (tmp_path / "state.json").exists()


def test_cli_state_file_of_the_wrong_shape_exits_6_with_one_line(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format": 1, "deployments": {"k": 5}}))
    code, err = _deploy_cli(project, "--state", str(state))
    assert code == 6, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "deployments['k'] is a number" in lines[0], err
    assert json.loads(state.read_text()) == {"format": 1, "deployments": {"k": 5}}
