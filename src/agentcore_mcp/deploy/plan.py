"""Run the steps in order against a target, with progress events; resumable and dry-runnable.

Every step records what it made as soon as it made it, and finds its resources by name
on the next run, so killing a deploy at any point and running it again converges.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from botocore.exceptions import BotoCoreError

from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.context import Event, StepContext
from agentcore_mcp.deploy.errors import DeployError, SmokeTestError, explain_botocore_error
from agentcore_mcp.deploy.ownership import check_before_deploy
from agentcore_mcp.deploy.state import (
    DeploymentRecord,
    load_state,
    record_key,
    validate_record,
)
from agentcore_mcp.deploy.steps import build, cognito, publish, role, runtime, secrets
from agentcore_mcp.deploy.target import Target, open_target

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
                f"--step {item}: unknown; use {', '.join(STEP_NAMES)} (or 1-5, the seed's numbers)"
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


def _context(
    config: DeployConfig,
    target: Target,
    state_path: Path | None,
    emit: Callable[[Event], None],
    *,
    dry_run: bool,
    secret_values: Mapping[str, str | None] | None = None,
) -> StepContext:
    state, record = open_record(config, target, state_path)
    work = Path(tempfile.gettempdir()) / "agentcore-mcp-deploy"
    return StepContext(
        config=config,
        target=target,
        state=state,
        record=record,
        emit=emit,
        work_dir=work,
        dry_run=dry_run,
        secret_values=dict(secret_values or {}),
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
) -> DeployResult:
    """Run the chosen steps (all by default) and the smoke test; see docs/deployer.md.
    `adopt`: take over (tag) resources with the deployer's names that it did not make."""
    started = time.monotonic()
    emit = on_event or (lambda _e: None)
    chosen = resolve_steps(steps, config.auth)
    if config.artifact == "container" and "build" in chosen and not dry_run:
        from agentcore_mcp.deploy.build import require_container_engine

        require_container_engine()  # before anything is made: fail at once, change nothing
    target = open_target(config, debug=debug, on_event=lambda m: emit(Event("info", "target", m)))
    ctx = _context(config, target, state_path, emit, dry_run=dry_run, secret_values=secret_values)
    ctx.record.auth = config.auth
    ctx.record.server_spec = config.server_spec or ""
    result = DeployResult(
        ctx.record, ctx.state.path, started_local=target.started_local, dry_run=dry_run
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


def runtime_target_of(target: Target, record: DeploymentRecord) -> Any:
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
            f"smoke test: tools/list through the data plane failed ({type(exc).__name__}: "
            f"{exc}); see `agentcore-mcp logs`"
        ) from exc


def call_tool(target: Target, record: DeploymentRecord, name: str, args: dict[str, Any]) -> Any:
    from agentcore_mcp.client.remote import open_runtime

    runtime_target = runtime_target_of(target, record)

    async def run() -> Any:
        async with open_runtime(runtime_target, session=target.session) as client:
            return await client.call_tool(name, args)

    return asyncio.run(run())


def destroy(config: DeployConfig, **kwargs: Any) -> Any:
    """See `ops.destroy` (it deletes only what carries this deployment's tags)."""
    from agentcore_mcp.deploy.ops import destroy as destroy_owned

    return destroy_owned(config, **kwargs)
