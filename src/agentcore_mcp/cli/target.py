"""Find the deployed runtime for `tools --remote`, `test-auth`, `proxy` and `connect`.

Order: explicit flags (`--url`, `--arn`, `--runtime-id` + `--account`, `--ssm-parameter`)
always win -> the deployment `--name` picks in the deployer's state file (`--state`,
default ./deployment_config.json; several deployments and no `--name` is an error that
lists them) -> the SSM parameter the deployer published for `--name`. The auth method
comes from the picked deployment (an OAuth deployment is reached with OAuth);
`--oauth` / `--sigv4` override it.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import typer

from agentcore_mcp.client.runtime import (
    AuthMethod,
    RuntimeTarget,
    RuntimeTargetError,
    RuntimeTargetUsageError,
    deployment_parameter,
    runtime_arn,
    target_from_arn,
    target_from_ssm,
    target_from_url,
)

# Where `agentcore-mcp deploy` publishes a deployment of the default name.
DEFAULT_SSM_PARAMETER = deployment_parameter("agentcore_mcp_server")
BEARER_ENV = "AGENTCORE_BEARER_TOKEN"

NAME = typer.Option(
    None,
    "--name",
    help="The deployment to use, by the name it was deployed with (needed when the state "
    "file holds several).",
)
ARN = typer.Option(None, "--arn", help="Runtime ARN (instead of the state file / SSM).")
RUNTIME_ID = typer.Option(None, "--runtime-id", help="Runtime id; needs --account.")
ACCOUNT = typer.Option(None, "--account", help="AWS account id, with --runtime-id.")
REGION = typer.Option(None, "--region", help="AWS region (default: the ARN's or the profile's).")
QUALIFIER = typer.Option("DEFAULT", "--qualifier", help="Runtime endpoint name.")
STATE = typer.Option(None, "--state", help="The deployer's state file.")
SSM = typer.Option(
    None,
    "--ssm-parameter",
    help="SSM parameter the deployer published (/agentcore-mcp/NAME/deployment, or one "
    "holding the ARN alone); wins over the state file "
    f"[/agentcore-mcp/NAME/deployment, {DEFAULT_SSM_PARAMETER}].",
)
OAUTH = typer.Option(False, "--oauth", help="Use a Cognito bearer token (JWT runtimes).")
SIGV4 = typer.Option(False, "--sigv4", help="Sign with SigV4 (IAM runtimes; the default).")
CLIENT_ID = typer.Option(None, "--client-id", help="Cognito app client id (OAuth).")
USER_SECRET = typer.Option(
    None,
    "--user-secret-id",
    help="Secrets Manager id of the stored Cognito user (JSON username/password).",
)
PROFILE = typer.Option(None, "--profile", help="AWS profile (default credential chain otherwise).")


@dataclass(frozen=True, slots=True)
class TargetFlags:
    name: str | None = None
    url: str | None = None
    arn: str | None = None
    runtime_id: str | None = None
    account: str | None = None
    region: str | None = None
    qualifier: str = "DEFAULT"
    state: Path | None = None
    ssm_parameter: str | None = None
    oauth: bool = False
    sigv4: bool = False
    client_id: str | None = None
    user_secret_id: str | None = None
    profile: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TargetFlags:
        """The flags among a command's parameters (pass `locals()`): every command that
        finds a runtime takes the same options, and some (test-auth) not all of them."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in names})

    @property
    def auth_override(self) -> AuthMethod | None:
        if self.oauth and self.sigv4:
            raise typer.BadParameter("pass --oauth or --sigv4, not both")
        return "oauth" if self.oauth else "sigv4" if self.sigv4 else None


def _state_target(path: Path | None, name: str | None) -> RuntimeTarget | None:
    """The deployment `name` picks in the deployer's state, through its module when it
    exists (it is built alongside); None when there is no state file."""
    try:
        state_mod: Any = importlib.import_module("agentcore_mcp.deploy.state")
    except ImportError:
        if path is not None:
            raise RuntimeTargetError(
                "--state needs the deployer (agentcore_mcp.deploy), which is not installed"
            ) from None
        return None
    found = None
    try:
        found = state_mod.runtime_target(path, name=name)
    except state_mod.AmbiguousDeploymentError as exc:
        raise RuntimeTargetUsageError(str(exc)) from None
    except state_mod.StateError as exc:
        raise RuntimeTargetError(str(exc)) from None
    if found is None and path is not None:
        raise RuntimeTargetError(
            f"{path} does not exist: deploy first (`agentcore-mcp deploy`), pass the "
            "--state the deployer wrote, or pass --arn / --url"
        )
    return found if isinstance(found, RuntimeTarget) else None


def resolve_target(flags: TargetFlags) -> RuntimeTarget:
    """The runtime to talk to, or RuntimeTargetError saying what to pass
    (RuntimeTargetUsageError when the state file holds several and none was named)."""
    auth = flags.auth_override
    extra: dict[str, Any] = {}
    if flags.client_id:
        extra["client_id"] = flags.client_id
    if flags.user_secret_id:
        extra["user_secret_id"] = flags.user_secret_id
    target: RuntimeTarget | None = None
    if flags.url:
        target = replace(target_from_url(flags.url, region=flags.region), **extra)
    elif flags.arn:
        target = target_from_arn(flags.arn, region=flags.region, qualifier=flags.qualifier, **extra)
    elif flags.runtime_id:
        if not flags.account:
            raise RuntimeTargetError("--runtime-id needs --account (or pass --arn)")
        region = flags.region or _default_region(flags.profile)
        target = target_from_arn(
            runtime_arn(flags.runtime_id, flags.account, region),
            qualifier=flags.qualifier,
            **extra,
        )
    elif flags.ssm_parameter:
        target = _ssm_target(flags, flags.ssm_parameter, extra)
    else:
        target = _state_target(flags.state, flags.name)
        if target is not None and extra:
            target = replace(target, **extra)
        if target is None:
            parameter = deployment_parameter(flags.name) if flags.name else DEFAULT_SSM_PARAMETER
            target = _ssm_target(flags, parameter, extra)
    return with_local_endpoint(target.with_auth(auth))


def _ssm_target(flags: TargetFlags, parameter: str, extra: dict[str, Any]) -> RuntimeTarget:
    from agentcore_mcp.client.request_auth import boto_session

    session = boto_session(flags.region, flags.profile)
    if not session.region_name:
        raise RuntimeTargetError(
            "no deployment found (no state file here) and no region for the SSM lookup: "
            "pass --region, --state, or --arn"
        )
    return target_from_ssm(parameter, session, **extra)


def aws_session(target: RuntimeTarget, profile: str | None) -> Any:
    """The boto3 session for a target. A runtime on a local AgentCore started in the default
    home is reached with that AgentCore's own per-start credentials (the user's AWS keys
    are unknown to it, and must not be sent there)."""
    from urllib.parse import urlsplit

    import boto3

    from agentcore_mcp.asgi import is_loopback_host
    from agentcore_mcp.client.request_auth import boto_session

    parts = urlsplit(target.url)
    if is_loopback_host(parts.hostname or ""):
        try:
            from agentcore_mcp.local.credentials import read_local_credentials
            from agentcore_mcp.local.service import default_home
        except ImportError:  # no [local] extra: no local AgentCore started from here
            return boto_session(target.region, profile)
        creds = read_local_credentials(default_home())
        if creds is not None and creds.url.rstrip("/") == f"{parts.scheme}://{parts.netloc}":
            return boto3.Session(
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                region_name=target.region or creds.region,
            )
    return boto_session(target.region, profile)


def with_local_endpoint(target: RuntimeTarget) -> RuntimeTarget:
    """A loopback runtime URL means a local AgentCore: its Cognito and Secrets Manager are
    on the same port."""
    from urllib.parse import urlsplit

    from agentcore_mcp.asgi import is_loopback_host

    parts = urlsplit(target.url)
    if target.aws_endpoint_url or not is_loopback_host(parts.hostname or ""):
        return target
    return replace(target, aws_endpoint_url=f"{parts.scheme}://{parts.netloc}")


def _default_region(profile: str | None) -> str:
    from agentcore_mcp.client.request_auth import boto_session

    region = boto_session(None, profile).region_name or os.environ.get("AWS_REGION")
    if not region:
        raise RuntimeTargetError("no region: pass --region")
    return region


def bearer_from_env() -> str | None:
    """A bearer token from AGENTCORE_BEARER_TOKEN (never from argv, which others can read)."""
    value = os.environ.get(BEARER_ENV, "").strip()
    return value or None


def exit_code(exc: RuntimeTargetError) -> int:
    """2 when the user must name one deployment of several, else 6 (configuration)."""
    from agentcore_mcp.cli.exit_codes import ExitCode

    return ExitCode.USAGE if isinstance(exc, RuntimeTargetUsageError) else ExitCode.CONFIG_ERROR
