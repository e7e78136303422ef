"""`destroy` as a library call: remove, in reverse order, only what carries the
deployment's tags (found through the state file, or by --name and the tags)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy import ownership
from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.context import Event, Names, StepContext
from agentcore_mcp.deploy.errors import DeployError, explain_client_error
from agentcore_mcp.deploy.state import (
    DeploymentRecord,
    find_record,
    load_state,
    record_key,
    validate_record,
)
from agentcore_mcp.deploy.target import open_target


@dataclass(slots=True)
class DestroyResult:
    key: str
    removed: dict[str, bool] = field(default_factory=dict)
    dry_run: bool = False
    found_by: str = "state"  # "state", "name" (tags found by --name), or "nothing"
    message: str = ""
    scheduled_deletions: list[dict[str, str]] = field(default_factory=list)  # secrets

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "removed": self.removed,
            "dry_run": self.dry_run,
            "found_by": self.found_by,
            "message": self.message,
            "scheduled_deletions": self.scheduled_deletions,
        }


@dataclass(slots=True)
class DestroyTarget:
    """What `destroy` would act on: a recorded deployment, one found by --name whose
    resources carry its tags, or nothing (then `message` says why)."""

    key: str
    found_by: str  # "state", "name", "nothing"
    arns: list[str] = field(default_factory=list)  # resources carrying its tags (by name)
    message: str = ""
    deployment_id: str = ""
    config: DeployConfig | None = None


def _no_record(config: DeployConfig, path: Path) -> str:
    return (
        f"no recorded {config.target} deployment named {config.name} in {path}; nothing "
        "destroyed. Run destroy where you deployed (or pass --state FILE, the state file "
        "that deployed it), or pass --name NAME to destroy a deployment whose resources "
        "carry agentcore-mcp's tags (you confirm the ARNs first)"
    )


def find_destroy_target(
    config: DeployConfig,
    state_path: Path | None = None,
    *,
    by_name: bool,
    debug: Callable[[str], None] | None = None,
) -> DestroyTarget:
    """Which deployment `destroy` would remove. Without a state record and without an
    explicit --name (`by_name`), nothing: no AWS call is made, no local AgentCore started."""
    state = load_state(state_path)
    loose = find_record(state, target=config.target, region=config.region or None, name=config.name)
    if loose is None and not by_name:
        return DestroyTarget(key="", found_by="nothing", message=_no_record(config, state.path))
    target = open_target(config, debug=debug)
    key = record_key(config.target, target.region, config.name, target.account)
    record = state.get(key)
    if record is not None:
        local_url = target.endpoint_url if target.kind == "local" else None
        validate_record(record, state.path, local_url=local_url)
        return DestroyTarget(
            key=key, found_by="state", deployment_id=record.deployment_id, config=config
        )
    if not by_name:
        return DestroyTarget(key=key, found_by="nothing", message=_no_record(config, state.path))
    names = Names(config.name, target.region, target.account)
    try:
        candidates: list[ownership.Claim | None] = []
        control = target.client("bedrock-agentcore-control")
        live = ownership.find_runtime(control, config.name, None)
        if live is not None:
            candidates.append(ownership.runtime_claim(control, live))
        candidates.append(ownership.role_claim(target.client("iam"), names.role))
        found_id = next(
            (
                c.tags[ownership.TAG_DEPLOYMENT_ID]
                for c in candidates
                if c is not None
                and c.tags.get(ownership.TAG_DEPLOYMENT) == key
                and c.tags.get(ownership.TAG_DEPLOYMENT_ID)
            ),
            "",
        )
        if not found_id:
            seen = [f"{c.kind} {c.arn}" for c in candidates if c is not None]
            why = (
                f"{', '.join(seen)} found by name but not tagged {ownership.TAG_DEPLOYMENT}="
                f"{key} with a deployment id; left alone"
                if seen
                else "no runtime or role of that name"
            )
            return DestroyTarget(
                key=key,
                found_by="nothing",
                message=f"no deployment {key} to destroy: {why}",
                config=config,
            )
        record = DeploymentRecord(
            target=config.target,
            region=target.region,
            name=config.name,
            account=target.account,
            deployment_id=found_id,
        )
        ctx = StepContext(config, target, state, record, lambda _e: None, dry_run=True)
        arns = [
            c.arn
            for c in ownership.claims(ctx, ("runtime", "role", "cognito", "publish"))
            if ctx.not_ours(c.tags) is None
        ]
        repo = ownership.repository_claim(target.client("ecr"), names.repository)
        if repo is not None and ctx.not_ours(repo.tags) is None:
            arns.append(repo.arn)
        sm = target.client("secretsmanager")
        prefix = names.env_secret("")
        pages = sm.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}]
        )
        for page in pages:
            for listed in page.get("SecretList", []):
                if not str(listed["Name"]).startswith(prefix) or listed["ARN"] in arns:
                    continue
                if ctx.not_ours(ownership.as_dict(listed.get("Tags"))) is None:
                    arns.append(str(listed["ARN"]))
    except ClientError as exc:
        raise explain_client_error(exc, f"looking for deployment {key}") from None
    return DestroyTarget(key=key, found_by="name", arns=arns, deployment_id=found_id, config=config)


def destroy(
    config: DeployConfig,
    *,
    state_path: Path | None = None,
    dry_run: bool = False,
    on_event: Callable[[Event], None] | None = None,
    debug: Callable[[str], None] | None = None,
    by_name: bool = False,
    found: DestroyTarget | None = None,
) -> DestroyResult:
    """Remove, in reverse order, what carries the deployment's tags: the deployment the
    state records, or (with `by_name`) the one whose runtime/role named `config.name` carry
    its tags. Untagged and foreign resources are left, with a warning each."""
    from botocore.exceptions import BotoCoreError

    from agentcore_mcp.deploy.errors import explain_botocore_error
    from agentcore_mcp.deploy.steps import build, cognito, publish, role, runtime, secrets

    emit = on_event or (lambda _e: None)
    found = found or find_destroy_target(config, state_path, by_name=by_name, debug=debug)
    if found.found_by == "nothing":
        return DestroyResult(found.key, dry_run=dry_run, found_by="nothing", message=found.message)
    target = open_target(config, debug=debug, on_event=lambda m: emit(Event("info", "target", m)))
    state = load_state(state_path)
    record = state.get(found.key) or DeploymentRecord(
        target=config.target,
        region=target.region,
        name=config.name,
        account=target.account,
        deployment_id=found.deployment_id,
    )
    if record.deployment_id != found.deployment_id:
        raise DeployError(f"{state.path} changed while destroy ran; run destroy again")
    if not record.deployment_id:
        emit(
            Event(
                "warning",
                "destroy",
                f"{found.key} has no deployment id (made by an older agentcore-mcp): its "
                "resources carry no id tag and are left; run `agentcore-mcp deploy --adopt` "
                "once to tag them, then destroy",
            )
        )
    ctx = StepContext(config, target, state, record, emit, dry_run=dry_run)
    result = DestroyResult(
        found.key,
        dry_run=dry_run,
        found_by=found.found_by,
        scheduled_deletions=ctx.scheduled_deletions,
    )
    order: list[tuple[str, Any]] = [
        ("publish", publish),
        ("runtime", runtime),
        ("build", build),
        ("role", role),
        ("secrets", secrets),
        ("cognito", cognito),
    ]
    for name, module in order:
        ctx.step = name
        emit(Event("start", name))
        try:
            removed = bool(module.destroy(ctx))
        except BotoCoreError as exc:
            raise explain_botocore_error(exc, f"destroying ({name})") from None
        result.removed[name] = removed
        if not dry_run and ctx.record.key in ctx.state.deployments:
            ctx.save()
        emit(Event("done", name, changed=removed))
    if not dry_run:
        ctx.state.remove(ctx.record.key)
    return result
