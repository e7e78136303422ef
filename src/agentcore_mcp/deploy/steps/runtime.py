"""The agent runtime: create, or update only when its configuration or artifact changed."""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import DeployError, RuntimeFailedError, error_code
from agentcore_mcp.deploy.ownership import paginated, runtime_claim, runtimes_named
from agentcore_mcp.deploy.state import RuntimeRecord

READY_TIMEOUT = 600.0
POLL_SECONDS = 0.5
# Loopback answers at once; AWS's control plane throttles GetAgentRuntime.
POLL_BY_TARGET = {"local": 0.2, "aws": 1.0}
# AgentCore refuses a role IAM has not propagated yet with a ValidationException; retried
# for this long (bounded), as IAM's eventual consistency is not throttling.
ROLE_RETRY_SECONDS = 60.0


def desired_configuration(ctx: StepContext) -> dict[str, Any]:
    record, config = ctx.record, ctx.config
    if record.role is None or record.artifact is None:
        raise DeployError("the runtime step needs the role and build steps first: run deploy")
    artifact = record.artifact
    if artifact.kind == "container":
        spec: dict[str, Any] = {"containerConfiguration": {"containerUri": artifact.image_uri}}
    else:
        spec = {
            "codeConfiguration": {
                "code": {"s3": {"bucket": artifact.bucket, "prefix": artifact.key}},
                "runtime": artifact.python_runtime or config.runtime_python,
                "entryPoint": ["main.py"],
            }
        }
    env = dict(config.env)
    for var, arn in sorted(record.secrets.items()):
        env[f"{var}_SECRET_ID"] = arn  # the value stays in Secrets Manager
    desired: dict[str, Any] = {
        "agentRuntimeArtifact": spec,
        "roleArn": record.role.arn,
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "protocolConfiguration": {"serverProtocol": "MCP"},
        "environmentVariables": env,
    }
    if config.auth == "oauth":
        if record.cognito is None or not record.cognito.client_id:
            raise DeployError("--oauth needs the cognito step first: run deploy --oauth")
        desired["authorizerConfiguration"] = {
            "customJWTAuthorizer": {
                "discoveryUrl": record.cognito.discovery_url,
                # Cognito access tokens carry client_id and no aud: allowedClients, not Audience
                "allowedClients": [record.cognito.client_id],
            }
        }
    lifecycle = {}
    if config.idle_timeout is not None:
        lifecycle["idleRuntimeSessionTimeout"] = int(config.idle_timeout)
    if config.max_lifetime is not None:
        lifecycle["maxLifetime"] = int(config.max_lifetime)
    if lifecycle:
        desired["lifecycleConfiguration"] = lifecycle
    if config.header_allowlist:
        desired["requestHeaderConfiguration"] = {
            "requestHeaderAllowlist": list(config.header_allowlist)
        }
    return desired


def config_hash(desired: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()


def _find(ctx: StepContext) -> dict[str, Any] | None:
    control = ctx.client("bedrock-agentcore-control")
    if ctx.record.runtime is not None:
        got = _get_settled(ctx, ctx.record.runtime.id)
        if got is not None:
            return got
        ctx.warn(
            f"runtime {ctx.record.runtime.id} is gone (deleted outside the deployer); "
            "creating it again"
        )
        ctx.record.runtime = None
    # Not recorded (first run, or killed before recording): find it by name.
    for item in runtimes_named(control, ctx.config.name):
        found = _get_settled(ctx, str(item["agentRuntimeId"]))
        if found is not None:
            return found
    return None


def _get_settled(ctx: StepContext, runtime_id: str) -> dict[str, Any] | None:
    """The runtime, or None once it is gone; one being deleted is waited out (bounded), so
    that its name is free to create again."""
    control = ctx.client("bedrock-agentcore-control")
    for _ in range(int(120 / POLL_SECONDS)):
        try:
            got: dict[str, Any] = control.get_agent_runtime(agentRuntimeId=runtime_id)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        if got.get("status") != "DELETING":
            return got
        ctx.progress(f"waiting for runtime {runtime_id} to finish deleting")
        time.sleep(POLL_SECONDS)
    raise DeployError(f"runtime {runtime_id} is still DELETING after 120 s; rerun deploy later")


def _with_role_retry(ctx: StepContext, call: Any, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + (ROLE_RETRY_SECONDS if ctx.target.kind == "aws" else 0)
    for _ in range(int(ROLE_RETRY_SECONDS) + 1):
        try:
            result: dict[str, Any] = call(**kwargs)
            return result
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", "")).lower()
            if (
                error_code(exc) != "ValidationException"
                or "role" not in message
                or time.monotonic() >= deadline
            ):
                raise
            ctx.progress("waiting for IAM: AgentCore cannot assume the new role yet")
            time.sleep(2)
    raise DeployError("AgentCore could not assume the execution role; rerun deploy in a minute")


def apply(ctx: StepContext) -> bool:
    control = ctx.client("bedrock-agentcore-control")
    if ctx.dry_run and (ctx.record.role is None or ctx.record.artifact is None):
        ctx.progress(f"would create runtime {ctx.config.name} once the role and zip exist")
        return True
    desired = desired_configuration(ctx)
    wanted = config_hash(desired)
    try:
        live = _find(ctx)
        if live is not None and ctx.record.runtime is None:
            ctx.progress(f"found runtime {live['agentRuntimeId']} by name")
        if live is not None:
            status = str(live.get("status", ""))
            recorded = ctx.record.runtime
            same = (
                recorded is not None
                and recorded.id == live["agentRuntimeId"]
                and recorded.config_hash == wanted
            )
            _record(ctx, live, recorded.config_hash if recorded and same else "")
            if same and not status.endswith("FAILED"):
                if status != "READY":
                    wait_ready(ctx, live["agentRuntimeId"], wanted)
                ctx.progress(
                    f"runtime unchanged (version {ctx.record.runtime.version})"
                    if ctx.record.runtime
                    else "runtime unchanged"
                )
                return False
            if ctx.dry_run:
                ctx.progress(f"would update runtime {live['agentRuntimeId']} (new version)")
                return True
            if status.endswith("ING"):
                wait_ready(ctx, live["agentRuntimeId"], "", allow_failed=True)
            ctx.progress(f"updating runtime {live['agentRuntimeId']}")
            _with_role_retry(
                ctx, control.update_agent_runtime, agentRuntimeId=live["agentRuntimeId"], **desired
            )
            wait_ready(ctx, live["agentRuntimeId"], wanted)
            return True
        if ctx.dry_run:
            ctx.progress(f"would create runtime {ctx.config.name}")
            return True
        created = _with_role_retry(
            ctx,
            control.create_agent_runtime,
            agentRuntimeName=ctx.config.name,
            description=f"agentcore-mcp deployment {ctx.record.key}",
            tags=ctx.tags,
            **desired,
        )
        ctx.progress(f"created runtime {created['agentRuntimeId']}")
        _record(ctx, created, "")
        wait_ready(ctx, created["agentRuntimeId"], wanted)
        return True
    except ClientError as exc:
        if error_code(exc) == "ConflictException":
            raise DeployError(
                f"a runtime named {ctx.config.name} already exists and is busy or not ours: "
                "wait for it (`agentcore-mcp status --live`) or pick another --name"
            ) from None
        raise ctx.fail(exc, f"deploying runtime {ctx.config.name}") from None


def _record(ctx: StepContext, live: dict[str, Any], hash_: str) -> None:
    arn = str(live["agentRuntimeArn"])
    old = ctx.record.runtime
    if old is not None and old.arn == arn and old.invocation_url:
        url = old.invocation_url
    else:
        # imported here: the client package loads the mcp SDK, which a no-change rerun skips
        from agentcore_mcp.client.runtime import invocation_url

        url = invocation_url(arn, ctx.target.region, endpoint=ctx.target.endpoint_url or None)
    new = RuntimeRecord(
        id=str(live["agentRuntimeId"]),
        arn=arn,
        name=ctx.config.name,
        version=str(live.get("agentRuntimeVersion", "")),
        config_hash=hash_,
        status=str(live.get("status", "")),
        invocation_url=url,
    )
    if new != old:
        ctx.record.runtime = new
        ctx.save()


def _preload_client() -> None:
    """Import the MCP client (for the smoke test) while the runtime gets READY: the import
    takes about half a second, the wait is idle."""
    threading.Thread(
        target=importlib.import_module, args=("agentcore_mcp.client.remote",), daemon=True
    ).start()


def wait_ready(
    ctx: StepContext,
    runtime_id: str,
    wanted_hash: str,
    *,
    allow_failed: bool = False,
    timeout: float = READY_TIMEOUT,
) -> dict[str, Any]:
    control = ctx.client("bedrock-agentcore-control")
    started = time.monotonic()
    last = ""
    if not ctx.dry_run:
        _preload_client()
    poll = ctx.ready_poll_seconds or POLL_BY_TARGET.get(ctx.target.kind, POLL_SECONDS)
    for _ in range(int(timeout / poll) + 1):
        got: dict[str, Any] = control.get_agent_runtime(agentRuntimeId=runtime_id)
        status = str(got.get("status", ""))
        if status != last:
            ctx.progress(f"runtime {status} ({time.monotonic() - started:.1f} s)")
            last = status
        if not status.endswith("ING"):
            if status.endswith("FAILED") and not allow_failed:
                _record(ctx, got, "")
                raise RuntimeFailedError(
                    f"runtime {runtime_id} is {status}: {got.get('failureReason', '?')}. Fix "
                    "the cause and run deploy again"
                )
            _record(ctx, got, wanted_hash if status == "READY" else "")
            return got
        if time.monotonic() - started > timeout:
            break
        time.sleep(poll)
    raise DeployError(f"runtime {runtime_id} not READY after {timeout:.0f} s; rerun deploy later")


def destroy(ctx: StepContext) -> bool:
    control = ctx.client("bedrock-agentcore-control")
    try:
        live = _find(ctx)
        if live is None:
            ctx.record.runtime = None
            return False
        runtime_id = live["agentRuntimeId"]
        why = ctx.not_ours(runtime_claim(control, live).tags)
        if why is not None:
            ctx.warn(f"left runtime {live['agentRuntimeArn']}: {why}")
            ctx.record.runtime = None
            return False
        if ctx.dry_run:
            ctx.progress(f"would delete runtime {runtime_id} and its endpoints")
            return True
        endpoints = list(
            paginated(
                control, "list_agent_runtime_endpoints", "runtimeEndpoints",
                agentRuntimeId=runtime_id,
            )
        )  # fmt: skip
        for endpoint in endpoints:
            if endpoint.get("name") != "DEFAULT":  # DEFAULT goes with the runtime
                control.delete_agent_runtime_endpoint(
                    agentRuntimeId=runtime_id, endpointName=endpoint["name"]
                )
        control.delete_agent_runtime(agentRuntimeId=runtime_id)
        for _ in range(int(120 / POLL_SECONDS)):
            try:
                control.get_agent_runtime(agentRuntimeId=runtime_id)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    break
                raise
            time.sleep(POLL_SECONDS)
        ctx.progress(f"deleted runtime {runtime_id}")
        ctx.record.runtime = None
        return True
    except ClientError as exc:
        raise ctx.fail(exc, "deleting the runtime") from None
