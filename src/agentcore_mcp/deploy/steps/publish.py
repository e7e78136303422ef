"""SSM parameters a client on another machine reads with only AWS credentials."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import DeployError, error_code
from agentcore_mcp.deploy.ownership import as_list, parameter_claim
from agentcore_mcp.deploy.state import PublishRecord


def published_document(ctx: StepContext) -> dict[str, Any]:
    record = ctx.record
    if record.runtime is None:
        raise DeployError("publish needs the runtime step first: run deploy")
    cognito = record.cognito if record.auth == "oauth" else None
    return {
        "runtime_arn": record.runtime.arn,
        "invocation_url": record.runtime.invocation_url,
        "auth": record.auth,
        "region": record.region,
        "discovery_url": cognito.discovery_url if cognito else None,
        "client_id": cognito.client_id if cognito else None,
        "user_secret_id": cognito.user_secret_id if cognito else None,
    }


def _put(ctx: StepContext, name: str, value: str) -> bool:
    ssm = ctx.client("ssm")
    try:
        current = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        current = None
    if current == value:
        return False
    if ctx.dry_run:
        ctx.progress(f"would write SSM parameter {name}")
        return True
    if current is None:  # SSM takes Tags only on create (not with Overwrite)
        ssm.put_parameter(Name=name, Value=value, Type="String", Tags=as_list(ctx.tags))
    else:
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    ctx.progress(f"wrote SSM parameter {name}")
    return True


def apply(ctx: StepContext) -> bool:
    names = ctx.names
    if ctx.dry_run and ctx.record.runtime is None:
        ctx.progress(f"would write SSM parameters {names.parameter} and {names.arn_parameter}")
        return True
    doc = published_document(ctx)
    try:
        changed = _put(ctx, names.parameter, json.dumps(doc, sort_keys=True))
        changed |= _put(ctx, names.arn_parameter, doc["runtime_arn"])
    except ClientError as exc:
        raise ctx.fail(exc, "publishing to SSM") from None
    cognito = ctx.record.cognito
    ctx.record.publish = PublishRecord(
        parameter=names.parameter,
        arn_parameter=names.arn_parameter,
        credentials_secret_id=cognito.user_secret_id if cognito else "",
    )
    ctx.save()
    return changed


def destroy(ctx: StepContext) -> bool:
    ssm = ctx.client("ssm")
    changed = False
    for name in (ctx.names.parameter, ctx.names.arn_parameter):
        try:
            claim = parameter_claim(ssm, name)
        except ClientError as exc:
            raise ctx.fail(exc, f"reading SSM parameter {name}") from None
        if claim is None:
            continue
        why = ctx.not_ours(claim.tags)
        if why is not None:
            ctx.warn(f"left SSM parameter {claim.arn}: {why}")
            continue
        if ctx.dry_run:
            ctx.progress(f"would delete SSM parameter {name}")
        else:
            ssm.delete_parameter(Name=name)
            ctx.progress(f"deleted SSM parameter {name}")
        changed = True
    ctx.record.publish = None
    return changed
