"""Run the steps in order against a target, with progress events; resumable and dry-runnable.

Every step records what it made as soon as it made it, and finds its resources by name
on the next run, so killing a deploy at any point and running it again converges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError

from agentcore_mcp.deploy.config import (
    Change,
    DeployConfig,
    changes_between,
    desired_config,
    settings_record,
)
from agentcore_mcp.deploy.context import Event, EventKind, StepContext
from agentcore_mcp.deploy.errors import DeployError, SmokeTestError, explain_botocore_error
from agentcore_mcp.deploy.ownership import check_before_deploy
from agentcore_mcp.deploy.preflight import preflight
from agentcore_mcp.deploy.state import (
    DeploymentRecord,
    find_record,
    load_state,
    record_key,
    validate_record,
)
from agentcore_mcp.deploy.steps import build, cognito, publish, role, runtime, secrets
from agentcore_mcp.deploy.target import Target, open_target
from agentcore_mcp.exit_codes import ExitCode

if TYPE_CHECKING:
    from agentcore_mcp.client.runtime import RuntimeTarget

STEP_NAMES = ("cognito", "role", "build", "runtime", "publish")
# The seed's step numbers (`deploy.py --step1`) as aliases.
STEP_ALIASES = {"1": "cognito", "2": "role", "3": "build", "4": "runtime", "5": "publish"}
_MODULES: dict[str, tuple[ModuleType, ...]] = {
    "cognito": (cognito,),
    "role": (secrets, role),  # the role's policy names the secrets it may read
    "build": (build,),
    "runtime": (runtime,),
    "publish": (publish,),
}
SmokeTest = Literal["auto", "always", "never"]


def resolve_steps(given: Sequence[str], auth: str) -> list[str]:
    if not given:
        return [s for s in STEP_NAMES if s != "cognito" or auth == "oauth"]
    chosen = set()
    for item in given:
        name = STEP_ALIASES.get(item, item)
        if name not in STEP_NAMES:
            raise DeployError(
                f"--step {item}: unknown; use {', '.join(STEP_NAMES)} (or 1-5, deploy.py's)"
            )
        chosen.add(name)
    return [s for s in STEP_NAMES if s in chosen]


@dataclass(slots=True)
class DeployResult:
    record: DeploymentRecord
    state_path: Path
    steps: dict[str, bool] = field(default_factory=dict)  # step -> changed
    tools: list[str] | None = None  # the smoke test's tools/list, when it ran
    writes: list[str] = field(default_factory=list)  # AWS write calls made
    started_local: bool = False
    seconds: float = 0.0
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)  # against the recorded deployment
    scheduled_deletions: list[dict[str, str]] = field(default_factory=list)  # secrets

    @property
    def changed(self) -> bool:
        return any(self.steps.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.record.key,
            "state": str(self.state_path),
            "changed": self.changed,
            "steps": self.steps,
            "tools": self.tools,
            "writes": self.writes,
            "started_local": self.started_local,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "changes": [c.to_json() for c in self.changes],
            "destructive": any(c.destructive for c in self.changes),
            "scheduled_deletions": self.scheduled_deletions,
            "deployment": self.record.to_json(),
        }


def open_record(
    config: DeployConfig, target: Target, state_path: Path | None
) -> tuple[Any, DeploymentRecord]:
    state = load_state(state_path)
    key = record_key(config.target, target.region, config.name, target.account)
    found = state.get(key)
    if found is not None:
        local_url = target.endpoint_url if target.kind == "local" else None
        validate_record(found, state.path, local_url=local_url)
    record = found or DeploymentRecord(
        target=config.target, region=target.region, name=config.name, account=target.account
    )
    record.endpoint_url = target.endpoint_url or ""
    return state, record


class DestructiveChangeError(DeployError):
    """The deploy would replace or remove something and nobody confirmed it (no --yes)."""

    exit_code = ExitCode.USAGE

    def __init__(self, changes: Sequence[Change]) -> None:
        listed = "; ".join(c.message for c in changes if c.destructive)
        super().__init__(
            f"this deploy makes destructive changes: {listed}. Nothing was changed. Pass --yes "
            "to apply them, --dry-run to see the whole plan, or flags that keep what is "
            "deployed (e.g. --server / --oauth as recorded)"
        )
        self.changes = list(changes)


Confirm = Callable[[Sequence[Change]], bool]


def _deployed_unchanged(config: DeployConfig, record: DeploymentRecord | None) -> bool:
    """The code to deploy is the code a finished deploy of this record built (same input
    hash: sources, spec, dependencies; same env): it imported then, so a rerun skips the
    check and costs no interpreter start."""
    from agentcore_mcp.deploy.artifact.codezip import zip_inputs

    if record is None or record.artifact is None or not record.completed_at:
        return False
    if record.settings is None or record.settings.env != dict(config.env):
        return False  # the import sees the env vars: a change is checked again
    recorded = record.artifact.input_hash
    try:
        return bool(recorded) and zip_inputs(config).input_hash().startswith(recorded)
    except (DeployError, OSError):
        return False  # the preflight says what is wrong


def _preflight(
    config: DeployConfig, emit: Callable[[Event], None], record: DeploymentRecord | None
) -> None:
    from agentcore_mcp.deploy.artifact.codezip import zip_inputs
    from agentcore_mcp.deploy.artifact.dependencies import ensure_dependencies

    if config.is_sample or _deployed_unchanged(config, record):
        return

    def dependencies() -> Path:
        emit(Event("progress", "preflight", "installing the project's dependencies to import it"))
        site, _ = ensure_dependencies(
            zip_inputs(config), lambda m: emit(Event("progress", "preflight", m))
        )
        return site

    checked = preflight(config, dependencies)
    if checked is None:
        return
    if checked.tools is not None:
        listed = ", ".join(checked.tools) or "none"
        emit(
            Event("info", "preflight", f"preflight: {config.server_spec} imports; tools: {listed}")
        )
    else:
        emit(
            Event(
                "warning",
                "preflight",
                f"preflight: could not fully check {config.server_spec} here ({checked.note}); "
                "the smoke test checks it after the deploy",
            )
        )


def deploy(
    config: DeployConfig,
    *,
    steps: Sequence[str] = (),
    state_path: Path | None = None,
    dry_run: bool = False,
    secret_values: Mapping[str, str | None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    debug: Callable[[str], None] | None = None,
    smoke_test: SmokeTest = "auto",
    adopt: bool = False,
    yes: bool = False,
    confirm: Confirm | None = None,
) -> DeployResult:
    """Run the chosen steps (all by default) and the smoke test; see docs/deployer.md.

    `config` is applied over the recorded deployment (`desired_config`): what it does not
    set stays as recorded. Destructive changes need `yes`, or `confirm(changes)` to say
    True; otherwise DestructiveChangeError, before any AWS write. The server is imported
    (`preflight`) before anything else happens. `adopt`: take over (tag) resources with
    the deployer's names that it did not make.
    """
    started = time.monotonic()
    emit = on_event or (lambda _e: None)
    # Before the target: a broken server, state file or setting starts and writes nothing.
    state = load_state(state_path)
    guess = find_record(state, target=config.target, region=config.region, name=config.name)
    checked = desired_config(config, guess)
    _preflight(checked, emit, guess)
    target = open_target(config, debug=debug, on_event=lambda m: emit(Event("info", "target", m)))
    state, record = open_record(config, target, state_path)  # the record validated
    existing = state.get(record.key)
    desired = desired_config(config, existing)
    if desired.server_spec != checked.server_spec:
        _preflight(desired, emit, existing)
    changes = changes_between(existing, desired)
    for change in changes:
        kind: EventKind = "warning" if change.destructive else "info"
        mark = "destructive change: " if change.destructive else "change: "
        emit(Event(kind, "plan", mark + change.message))
    destructive = [c for c in changes if c.destructive]
    if destructive and not dry_run and not yes and not (confirm is not None and confirm(changes)):
        raise DestructiveChangeError(changes)
    config = desired
    chosen = resolve_steps(steps, config.auth)
    if config.artifact == "container" and "build" in chosen and not dry_run:
        from agentcore_mcp.deploy.artifact.container import require_container_engine

        require_container_engine()  # before anything is made: fail at once, change nothing
    ctx = StepContext(
        config=config,
        target=target,
        state=state,
        record=record,
        emit=emit,
        dry_run=dry_run,
        secret_values=dict(secret_values or {}),
    )
    ctx.record.auth = config.auth
    ctx.record.server_spec = config.server_spec or ""
    ctx.record.settings = settings_record(config)
    result = DeployResult(
        ctx.record,
        ctx.state.path,
        started_local=target.started_local,
        dry_run=dry_run,
        changes=changes,
        scheduled_deletions=ctx.scheduled_deletions,
    )
    try:
        check_before_deploy(ctx, chosen, adopt=adopt)  # before any write (ownership.py)
    except BotoCoreError as exc:
        raise explain_botocore_error(exc, "checking the existing resources") from None
    for name in chosen:
        ctx.step = name
        emit(Event("start", name))
        changed = False
        for module in _MODULES[name]:
            try:
                changed |= bool(module.apply(ctx))
            except BotoCoreError as exc:
                raise explain_botocore_error(exc, f"step {name}") from None
        result.steps[name] = changed
        emit(Event("done", name, changed=changed))
    complete = set(chosen) >= set(resolve_steps((), config.auth))
    if not dry_run and ctx.record.runtime is not None:
        if smoke_test == "always" or (
            smoke_test == "auto" and (result.changed or not ctx.record.completed_at)
        ):
            ctx.step = "smoke-test"
            emit(Event("start", "smoke-test"))
            result.tools = list_tools(target, ctx.record)
            emit(Event("done", "smoke-test", f"{len(result.tools)} tools"))
        elif smoke_test == "auto":
            emit(Event("skip", "smoke-test", "nothing changed; the last deploy's test passed"))
        if complete:
            ctx.record.completed_at = time.time()
        ctx.save()
    result.writes = target.calls.writes
    result.seconds = time.monotonic() - started
    return result


def runtime_target_of(target: Target, record: DeploymentRecord) -> RuntimeTarget:
    from agentcore_mcp.client.runtime import RuntimeTarget, invocation_url

    if record.runtime is None:
        raise DeployError("no runtime recorded: run `agentcore-mcp deploy` first")
    cognito = record.cognito
    return RuntimeTarget(
        url=invocation_url(record.runtime.arn, record.region, endpoint=target.endpoint_url or None),
        auth=record.auth,
        arn=record.runtime.arn,
        region=record.region,
        discovery_url=cognito.discovery_url if cognito else None,
        client_id=cognito.client_id if cognito else None,
        user_secret_id=cognito.user_secret_id if cognito else None,
    )


def list_tools(target: Target, record: DeploymentRecord) -> list[str]:
    """tools/list through the data plane with the deployment's auth (the smoke test)."""
    from agentcore_mcp.client.remote import open_runtime
    from agentcore_mcp.client.request_auth import RuntimeAuthError
    from agentcore_mcp.client.session import describe_failure

    runtime_target = runtime_target_of(target, record)

    async def run() -> list[str]:
        # The initialize handshake most clients use today; "auto" would probe first and
        # cost a second round trip on a session that is still starting.
        async with open_runtime(
            runtime_target, session=target.session, protocol="handshake"
        ) as client:
            listed = await client.list_tools()
            return [tool.name for tool in listed.tools]

    try:
        return asyncio.run(run())
    except RuntimeAuthError as exc:
        raise SmokeTestError(f"smoke test: {exc}") from None
    except Exception as exc:  # the client's many failure types: report, do not crash
        raise SmokeTestError(
            f"smoke test: tools/list through the data plane failed ({describe_failure(exc)}); "
            "see `agentcore-mcp logs`"
        ) from exc
