"""Secrets Manager: one secret per `--secret NAME`; the runtime gets NAME_SECRET_ID."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import DeployError, error_code
from agentcore_mcp.deploy.ownership import as_dict

RECOVERY_WINDOW_DAYS = 7  # Secrets Manager's shortest: a mistaken removal can be undone


def _describe(sm: Any, secret_id: str) -> dict[str, Any] | None:
    """The secret, also when it is scheduled for deletion (it has a DeletedDate then)."""
    try:
        got: dict[str, Any] = sm.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return got


def restore_command(ctx: StepContext, arn: str) -> str:
    """The AWS CLI line that cancels a scheduled deletion (with the local endpoint)."""
    line = f"aws secretsmanager restore-secret --secret-id {arn} --region {ctx.target.region}"
    if ctx.target.endpoint_url:
        line += f" --endpoint-url {ctx.target.endpoint_url}"
    return line


def ensure_secret(
    ctx: StepContext, secret_name: str, value: str | None, what: str
) -> tuple[str, bool]:
    """(ARN, changed): the secret exists and holds `value` (None keeps what is stored).

    One scheduled for deletion (an earlier removal or destroy) is restored, as its name
    cannot be created again until the window ends."""
    sm = ctx.client("secretsmanager")
    try:
        found = _describe(sm, secret_name)
        restored = False
        if found is not None and found.get("DeletedDate"):
            if ctx.dry_run:
                ctx.progress(f"would restore secret {secret_name} (scheduled for deletion)")
                return str(found["ARN"]), True
            sm.restore_secret(SecretId=str(found["ARN"]))
            ctx.progress(f"restored {what} ({secret_name}); it was scheduled for deletion")
            restored = True
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
            return arn, restored
        current = sm.get_secret_value(SecretId=arn).get("SecretString")
        if current == value:
            return arn, restored
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
    # Only an explicit --remove-secret leaves a recorded secret out of `wanted`
    # (config.desired_config); its deletion is scheduled, not immediate.
    for var in sorted(set(ctx.record.secrets) - wanted):
        changed |= delete_secret(
            ctx, ctx.names.env_secret(var), recovery=not ctx.config.force_delete_secrets
        )
        ctx.record.secrets.pop(var, None)
        ctx.save()
    return changed


def delete_secret(ctx: StepContext, secret_id: str, *, recovery: bool = False) -> bool:
    """Delete the secret: with `recovery`, schedule it with the recovery window and say
    how to restore it; without, at once (the Cognito user's generated password)."""
    sm = ctx.client("secretsmanager")
    try:
        found = _describe(sm, secret_id)
        if found is None or found.get("DeletedDate"):
            return False
        why = ctx.not_ours(as_dict(found.get("Tags")))
        if why is not None:  # made by another deployment, or by hand: not ours to delete
            ctx.warn(f"left secret {found['ARN']}: {why}")
            return False
        arn = str(found["ARN"])
        if ctx.dry_run:
            when = f"in {RECOVERY_WINDOW_DAYS} days" if recovery else "at once, for good"
            ctx.progress(f"would delete secret {secret_id} ({when})")
            return True
        if not recovery:
            sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            ctx.progress(f"deleted secret {secret_id} (no recovery window)")
            return True
        got = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=RECOVERY_WINDOW_DAYS)
        date = got.get("DeletionDate")
        day = (
            date.date().isoformat() if hasattr(date, "date") else f"in {RECOVERY_WINDOW_DAYS} days"
        )
        command = restore_command(ctx, arn)
        ctx.scheduled_deletions.append(
            {"secret_id": secret_id, "arn": arn, "deletion_date": day, "restore": command}
        )
        ctx.warn(f"secret {secret_id} is scheduled for deletion on {day}; to keep it: {command}")
        return True
    except ClientError as exc:
        raise ctx.fail(exc, f"deleting secret {secret_id}") from None


def destroy(ctx: StepContext) -> bool:
    """Every secret under agentcore-mcp/NAME/, recorded or not (a killed deploy may have
    made one it never recorded); scheduled with the recovery window unless
    --force-delete-secrets."""
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
    # The Cognito user's password is the cognito step's: it goes, at once, with the pool.
    ids.discard(ctx.names.user_secret)
    changed = False
    for secret_id in sorted(ids):
        changed |= delete_secret(ctx, secret_id, recovery=not ctx.config.force_delete_secrets)
    ctx.record.secrets = {}
    return changed
