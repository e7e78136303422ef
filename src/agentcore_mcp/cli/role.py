"""`agentcore-mcp role show | get-policy | put-policy`: parse and print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentcore_mcp.cli.deploy_options import (
    JSON,
    LOCAL_HOME,
    PROFILE,
    REGION,
    STATE,
    TARGET,
    config_from_flags,
    pick_deployment,
)
from agentcore_mcp.cli.output import print_json, stdout

if TYPE_CHECKING:
    from agentcore_mcp.deploy.config import DeployConfig

role_app = typer.Typer(
    help="The deploying identity's role: show it, read or grant its inline policy.",
    epilog="**Examples:** `agentcore-mcp role show`, "
    "`agentcore-mcp role put-policy --role-name MyDeployRole`",
    no_args_is_help=True,
)
ROLE_NAME = typer.Option(None, "--role-name", help="Role [the role you are signed in with].")
ROLE_DEPLOYMENT = typer.Option(
    None, "--name", help="Use the target and region of this deployment in the state file."
)


def _role_config(
    name: str | None,
    state: Path | None,
    target: str | None,
    region: str | None,
    profile: str | None,
    local_home: Path | None,
) -> DeployConfig:
    """The role commands act on an identity, not a deployment: --name only lends them the
    target and region of a recorded deployment."""
    flags: dict[str, Any] = {"target": target, "region": region}
    if name is not None:
        picked = pick_deployment(state, name=name, target=target, region=region)
        flags = {"target": picked["target"], "region": picked["region"]}
    return config_from_flags(**flags, profile=profile, local_home=local_home)


POLICY_NAME = typer.Option(None, "--policy-name", help="Inline policy [AgentCoreMcpDeployer].")


@role_app.command("show", epilog="**Example:** `agentcore-mcp role show --target aws`")
def role_show(
    name: str | None = ROLE_DEPLOYMENT,
    state: Path | None = STATE,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Who you are and the role you are signed in with."""
    from agentcore_mcp.deploy.roles import role_show as show

    doc = show(_role_config(name, state, target, region, profile, local_home))
    if json_output:
        print_json(doc)
        return
    stdout.print(f"account {doc['account']}\narn     {doc['arn']}", markup=False, soft_wrap=True)
    role = doc.get("role")
    stdout.print(
        f"role    {role['arn']} (inline: {', '.join(role['inline_policies']) or '-'})"
        if role
        else "role    - (not a role; pass --role-name to the policy commands)",
        markup=False,
        soft_wrap=True,
    )


@role_app.command(
    "get-policy", epilog="**Example:** `agentcore-mcp role get-policy --role-name MyDeployRole`"
)
def role_get_policy(
    role_name: str | None = ROLE_NAME,
    policy_name: str | None = POLICY_NAME,
    name: str | None = ROLE_DEPLOYMENT,
    state: Path | None = STATE,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Print a role's inline policy."""
    from agentcore_mcp.deploy.roles import role_get_policy as get

    doc = get(
        _role_config(name, state, target, region, profile, local_home),
        role_name,
        policy_name,
    )
    print_json(doc if json_output else doc["document"])


@role_app.command(
    "put-policy", epilog="**Example:** `agentcore-mcp role put-policy --role-name MyDeployRole`"
)
def role_put_policy(
    role_name: str | None = ROLE_NAME,
    policy_name: str | None = POLICY_NAME,
    name: str | None = ROLE_DEPLOYMENT,
    state: Path | None = STATE,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Give a role what `deploy` needs."""
    from agentcore_mcp.deploy.roles import role_put_policy as put

    doc = put(
        _role_config(name, state, target, region, profile, local_home),
        role_name,
        policy_name,
    )
    if json_output:
        print_json(doc)
        return
    stdout.print(f"put {doc['policy_name']} on role {doc['role']}", markup=False, soft_wrap=True)
