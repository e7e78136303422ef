"""One rule book: the deployer refuses, before any write, exactly what AgentCore's control
plane refuses (the local one, which applies `agentcore_mcp.runtime_rules`), in the same words.

The matrix runs each runtime name, lifecycle pair and header allowlist through both:
the deployer's settings check (`load_config`, what `deploy` calls first) and the local
control plane's CreateAgentRuntime (uvicorn on 127.0.0.1, moto for IAM, an unmodified
boto3 client) fed the body the deployer's runtime step builds from the same settings.
One CLI run checks what the user sees: `deploy --allow-header Cookie` exits 6 with the
control plane's reason and makes no AWS call.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from agentcore_mcp.deploy.config import ConfigError, DeployConfig, load_config
from agentcore_mcp.deploy.state import ArtifactRecord, DeploymentRecord, RoleRecord
from agentcore_mcp.deploy.steps.runtime import desired_configuration
from tests.local.control.harness import ControlPlaneServer, serve_control_plane
from tests.support.deploy import run_cli
from tests.support.local import TRUST_POLICY
from tests.support.loopback import serving
from tests.support.moto import ACCOUNT_ID, MotoServer, run_moto

REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/AgentRole"
CUSTOM = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-"
# The API field each deployer flag sets.
FLAG_OF_FIELD = {
    "agentRuntimeName": "--name",
    "lifecycleConfiguration.idleRuntimeSessionTimeout": "--idle-timeout",
    "lifecycleConfiguration.maxLifetime": "--max-lifetime",
    "requestHeaderConfiguration.requestHeaderAllowlist": "--allow-header",
}
_unique = itertools.count()

NAMES = ["my_server", "a" * 48, "my-server", "1server", "a" * 49, "agent.v2", "_x"]
LIFECYCLES: list[tuple[int | None, int | None]] = [
    (None, None),
    (60, None),
    (28800, None),
    (None, 300),  # the idle default (900) shrinks to maxLifetime
    (300, 300),
    (59, None),
    (28801, None),
    (None, 59),
    (None, 28801),
    (0, 60),
    (600, 300),
]
HEADER_LISTS: list[list[str]] = [
    ["X-Tenant"],
    [f"{CUSTOM}Tenant"],
    ["traceparent", "X_Under"],
    ["Cookie"],
    ["set-cookie"],
    ["Host"],
    ["Origin"],
    ["X-Forwarded-For"],
    ["X-Amz-Date"],
    ["X-Amzn-Trace-Id"],
    [CUSTOM],
    ["Bad Header"],
    ["1X-Tenant"],  # the model's HeaderName starts with a letter
    [f"X-H{i}" for i in range(20)],
    [f"X-H{i}" for i in range(21)],
]


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with run_moto(tmp_path_factory.mktemp("moto"), region=REGION) as moto:
        moto.client("iam").create_role(
            RoleName="AgentRole", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
        )
        with serve_control_plane(moto) as server:
            yield _client(server, moto)


def _client(server: ControlPlaneServer, moto: MotoServer) -> Any:
    # botocore's own checks off (it refuses a lifecycle under 60 before sending): the
    # control plane, like AgentCore, must refuse it itself.
    return boto3.client(
        "bedrock-agentcore-control",
        endpoint_url=server.base_url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def _record(name: str) -> DeploymentRecord:
    return DeploymentRecord(
        target="aws",
        region=REGION,
        name=name,
        role=RoleRecord(name="AgentRole", arn=ROLE_ARN),
        artifact=ArtifactRecord(
            kind="zip",
            sha256="0" * 64,
            bucket="code",
            key="code/main.zip",
            python_runtime="PYTHON_3_12",
        ),
    )


def _deployer(tmp_path: Path, **settings: Any) -> str | None:
    """The deployer's refusal of `settings` (None: accepted)."""
    try:
        load_config(tmp_path, **settings)
    except ConfigError as exc:
        return str(exc)
    return None


def _control_plane(client: Any, tmp_path: Path, **settings: Any) -> str | None:
    """The control plane's refusal of the CreateAgentRuntime the deployer would send."""
    config = DeployConfig(project_dir=tmp_path, **settings)
    ctx = SimpleNamespace(config=config, record=_record(config.name))
    body = {"agentRuntimeName": config.name, **desired_configuration(ctx)}  # type: ignore[arg-type]
    try:
        client.create_agent_runtime(**body)
    except client.exceptions.ValidationException as exc:
        return str(exc.response["Error"]["Message"])
    return None


def _assert_same(deployer: str | None, control_plane: str | None) -> None:
    if control_plane is None:
        assert deployer is None, f"the deployer refuses what AgentCore accepts: {deployer}"
        return
    assert deployer is not None, f"the deployer lets through: {control_plane}"
    prefix, _, reason = control_plane.partition(": ")
    api_field = prefix.removeprefix("Invalid value for ")
    assert deployer == f"{FLAG_OF_FIELD[api_field]}: {reason}"


@pytest.mark.parametrize("name", NAMES)
def test_runtime_names(control: Any, tmp_path: Path, name: str) -> None:
    _assert_same(_deployer(tmp_path, name=name), _control_plane(control, tmp_path, name=name))


@pytest.mark.parametrize(("idle", "life"), LIFECYCLES)
def test_lifecycles(control: Any, tmp_path: Path, idle: int | None, life: int | None) -> None:
    settings = {"name": f"life_{next(_unique)}", "idle_timeout": idle, "max_lifetime": life}
    _assert_same(_deployer(tmp_path, **settings), _control_plane(control, tmp_path, **settings))


@pytest.mark.parametrize("headers", HEADER_LISTS, ids=lambda h: ",".join(h)[:40])
def test_header_allowlists(control: Any, tmp_path: Path, headers: list[str]) -> None:
    settings = {"name": f"hdr_{next(_unique)}", "header_allowlist": tuple(headers)}
    _assert_same(_deployer(tmp_path, **settings), _control_plane(control, tmp_path, **settings))


def test_a_header_given_twice_in_two_spellings_is_sent_once(control: Any, tmp_path: Path) -> None:
    """AgentCore refuses a list naming one header twice; the deployer merges the repeat
    (pyproject's X-Tenant and a flag's x-tenant), as it merges the recorded list."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.agentcore-mcp]\nrequest-header-allowlist = ["X-Tenant"]\n'
    )
    name = f"hdr_{next(_unique)}"
    config = load_config(tmp_path, name=name, header_allowlist=("x-tenant", "X-Two"))
    assert config.header_allowlist == ("X-Tenant", "X-Two")
    assert (
        _control_plane(control, tmp_path, name=name, header_allowlist=config.header_allowlist)
        is None
    )
    refused = _control_plane(
        control, tmp_path, name=f"hdr_{next(_unique)}", header_allowlist=("X-Tenant", "x-tenant")
    )
    assert refused is not None and "listed twice" in refused


def test_the_matrix_has_both_outcomes(control: Any, tmp_path: Path) -> None:
    """A matrix where everything passes (or fails) on both sides proves nothing."""
    outcomes = {
        _control_plane(control, tmp_path, name=f"hdr_{next(_unique)}", header_allowlist=tuple(h))
        is None
        for h in HEADER_LISTS
    }
    assert outcomes == {True, False}


# --- the CLI -------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for every AWS endpoint: records each request, answers 500."""

    seen: list[str] = []

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_cli_allow_header_cookie_exits_6_with_the_control_planes_reason(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    state = tmp_path / "state.json"
    _Recorder.seen = []
    with serving(HTTPServer(("127.0.0.1", 0), _Recorder)) as aws:
        env = {
            "AWS_ENDPOINT_URL": aws,
            "AWS_REGION": REGION,
            "AWS_PROFILE": "",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        got = run_cli(
            ["deploy", "--target", "aws", "--allow-header", "Cookie", "--state", str(state)],
            cwd=project,
            env=env,
        )
    assert got.returncode == 6, got.stderr
    assert got.stderr.strip().splitlines()[-1] == (
        "error: --allow-header: 'Cookie' is a restricted header (cookies); "
        "it cannot be allowlisted."
    ), got.stderr
    assert _Recorder.seen == []  # not one AWS call, so nothing written
    assert not state.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert list(project.iterdir()) == []
