"""Secrets Manager: one secret per `--secret NAME`; the runtime gets NAME_SECRET_ID."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import DeployError, error_code
from agentcore_mcp.deploy.ownership import as_dict


def _describe(sm: Any, secret_id: str) -> dict[str, Any] | None:
    try:
        got: dict[str, Any] = sm.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return None if got.get("DeletedDate") else got


def ensure_secret(
    ctx: StepContext, secret_name: str, value: str | None, what: str
) -> tuple[str, bool]:
    """(ARN, changed): the secret exists and holds `value` (None keeps what is stored)."""
    sm = ctx.client("secretsmanager")
    try:
        found = _describe(sm, secret_name)
        if found is None:
            if value is None:
                raise DeployError(
                    f"{what}: no value to store; set it in the environment (export it) or "
                    "run deploy in a terminal to be prompted"
                )
            if ctx.dry_run:
                ctx.progress(f"would create secret {secret_name}")
                return "", True
            made = sm.create_secret(
                Name=secret_name,
                SecretString=value,
                Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()],
                Description=f"agentcore-mcp deployment {ctx.record.key}",
            )
            ctx.progress(f"stored {what} in Secrets Manager ({secret_name})")
            return str(made["ARN"]), True
        arn = str(found["ARN"])
        if value is None:
            return arn, False
        current = sm.get_secret_value(SecretId=arn).get("SecretString")
        if current == value:
            return arn, False
        if ctx.dry_run:
            ctx.progress(f"would update secret {secret_name}")
            return arn, True
        sm.put_secret_value(SecretId=arn, SecretString=value)
        ctx.progress(f"updated {what} in Secrets Manager ({secret_name})")
        return arn, True
    except ClientError as exc:
        raise ctx.fail(exc, f"storing {what}") from None


def apply(ctx: StepContext) -> bool:
    changed = False
    wanted = set(ctx.config.secrets)
    for var in sorted(wanted):
        arn, did = ensure_secret(
            ctx, ctx.names.env_secret(var), ctx.secret_values.get(var), f"secret {var}"
        )
        changed |= did
        if arn and ctx.record.secrets.get(var) != arn:
            ctx.record.secrets[var] = arn
            ctx.save()
    for var in sorted(set(ctx.record.secrets) - wanted):
        changed |= delete_secret(ctx, ctx.names.env_secret(var))
        ctx.record.secrets.pop(var, None)
        ctx.save()
    return changed


def delete_secret(ctx: StepContext, secret_id: str) -> bool:
    sm = ctx.client("secretsmanager")
    try:
        found = _describe(sm, secret_id)
        if found is None:
            return False
        why = ctx.not_ours(as_dict(found.get("Tags")))
        if why is not None:  # made by another deployment, or by hand: not ours to delete
            ctx.warn(f"left secret {found['ARN']}: {why}")
            return False
        if ctx.dry_run:
            ctx.progress(f"would delete secret {secret_id}")
            return True
        sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        ctx.progress(f"deleted secret {secret_id}")
        return True
    except ClientError as exc:
        raise ctx.fail(exc, f"deleting secret {secret_id}") from None


def destroy(ctx: StepContext) -> bool:
    """Every secret under agentcore-mcp/NAME/, recorded or not (a killed deploy may have
    made one it never recorded)."""
    prefix = ctx.names.env_secret("")
    ids = {ctx.names.env_secret(var) for var in [*ctx.record.secrets, *ctx.config.secrets]}
    try:
        pages = (
            ctx.client("secretsmanager")
            .get_paginator("list_secrets")
            .paginate(Filters=[{"Key": "name", "Values": [prefix]}])
        )
        ids |= {
            s["Name"]
            for page in pages
            for s in page.get("SecretList", [])
            if str(s["Name"]).startswith(prefix)
        }
    except ClientError as exc:
        raise ctx.fail(exc, "listing the deployment's secrets") from None
    changed = False
    for secret_id in sorted(ids):
        changed |= delete_secret(ctx, secret_id)
    ctx.record.secrets = {}
    return changed
