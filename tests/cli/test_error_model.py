"""One error model: every error family of the package derives from `AgentCoreMcpError` and
carries its exit code; the CLI's one handler (`cli.errors`, the root group's) prints
`error: <message>` and ends with that code, whatever command raised it. The AWS service
errors of the local AgentCore's two planes are one type with one renderer.

The matrix runs in-process (typer's CliRunner over a command group built with the CLI's
own `HandledGroup`); a few real `agentcore-mcp` processes check the same end to end."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import agentcore_mcp
from agentcore_mcp.cli import app as cli_app
from agentcore_mcp.cli.errors import HandledGroup
from agentcore_mcp.errors import AgentCoreMcpError, AwsServiceError
from agentcore_mcp.exit_codes import ExitCode


def _families() -> list[tuple[str, Callable[[], BaseException], int]]:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
    from mcp.shared.exceptions import MCPError
    from mcp_types import ErrorData

    from agentcore_mcp.auth.sigv4.errors import SigV4SignatureMismatchError
    from agentcore_mcp.client import (
        RuntimeAuthError,
        RuntimeTargetError,
        RuntimeTargetUsageError,
        TokenSourceError,
    )
    from agentcore_mcp.connect import ConnectError
    from agentcore_mcp.deploy.config import ConfigError
    from agentcore_mcp.deploy.errors import (
        BuildError,
        DeployError,
        NameTakenError,
        PermissionDeniedError,
        RuntimeFailedError,
        SmokeTestError,
        TargetError,
        UnreachableError,
    )
    from agentcore_mcp.deploy.ownership import NotOursError
    from agentcore_mcp.deploy.plan import DestructiveChangeError
    from agentcore_mcp.deploy.state import AmbiguousDeploymentError, StateError
    from agentcore_mcp.extras import MissingExtraError
    from agentcore_mcp.http_limits import HttpLimitsError
    from agentcore_mcp.local.errors import AccessDeniedError, ValidationError
    from agentcore_mcp.local.process import LocalProcessError
    from agentcore_mcp.local.running import LocalNotRunningError, NotARuntimeIdError
    from agentcore_mcp.local.service import LocalSettingsError, PortInUse
    from agentcore_mcp.server.loader import ServerLoadError
    from agentcore_mcp.server.manifest import ManifestUnusable
    from agentcore_mcp.server.settings import SettingsError

    denied = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
    return [
        ("target usage", lambda: RuntimeTargetUsageError("pass --name"), ExitCode.USAGE),
        ("target", lambda: RuntimeTargetError("pass --arn"), ExitCode.CONFIG_ERROR),
        ("runtime auth", lambda: RuntimeAuthError("no credentials"), ExitCode.AUTH_ERROR),
        ("token", lambda: TokenSourceError("no token"), ExitCode.AUTH_ERROR),
        ("auth", lambda: SigV4SignatureMismatchError("bad signature"), ExitCode.AUTH_ERROR),
        ("deploy", lambda: DeployError("step failed"), ExitCode.DEPLOY_FAILED),
        ("deploy target", lambda: TargetError("no region"), ExitCode.CONFIG_ERROR),
        ("unreachable", lambda: UnreachableError("cannot reach"), ExitCode.CONNECTION_ERROR),
        ("permission", lambda: PermissionDeniedError("grant it"), ExitCode.AUTH_ERROR),
        ("name taken", lambda: NameTakenError("taken"), ExitCode.DEPLOY_FAILED),
        ("not ours", lambda: NotOursError("--adopt"), ExitCode.CONFIG_ERROR),
        ("runtime failed", lambda: RuntimeFailedError("failed"), ExitCode.RUNTIME_FAILED),
        ("smoke test", lambda: SmokeTestError("no answer"), ExitCode.RUNTIME_FAILED),
        ("build", lambda: BuildError("too big"), ExitCode.CONFIG_ERROR),
        ("destructive", lambda: DestructiveChangeError([]), ExitCode.USAGE),
        ("config", lambda: ConfigError("bad name"), ExitCode.CONFIG_ERROR),
        ("state", lambda: StateError("unreadable"), ExitCode.CONFIG_ERROR),
        ("ambiguous", lambda: AmbiguousDeploymentError("several"), ExitCode.USAGE),
        ("connect", lambda: ConnectError("not a JSON object"), ExitCode.CONFIG_ERROR),
        ("local process", lambda: LocalProcessError("exited"), ExitCode.CONFIG_ERROR),
        ("port in use", lambda: PortInUse(8700, 1234), ExitCode.CONFIG_ERROR),
        ("local settings", lambda: LocalSettingsError("not a number"), ExitCode.CONFIG_ERROR),
        ("http limits", lambda: HttpLimitsError("bad limit"), ExitCode.CONFIG_ERROR),
        ("server settings", lambda: SettingsError("bad PORT"), ExitCode.CONFIG_ERROR),
        ("server load", lambda: ServerLoadError("no module"), ExitCode.CONFIG_ERROR),
        ("manifest", lambda: ManifestUnusable("stale"), ExitCode.CONFIG_ERROR),
        ("missing extra", lambda: MissingExtraError("local", "moto"), ExitCode.CONFIG_ERROR),
        ("not running", lambda: LocalNotRunningError("start"), ExitCode.CONNECTION_ERROR),
        ("runtime id", lambda: NotARuntimeIdError("not an id"), ExitCode.USAGE),
        ("aws service", lambda: ValidationError("bad field"), ExitCode.DEPLOY_FAILED),
        ("aws 403", lambda: AccessDeniedError("denied"), ExitCode.AUTH_ERROR),
        (
            "exception group",
            lambda: ExceptionGroup("task group", [RuntimeAuthError("in a task")]),
            ExitCode.AUTH_ERROR,
        ),
        ("botocore credentials", lambda: NoCredentialsError(), ExitCode.CONFIG_ERROR),
        (
            "botocore connection",
            lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            ExitCode.CONNECTION_ERROR,
        ),
        ("aws denied", lambda: ClientError(denied, "GetRole"), ExitCode.AUTH_ERROR),
        (
            "json-rpc 401",
            lambda: MCPError.from_error_data(ErrorData(code=-32001, message="Unauthorized")),
            ExitCode.AUTH_ERROR,
        ),
        (
            "json-rpc other",
            lambda: MCPError.from_error_data(ErrorData(code=-32600, message="bad")),
            ExitCode.PROTOCOL_ERROR,
        ),
    ]


FAMILIES = _families()


def _app_raising(make: Callable[[], BaseException]) -> typer.Typer:
    app = typer.Typer(cls=HandledGroup)

    @app.command("boom")
    def boom() -> None:
        raise make()

    @app.command("other")
    def other() -> None:  # two commands: a group, as the CLI's root is
        pass

    return app


@pytest.mark.parametrize(("family", "make", "code"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_the_handler_maps_each_family_to_its_exit_code(
    family: str, make: Callable[[], BaseException], code: int
) -> None:
    result = CliRunner().invoke(_app_raising(make), ["boom"])
    assert result.exit_code == code, (family, result.output, result.exception)
    assert "error: " in result.output
    assert "Traceback" not in result.output


def test_an_unexpected_error_keeps_its_traceback() -> None:
    # A bug is not dressed up as a user error: it rises with its traceback (exit 1).
    result = CliRunner().invoke(_app_raising(lambda: ZeroDivisionError("bug")), ["boom"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_usage_errors_stay_clicks() -> None:
    def bad() -> BaseException:
        return typer.BadParameter("must be auto", param_hint="--protocol")

    result = CliRunner().invoke(_app_raising(bad), ["boom"])
    assert result.exit_code == 2 and "must be auto" in result.output


def _all_modules() -> None:
    for info in pkgutil.walk_packages(agentcore_mcp.__path__, "agentcore_mcp."):
        if ".sample" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_error_of_the_package_has_a_documented_exit_code() -> None:
    _all_modules()
    documented = {int(c) for c in ExitCode}
    errors = _subclasses(AgentCoreMcpError)
    assert len(errors) > 40  # the families above and their subclasses
    for error in errors:
        assert error.exit_code in documented, error
        assert error.exit_code not in (ExitCode.OK, ExitCode.TOOL_ERROR), error


def test_one_aws_service_error_renders_both_planes_shapes() -> None:
    from agentcore_mcp.local.control import errors as control
    from agentcore_mcp.local.errors import ValidationError

    # One type, one class per modelled exception: the control plane's are the data plane's.
    assert control.ValidationError is ValidationError
    assert control.ControlPlaneError is AwsServiceError
    error = ValidationError("bad port", field="protocolConfiguration.port")
    # The control plane: an API's rest-json error with every modelled member.
    status, headers, body = error.render()
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert json.loads(body) == {
        "message": "bad port",
        "reason": "FieldValidationFailed",
        "fieldList": [{"name": "protocolConfiguration.port", "message": "bad port"}],
    }
    # The data plane, a non-MCP runtime: status + {"message"}.
    assert error.render(mcp=False)[2] == b'{"message": "bad port"}'
    # The data plane, an MCP runtime: 200 + the JSON-RPC form, the request's id.
    status, headers, body = error.render(mcp=True, request_id=7)
    assert status == 200 and headers["x-amzn-errortype"] == "ValidationException"
    assert json.loads(body) == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {
            "code": -32006,
            "message": "Validation error - Invalid request data",
            "data": {"detail": "bad port"},
        },
    }
    # A status the raiser gave wins in every shape (413: payload too large).
    assert ValidationError("too big", status=413).render(mcp=True)[0] == 413


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("local", "logs", "../local"), ExitCode.USAGE, "is not a runtime id"),
        (("local", "env"), ExitCode.CONNECTION_ERROR, "no local AgentCore is running"),
        (
            ("tools", "list", "--remote", "--state", "missing.json"),
            ExitCode.CONFIG_ERROR,
            "missing.json does not exist",
        ),
        (("tools", "list", "--url", "http://127.0.0.1:9/mcp"), ExitCode.CONNECTION_ERROR, ""),
    ],
    ids=["usage", "connection", "configuration", "tools-connection"],
)
def test_real_commands_end_with_the_handlers_code(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    home_args = ("--home", str(tmp_path / "home")) if args[0] == "local" else ()
    done = _cli(*args, *home_args, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert "Traceback" not in done.stderr


def test_every_command_has_a_help_example() -> None:
    """`--help` ends with examples on every command and group; no text names the seed."""
    root = typer.main.get_command(cli_app)

    def walk(cmd: object, path: list[str]) -> None:
        epilog = getattr(cmd, "epilog", None) or ""
        assert "agentcore-mcp" in epilog, f"`{' '.join(path)} --help` has no example"
        for text in (epilog, getattr(cmd, "help", None) or ""):
            assert "the seed's" not in text, path
        for param in getattr(cmd, "params", []):
            assert "the seed's" not in (getattr(param, "help", None) or ""), (path, param)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(root, ["agentcore-mcp"])
