"""The deployer's errors, and AWS errors turned into messages that say what to do."""

from __future__ import annotations

import re
from typing import Any

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode


class DeployError(AgentCoreMcpError):
    """A deploy step failed; the message says what to do next."""

    exit_code = ExitCode.DEPLOY_FAILED


class TargetError(DeployError):
    """The target (local AgentCore or AWS account) cannot be used as configured."""

    exit_code = ExitCode.CONFIG_ERROR


class UnreachableError(TargetError):
    """Nothing answered at a service endpoint (network, AWS_ENDPOINT_URL, local AgentCore)."""

    exit_code = ExitCode.CONNECTION_ERROR


class PermissionDeniedError(DeployError):
    """The caller lacks an IAM permission; the message names the action."""

    exit_code = ExitCode.AUTH_ERROR


class NameTakenError(DeployError):
    """A resource with the deployer's name exists but was not made by this deployment."""


class RuntimeFailedError(DeployError):
    """The runtime reached CREATE_FAILED / UPDATE_FAILED; the message has failureReason."""

    exit_code = ExitCode.RUNTIME_FAILED


class SmokeTestError(DeployError):
    """The deployed runtime did not answer tools/list through the data plane."""

    exit_code = ExitCode.RUNTIME_FAILED


class BuildError(DeployError):
    """The artifact could not be built (dependency install, size limits, container engine)."""

    exit_code = ExitCode.CONFIG_ERROR


_ACTION_RE = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")


def explain_client_error(exc: Any, doing: str) -> DeployError:
    """A botocore ClientError as a DeployError whose message says what to do."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or str(exc)
    op = getattr(exc, "operation_name", "")
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation") or (
        "not authorized" in message
    ):
        match = _ACTION_RE.search(message)
        action = match[1] if match else _action_for(exc)
        return PermissionDeniedError(
            f"{doing}: permission denied for {action}. Grant it to your identity "
            f"(`agentcore-mcp role put-policy` adds what the deployer needs), then rerun. "
            f"AWS said: {message}"
        )
    if code == "UnrecognizedClientException" or "Could not connect" in message:
        return TargetError(
            f"{doing}: the service is not available here ({message}); pick a region where "
            "AgentCore Runtime is offered (e.g. us-east-1, us-west-2, eu-central-1)"
        )
    if code in ("ThrottlingException", "TooManyRequestsException", "Throttling"):
        return DeployError(
            f"{doing}: still throttled after botocore's retries ({op}); wait a minute and rerun"
        )
    return DeployError(f"{doing}: {op} failed with {code}: {message}")


def _action_for(exc: Any) -> str:
    # The message did not name the action: the operation is the closest thing to it.
    return str(getattr(exc, "operation_name", "") or "the operation")


def error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def explain_botocore_error(exc: Exception, doing: str) -> DeployError:
    """A botocore error that is not a service answer (no connection, no credentials)."""
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        url = str(getattr(exc, "kwargs", {}).get("endpoint_url", "")) or str(exc)
        if "bedrock-agentcore" in url and "amazonaws.com" in url:
            return TargetError(
                f"{doing}: cannot reach {url}: AgentCore Runtime may not be offered in this "
                "region; pick one where it is (e.g. us-east-1, us-west-2, eu-central-1)"
            )
        return UnreachableError(
            f"{doing}: cannot reach {url}; check the network, AWS_ENDPOINT_URL, or that the "
            "local AgentCore is running (`agentcore-mcp local status`)"
        )
    if isinstance(exc, NoCredentialsError):
        return TargetError(
            f"{doing}: no AWS credentials; run `aws configure` or `aws sso login`, "
            "or pass --profile"
        )
    if isinstance(exc, NoRegionError):
        return TargetError(f"{doing}: no region; pass --region or set AWS_REGION")
    return DeployError(f"{doing}: {exc}")
