"""Drive the deployer against a real local AgentCore: library calls, the CLI, listings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.local import LocalAgentCoreHandle

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "deploy" / "projects"


def deploy_config(handle: LocalAgentCoreHandle, **flags: Any) -> Any:
    from agentcore_mcp.deploy.config import load_config

    project = flags.pop("project_dir", None)
    return load_config(project, local_home=handle.home, **flags)


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


def listing(handle: LocalAgentCoreHandle) -> dict[str, Any]:
    """Every resource of every service the deployer touches, with versions where the
    service keeps them (a write that changes nothing still shows up)."""
    iam, s3 = handle.client("iam"), handle.client("s3")
    control, idp = handle.client("bedrock-agentcore-control"), handle.client("cognito-idp")
    sm, ssm, ecr = handle.client("secretsmanager"), handle.client("ssm"), handle.client("ecr")
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
