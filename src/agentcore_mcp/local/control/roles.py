"""The execution-role check CreateAgentRuntime/UpdateAgentRuntime run against IAM.

The service refuses a roleArn whose role does not exist or whose trust policy does not
let `bedrock-agentcore.amazonaws.com` call `sts:AssumeRole`. Here the role is looked up
in the (embedded) IAM with GetRole and its AssumeRolePolicyDocument is read. Conditions
(aws:SourceAccount, aws:SourceArn) are not evaluated: AgentCore would satisfy the
recommended ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = ["SERVICE_PRINCIPAL", "check_runtime_role", "trust_allows_agentcore"]

SERVICE_PRINCIPAL = "bedrock-agentcore.amazonaws.com"

_TRUST_HINT = (
    f'Its trust policy needs a statement with "Effect": "Allow", "Principal": {{"Service": '
    f'"{SERVICE_PRINCIPAL}"}}, "Action": "sts:AssumeRole".'
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _action_matches(actions: Iterable[Any]) -> bool:
    return any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS")):
        return True
    return SERVICE_PRINCIPAL in _as_list(principal.get("Service"))


def trust_allows_agentcore(document: Any) -> bool:
    """Whether a trust policy (dict, or JSON text, possibly URL-encoded) lets AgentCore in."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote(document)
        document = json.loads(text)
    if not isinstance(document, dict):
        return False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement or "NotAction" in statement:
            continue
        if _principal_matches(statement.get("Principal")) and _action_matches(
            _as_list(statement.get("Action"))
        ):
            return True
    return False


def _check(iam_client_factory: Callable[[], IAMClient], role_arn: str) -> str | None:
    role_name = role_arn.rsplit("/", 1)[-1]
    iam = iam_client_factory()
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return (
                f"Role validation failed for {role_arn}: the role does not exist in IAM. "
                "Create it (with a trust policy for bedrock-agentcore.amazonaws.com) first."
            )
        raise
    if role["Arn"] != role_arn:
        return (
            f"Role validation failed for {role_arn}: IAM has this role name as "
            f"{role['Arn']}. Use that ARN."
        )
    try:
        allowed = trust_allows_agentcore(role.get("AssumeRolePolicyDocument"))
    except ValueError:
        allowed = False
    if not allowed:
        return (
            f"Role validation failed for {role_arn}: its trust policy does not allow "
            f"{SERVICE_PRINCIPAL} to assume it. {_TRUST_HINT}"
        )
    return None


async def check_runtime_role(
    iam_client_factory: Callable[[], IAMClient], role_arn: str
) -> str | None:
    """None when the role exists and trusts AgentCore; otherwise the ValidationException
    message. IAM errors other than NoSuchEntity propagate (→ InternalServerException)."""
    return await asyncio.to_thread(_check, iam_client_factory, role_arn)
