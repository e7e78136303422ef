"""`status` and `update-token` as library calls, and the lookup of a deployment's state
record that `logs` shares."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.context import Names
from agentcore_mcp.deploy.errors import DeployError, error_code, explain_client_error
from agentcore_mcp.deploy.state import (
    DeploymentRecord,
    find_record,
    load_state,
    record_key,
    validate_record,
)
from agentcore_mcp.deploy.target import Target, open_target


def recorded(config: DeployConfig, state_path: Path | None) -> DeploymentRecord:
    """The state's record for (target, region, name), without calling AWS."""
    state = load_state(state_path)
    record = find_record(state, target=config.target, region=config.region, name=config.name)
    if record is None:
        raise DeployError(
            f"no {config.target} deployment named {config.name} in {state.path}: run "
            "`agentcore-mcp deploy` first, or pass --state / --name / --target"
        )
    return validate_record(record, state.path)


def target_and_record(
    config: DeployConfig, state_path: Path | None
) -> tuple[Target, DeploymentRecord]:
    """The target (a local AgentCore is not started) and its validated state record."""
    target = open_target(config, start_local=False)
    state = load_state(state_path)
    record = state.get(record_key(config.target, target.region, config.name, target.account))
    if record is None:
        raise DeployError(
            f"no {config.target} deployment named {config.name} in {state.path}: run "
            "`agentcore-mcp deploy` first"
        )
    local_url = target.endpoint_url if target.kind == "local" else None
    return target, validate_record(record, state.path, local_url=local_url)


def _present(call: Callable[[], Any], missing: tuple[str, ...]) -> bool:
    try:
        call()
        return True
    except ClientError as exc:
        if error_code(exc) in missing:
            return False
        raise


def live_status(config: DeployConfig, state_path: Path | None = None) -> dict[str, Any]:
    """The runtime's live status and version, and whether each recorded resource exists."""
    target, record = target_and_record(config, state_path)
    names = Names(config.name, target.region, target.account)
    c = target.client
    out: dict[str, Any] = {"key": record.key, "runtime": None, "resources": {}}
    res: dict[str, bool] = out["resources"]
    try:
        if record.runtime is not None:
            try:
                got = c("bedrock-agentcore-control").get_agent_runtime(
                    agentRuntimeId=record.runtime.id
                )
                out["runtime"] = {
                    "id": got["agentRuntimeId"],
                    "status": got.get("status"),
                    "version": got.get("agentRuntimeVersion"),
                    "failure_reason": got.get("failureReason"),
                }
                res["runtime"] = True
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                res["runtime"] = False
        if record.role is not None:
            role_name = record.role.name
            res["role"] = _present(lambda: c("iam").get_role(RoleName=role_name), ("NoSuchEntity",))
        if record.artifact is not None and record.artifact.kind == "zip":
            art = record.artifact
            res["artifact"] = _present(
                lambda: c("s3").head_object(Bucket=art.bucket, Key=art.key),
                ("404", "NoSuchKey", "NoSuchBucket"),
            )
        if record.cognito is not None:
            pool = record.cognito.pool_id
            res["user_pool"] = _present(
                lambda: c("cognito-idp").describe_user_pool(UserPoolId=pool),
                ("ResourceNotFoundException",),
            )
        for var, arn in sorted(record.secrets.items()):
            res[f"secret:{var}"] = _present(
                functools.partial(c("secretsmanager").describe_secret, SecretId=arn),
                ("ResourceNotFoundException",),
            )
        if record.publish is not None:
            res["ssm_parameter"] = _present(
                lambda: c("ssm").get_parameter(Name=names.parameter), ("ParameterNotFound",)
            )
    except ClientError as exc:
        raise explain_client_error(exc, "checking the deployment") from None
    return out


def update_token(config: DeployConfig, state_path: Path | None = None) -> tuple[str, int]:
    """(access token, expires_in seconds) for the stored Cognito user; never written to disk."""
    from agentcore_mcp.auth.cognito import CognitoAuthError, get_user_token

    target, record = target_and_record(config, state_path)
    if record.cognito is None or not record.cognito.user_secret_id:
        raise DeployError(
            f"{config.name} has no Cognito user: deploy with --oauth (or --step cognito) first"
        )
    try:
        user = json.loads(
            target.client("secretsmanager").get_secret_value(
                SecretId=record.cognito.user_secret_id
            )["SecretString"]
        )
        tokens = get_user_token(
            target.client("cognito-idp"),
            record.cognito.client_id,
            str(user["username"]),
            str(user["password"]),
        )
    except ClientError as exc:
        raise explain_client_error(exc, "reading the stored Cognito user") from None
    except CognitoAuthError as exc:
        raise DeployError(
            f"cannot sign in as the stored user: {exc}; `agentcore-mcp deploy --oauth` repairs it"
        ) from None
    return tokens.access_token, tokens.expires_in
