"""Drive the deployer against a real local AgentCore: library calls, the CLI, listings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.local import LocalAgentCoreHandle

if TYPE_CHECKING:
    from agentcore_mcp.deploy.context import Event, StepContext

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "deploy" / "projects"


def deploy_config(handle: LocalAgentCoreHandle, **flags: Any) -> Any:
    from agentcore_mcp.deploy.config import load_config

    project = flags.pop("project_dir", None)
    flags.setdefault("local_home", handle.home)
    return load_config(project, **flags)


def stale_credentials_home(handle: LocalAgentCoreHandle, home: Path) -> Path:
    """A local home naming `handle`'s AgentCore (its URL and admin token: the identity
    check passes) with a secret key it does not know: every AWS call is refused."""
    from dataclasses import replace

    from agentcore_mcp.local.credentials import read_local_credentials, write_local_credentials

    creds = read_local_credentials(handle.home)
    assert creds is not None
    home.mkdir(mode=0o700)
    write_local_credentials(home, replace(creds, secret_access_key="not-" + "0" * 36))
    return home


def step_context(
    handle: LocalAgentCoreHandle,
    state_path: Path,
    *,
    secret_values: Mapping[str, str | None] | None = None,
    events: list[Event] | None = None,
    **flags: Any,
) -> StepContext:
    """A StepContext as `deploy` builds one before its steps run (the record opened from
    `state_path`, its deployment id given and saved), for running one step on its own.

    A new context on the same state file is what a rerun in a new process sees."""
    from agentcore_mcp.deploy.config import settings_record
    from agentcore_mcp.deploy.context import StepContext
    from agentcore_mcp.deploy.ownership import new_deployment_id
    from agentcore_mcp.deploy.plan import open_record
    from agentcore_mcp.deploy.target import open_target

    config = deploy_config(handle, **flags)
    target = open_target(config, start_local=False)
    state, record = open_record(config, target, state_path)
    record.auth = config.auth
    record.server_spec = config.server_spec or ""
    record.settings = settings_record(config)
    if not record.deployment_id:
        record.deployment_id = new_deployment_id()
    sink = events if events is not None else []
    ctx = StepContext(
        config=config,
        target=target,
        state=state,
        record=record,
        emit=sink.append,
        secret_values=dict(secret_values or {}),
    )
    ctx.save()
    return ctx


def writes_of(ctx: StepContext, action: Any) -> tuple[Any, list[str]]:
    """(what `action()` returned, the AWS write calls it made through ctx's target)."""
    calls = ctx.target.calls.calls
    start = len(calls)
    result = action()
    return result, [op for op, write in calls[start:] if write]


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`agentcore-mcp ARGS` as a user runs it; no AWS credentials of the user's leak in."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"AWS_PROFILE": "no-such-profile-the-local-target-ignores", **(env or {})})
    full_env = {k: v for k, v in full_env.items() if v != ""}  # "" unsets
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
    )


# boto3 clients for listing(), kept per local AgentCore: making the seven anew cost
# about 0.4 s a listing, and the deploy tests take a hundred listings.
_LISTING_CLIENTS: dict[tuple[str, str], Any] = {}


def _listing_client(handle: LocalAgentCoreHandle, service: str) -> Any:
    key = (handle.url, service)
    if key not in _LISTING_CLIENTS:
        _LISTING_CLIENTS[key] = handle.client(service)
    return _LISTING_CLIENTS[key]


def listing(handle: LocalAgentCoreHandle) -> dict[str, Any]:
    """Every resource of every service the deployer touches, with versions where the
    service keeps them (a write that changes nothing still shows up)."""
    iam, s3 = _listing_client(handle, "iam"), _listing_client(handle, "s3")
    control = _listing_client(handle, "bedrock-agentcore-control")
    idp = _listing_client(handle, "cognito-idp")
    sm, ssm = _listing_client(handle, "secretsmanager"), _listing_client(handle, "ssm")
    ecr = _listing_client(handle, "ecr")
    out: dict[str, Any] = {}
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
    out["iam"] = {
        r: {
            "inline": {
                p: iam.get_role_policy(RoleName=r, PolicyName=p)["PolicyDocument"]
                for p in iam.list_role_policies(RoleName=r)["PolicyNames"]
            },
            "trust": iam.get_role(RoleName=r)["Role"]["AssumeRolePolicyDocument"],
        }
        for r in roles
    }
    out["s3"] = {
        b["Name"]: sorted(
            (o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
        )
        for b in s3.list_buckets()["Buckets"]
    }
    runtimes = control.list_agent_runtimes()["agentRuntimes"]
    out["runtimes"] = {
        r["agentRuntimeName"]: {
            "id": r["agentRuntimeId"],
            "versions": sorted(
                v["agentRuntimeVersion"]
                for v in control.list_agent_runtime_versions(agentRuntimeId=r["agentRuntimeId"])[
                    "agentRuntimes"
                ]
            ),
        }
        for r in runtimes
    }
    out["runtime_count"] = len(runtimes)
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    out["cognito"] = {
        p["Name"]: {
            "clients": sorted(
                c["ClientName"]
                for c in idp.list_user_pool_clients(UserPoolId=p["Id"])["UserPoolClients"]
            ),
            "users": sorted(u["Username"] for u in idp.list_users(UserPoolId=p["Id"])["Users"]),
        }
        for p in pools
    }
    out["pool_count"] = len(pools)
    secrets = sm.list_secrets()["SecretList"]
    out["secrets"] = {s["Name"]: sorted(s.get("SecretVersionsToStages", {})) for s in secrets}
    out["secret_count"] = len(secrets)
    out["ssm"] = {
        p["Name"]: p.get("Version") for p in ssm.describe_parameters().get("Parameters", [])
    }
    out["ecr"] = sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"])
    return out


def call_tool(target: Any, record: Any, name: str, args: dict[str, Any]) -> Any:
    """Call one tool of a deployed runtime through the deployer's target (its session:
    the local AgentCore's own key, or the AWS profile), as a user's code would."""
    import asyncio

    from agentcore_mcp.client.remote import open_runtime
    from agentcore_mcp.deploy.plan import runtime_target_of

    runtime_target = runtime_target_of(target, record)

    async def run() -> Any:
        async with open_runtime(runtime_target, session=target.session) as client:
            return await client.call_tool(name, args)

    return asyncio.run(run())


def call(
    handle: LocalAgentCoreHandle, config: Any, record: Any, tool: str, args: dict[str, Any]
) -> Any:
    from agentcore_mcp.deploy.target import open_target

    return call_tool(open_target(config, start_local=False), record, tool, args)


def tool_text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)
