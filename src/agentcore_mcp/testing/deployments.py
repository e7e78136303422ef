"""Deployments of a project's server to a test session's local AgentCore, with the real
deployer (`agentcore_mcp.deploy.deploy`, the library call behind `agentcore-mcp deploy`),
and their clients.

The state file is the factory's own (under the session's tmp folder), never the
project's `deployment_config.json`; the target is always the given local AgentCore.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from agentcore_mcp.testing.local import LocalAgentCore

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult

    from agentcore_mcp.client.runtime import RuntimeTarget
    from agentcore_mcp.deploy.config import DeployConfig
    from agentcore_mcp.deploy.context import Event
    from agentcore_mcp.deploy.state import DeploymentRecord

logger = logging.getLogger("agentcore_mcp.testing")

T = TypeVar("T")
AuthChoice = Literal["sigv4", "oauth"]
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def run_blocking(work: Callable[[], T]) -> T:
    """`work()` here, or on a worker thread when this thread runs an event loop (an async
    test or fixture): the deployer and the sync helpers run their own loop
    (`asyncio.run`), which cannot start inside another. The caller's loop waits."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentcore-mcp") as pool:
        return pool.submit(work).result()


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """A coroutine made by `make`, run to its end from sync code (or from a running loop)."""

    async def main() -> T:
        return await make()

    return run_blocking(lambda: asyncio.run(main()))


@dataclass(slots=True)
class Deployment:
    """A server deployed to the session's local AgentCore.

    `arn`, `runtime_id`, `auth`, `url` (the invocation URL) and `tools` (the deployer's
    smoke test's `tools/list`) describe it; `target` is what `agentcore_mcp.client`
    connects with; `record` is the deployer's record (roles, Cognito, secrets' ARNs).
    """

    name: str
    arn: str
    runtime_id: str
    auth: AuthChoice
    region: str
    url: str
    tools: list[str]
    target: RuntimeTarget
    record: DeploymentRecord = field(repr=False)
    config: DeployConfig = field(repr=False)
    state_path: Path
    local: LocalAgentCore = field(repr=False)
    destroyed: bool = False

    @contextlib.asynccontextmanager
    async def connect(self, **kwargs: Any) -> AsyncIterator[Client]:
        """An entered official `mcp.Client` on its own runtime session, with this
        deployment's auth (SigV4 with the local AgentCore's key, or a Cognito access token
        for its stored user); the session is stopped (StopRuntimeSession) on exit.
        `kwargs` go to `agentcore_mcp.client.open_runtime` (`protocol=`, `headers=`)."""
        from agentcore_mcp.client.remote import open_runtime

        async with open_runtime(self.target, session=self.local.session(), **kwargs) as client:
            yield client

    def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> CallToolResult:
        """One `tools/call` on a fresh runtime session (stopped afterwards), from sync code.
        A tool's failure is the result's `is_error`, not an exception."""

        async def call() -> CallToolResult:
            async with self.connect() as client:
                result: CallToolResult = await client.call_tool(name, dict(arguments or {}))
                return result

        return run_async(call)

    def list_tools(self) -> list[str]:
        """`tools/list`'s names on a fresh runtime session (stopped afterwards)."""

        async def listed() -> list[str]:
            async with self.connect() as client:
                return [tool.name for tool in (await client.list_tools()).tools]

        return run_async(listed)

    def destroy(self) -> None:
        """Remove what the deployment made (runtime, role, Cognito, secrets); idempotent."""
        if self.destroyed:
            return
        from agentcore_mcp.deploy.teardown import destroy

        if self.local.running():
            # The secrets of a throwaway AgentCore need no recovery window.
            config = replace(self.config, force_delete_secrets=True)
            run_blocking(lambda: destroy(config, state_path=self.state_path, on_event=_log_event))
        self.destroyed = True


def _log_event(event: Event) -> None:
    # pytest's log capture shows these with a failing test (`-o log_cli=true` live).
    if event.message:
        logger.info("%s: %s", event.step, event.message)


def _default_name(server: str | None, count: int) -> str:
    base = (server or "sample").partition(":")[0].split(".")[0]
    base = _NAME_CHARS.sub("_", base) or "server"
    if not base[0].isalpha():
        base = f"s_{base}"
    return f"{base[:40]}_{count}"


class DeploymentFactory:
    """`factory(server, ...)`: deploy a server spec of the project; every deployment it
    made is destroyed by `destroy_all` (the fixture's teardown)."""

    def __init__(self, local: LocalAgentCore, project_dir: Path, state_path: Path) -> None:
        self.local = local
        self.project_dir = project_dir
        self.state_path = state_path
        self.deployments: list[Deployment] = []

    def __call__(
        self,
        server: str | None = None,
        *,
        name: str | None = None,
        auth: AuthChoice = "sigv4",
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        project_dir: Path | str | None = None,
        **settings: Any,
    ) -> Deployment:
        """Deploy `server` (`package.module:attribute`; default: `[tool.agentcore-mcp]
        server` of the project's pyproject.toml) as `agentcore-mcp deploy` would.

        `auth`: "sigv4" or "oauth" (a Cognito user pool, a JWT authorizer). `env`: the
        runtime's environment variables. `secrets`: NAME -> value, stored in the local
        Secrets Manager; the runtime gets NAME_SECRET_ID and the server kit resolves
        NAME at start (values never go into a file, argv or log). `settings`: other
        `DeployConfig` fields (`idle_timeout=`, `header_allowlist=`, ...).
        """
        from agentcore_mcp.client.runtime import RuntimeTarget, invocation_url
        from agentcore_mcp.deploy.config import load_config, pyproject_settings
        from agentcore_mcp.deploy.plan import deploy

        project = Path(project_dir or self.project_dir).resolve()
        if auth not in ("sigv4", "oauth"):
            raise ValueError(f"auth={auth!r}: use 'sigv4' or 'oauth'")
        if name is None:
            # Not pyproject's name: two deployments of one session must not share one.
            spec = server or pyproject_settings(project).get("server_spec")
            name = _default_name(spec, len(self.deployments) + 1)
        config = load_config(
            project,
            server_spec=server,
            name=name,
            auth=auth,
            env=dict(env or {}),
            secrets=tuple(secrets or ()),
            target="local",
            region=self.local.region,  # over the project's: the local AgentCore serves one
            local_home=self.local.home,
            **settings,
        )
        if config.server_spec is None:
            raise ValueError(
                "no server to deploy: pass a server spec (agentcore_deploy('pkg.server:mcp')) "
                f"or set server in [tool.agentcore-mcp] of {project / 'pyproject.toml'}"
            )
        values = dict(secrets or {})
        result = run_blocking(
            lambda: deploy(
                config,
                state_path=self.state_path,
                secret_values=values,
                on_event=_log_event,
                yes=True,  # the factory's own state file: a redeploy under a name replaces
            )
        )
        record = result.record
        runtime = record.runtime
        if runtime is None:  # pragma: no cover - a finished deploy records its runtime
            raise RuntimeError(f"the deploy of {config.name} recorded no runtime")
        cognito = record.cognito
        target = RuntimeTarget(
            url=invocation_url(runtime.arn, record.region, endpoint=self.local.url),
            auth=record.auth,
            arn=runtime.arn,
            region=record.region,
            discovery_url=cognito.discovery_url if cognito else None,
            client_id=cognito.client_id if cognito else None,
            user_secret_id=cognito.user_secret_id if cognito else None,
            aws_endpoint_url=self.local.url,
        )
        deployment = Deployment(
            name=config.name,
            arn=runtime.arn,
            runtime_id=runtime.id,
            auth=record.auth,
            region=record.region,
            url=target.url,
            tools=list(result.tools or []),
            target=target,
            record=record,
            config=config,
            state_path=self.state_path,
            local=self.local,
        )
        self.deployments.append(deployment)
        return deployment

    def destroy_all(self) -> None:
        """Destroy every deployment still up, newest first; the first failure is raised
        after all were tried."""
        failure: BaseException | None = None
        for deployment in reversed(self.deployments):
            try:
                deployment.destroy()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
