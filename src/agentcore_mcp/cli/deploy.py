"""`agentcore-mcp deploy | status | destroy | update-token | role | logs`: parse and print.

Everything is a call into `agentcore_mcp.deploy`; this module turns flags into a
DeployConfig, renders progress events, and maps errors to exit codes.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.output import debug_sink, print_json, stderr, stdout
from agentcore_mcp.deploy.config import DEFAULT_NAME
from agentcore_mcp.exit_codes import ExitCode

NAME = typer.Option(
    None, "--name", help="Runtime name (letters, digits, _) [agentcore_mcp_server]."
)
PICK_NAME = typer.Option(
    None,
    "--name",
    help="The deployment, by name [the state file's only one; needed when it holds several].",
)
TARGET = typer.Option(None, "--target", help="local (default: the local AgentCore) or aws.")
REGION = typer.Option(None, "--region", help="AWS region [profile's / AWS_REGION].")
PROFILE = typer.Option(None, "--profile", help="AWS profile (--target aws only).")
STATE = typer.Option(None, "--state", help="State file [deployment_config.json].")
LOCAL_HOME = typer.Option(
    None, "--local-home", help="The local AgentCore's home [~/.agentcore-mcp/local]."
)
PROJECT = typer.Option(None, "--project-dir", help="Your project (pyproject.toml) [cwd].")
JSON = typer.Option(False, "--json", help="Print one JSON document (see docs/deployer.md).")
DEBUG = typer.Option(False, "--debug", help="Print each AWS call (secrets redacted).")

DEPLOY_EPILOG = """
Settings come from flags, then `[tool.agentcore-mcp]` in your pyproject.toml, then
the recorded deployment (the state file), then defaults: a plain `deploy` redeploys what
is recorded, and a flag changes only what it names. Replacing the server, switching auth
or removing a secret, env var or header is destructive: it asks first, or needs --yes.
Steps: cognito (1, with --oauth), role (2), build (3), runtime (4),
publish (5); every step finds what exists and changes only what differs.

**Examples**

- `agentcore-mcp deploy` (the sample server on the local AgentCore, started if needed)
- `agentcore-mcp deploy --server myproject.server:mcp --name my_server`
- `agentcore-mcp deploy --oauth` (Cognito user pool + JWT authorizer)
- `agentcore-mcp deploy --target aws --region us-west-2 --profile dev`
- `OPENAI_API_KEY=... agentcore-mcp deploy --secret OPENAI_API_KEY` (value -> Secrets Manager)
- `agentcore-mcp deploy --env LOG_LEVEL=debug --idle-timeout 600 --max-lifetime 3600`
- `agentcore-mcp deploy --allow-header X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant`
- `agentcore-mcp deploy --artifact container` (docker buildx linux/arm64 + ECR)
- `agentcore-mcp deploy --step role --step 4 --dry-run`
- `agentcore-mcp deploy --remove-secret OPENAI_API_KEY --yes` (deletion in 7 days, restorable)

Exit codes: 0 ok, 2 usage (or an unconfirmed destructive change), 4 endpoint
unreachable, 5 permission denied, 6 configuration (also: a resource with the deployer's
name that it did not make; `--adopt` takes it over), 7 an AWS step failed, 8 the runtime
failed or did not answer the smoke test, 130 interrupted (rerun the same command to resume).
"""


def _config(**flags: Any) -> Any:
    from agentcore_mcp.deploy.config import load_config

    project = flags.pop("project_dir", None)
    return load_config(project, **flags)


def _pick(state: Path | None, *, strict: bool = True, **flags: Any) -> dict[str, Any]:
    """`flags` (name, target, region) completed from the one deployment they pick in the
    state file (`select_record`): no --name and one deployment is that one; several is
    an error listing them (exit 2). Settings in pyproject.toml count as flags. With
    `strict` False a name the state does not hold is passed on as given (destroy cleans
    up by name)."""
    from agentcore_mcp.deploy.config import pyproject_settings
    from agentcore_mcp.deploy.errors import DeployError
    from agentcore_mcp.deploy.state import NoDeploymentError, load_state, select_record

    settings = pyproject_settings(Path.cwd())
    wanted = {k: flags.get(k) or settings.get(k) for k in ("name", "target", "region")}
    try:
        record = select_record(load_state(state), **wanted)
    except NoDeploymentError as exc:
        if not strict:
            return flags
        raise DeployError(str(exc)) from None
    return {**flags, "name": record.name, "target": record.target, "region": record.region}


def _print_scheduled_deletions(scheduled: list[dict[str, str]]) -> None:
    """Each secret whose deletion was scheduled, and the command that restores it."""
    for gone in scheduled:
        stdout.print(
            f"secret   {gone['secret_id']} deleted on {gone['deletion_date']}; restore it with:\n"
            f"  {gone['restore']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )


def _renderer() -> Callable[[Any], None]:
    def render(event: Any) -> None:
        if event.kind == "start":
            stderr.print(f"[bold]▸ {event.step}[/]", highlight=False, soft_wrap=True)
        elif event.kind == "progress":
            stderr.print(
                f"  {event.message}", style="dim", markup=False, highlight=False, soft_wrap=True
            )
        elif event.kind == "done":
            what = "changed" if event.changed else "unchanged"
            if event.step == "smoke-test":
                what = "passed"
            extra = f": {event.message}" if event.message else ""
            stderr.print(
                f"[green]✓[/] {event.step} ({what}){extra}", highlight=False, soft_wrap=True
            )
        elif event.kind == "skip":
            stderr.print(
                f"[dim]- {event.step}: {event.message}[/]", highlight=False, soft_wrap=True
            )
        elif event.kind == "warning":
            # escaped, no emoji: an ARN's ":secret:" would otherwise print as an emoji
            stderr.print(
                f"[yellow]warning:[/] {escape(event.message)}",
                highlight=False,
                soft_wrap=True,
                emoji=False,
            )
        else:
            stderr.print(
                f"[cyan]{escape(event.message)}[/]", highlight=False, soft_wrap=True, emoji=False
            )

    return render


def _secret_values(names: list[str]) -> dict[str, str | None]:
    """Values from the environment, else a no-echo prompt on a terminal, else None (keep
    the stored one). Never from argv, which other users can read."""
    values: dict[str, str | None] = {}
    for name in names:
        value = os.environ.get(name)
        if value is None and sys.stdin.isatty():
            value = getpass.getpass(f"value for secret {name} (not echoed): ") or None
        values[name] = value
    return values


def _confirm_changes(changes: Any) -> bool:
    """Ask on the terminal (the events above listed every change)."""
    count = sum(1 for c in changes if c.destructive)
    return bool(
        typer.confirm(f"apply {count} destructive change(s) listed above?", default=False, err=True)
    )


def _parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--env {item!r}: use NAME=VALUE", param_hint="--env")
        env[key] = value
    return env


def deploy(
    step: list[str] = typer.Option([], "--step", help="Run only this step (repeatable)."),
    oauth: bool = typer.Option(False, "--oauth", help="JWT auth with a Cognito user pool."),
    sigv4: bool = typer.Option(False, "--sigv4", help="IAM SigV4 auth (the default)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; change nothing."),
    server_spec: str | None = typer.Option(
        None, "--server", help="Server spec: module:attribute [the sample server]."
    ),
    name: str | None = NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    env: list[str] = typer.Option([], "--env", help="NAME=VALUE for the runtime (repeatable)."),
    secret: list[str] = typer.Option(
        [], "--secret", help="NAME: value from $NAME or a prompt -> Secrets Manager (repeatable)."
    ),
    idle_timeout: int | None = typer.Option(None, help="Idle session timeout, 60..28800 s."),
    max_lifetime: int | None = typer.Option(None, help="Session max lifetime, 60..28800 s."),
    allow_header: list[str] = typer.Option([], "--allow-header", help="Header to pass through."),
    artifact: str | None = typer.Option(None, "--artifact", help="zip (default) or container."),
    python_runtime: str | None = typer.Option(None, help="PYTHON_3_10..3_14 [host's]."),
    platform: str | None = typer.Option(
        None, help="Wheel platform override [aarch64-manylinux2014 on aws, host on local]."
    ),
    no_manifest: bool = typer.Option(False, "--no-manifest", help="Ship no startup manifest."),
    smoke_test: str = typer.Option("auto", help="auto (when something changed), always, never."),
    adopt: bool = typer.Option(
        False,
        "--adopt",
        help="Take over resources with the deployer's names that it did not make (tags them).",
    ),
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    local_port: int | None = typer.Option(
        None, "--local-port", help="Port for a local AgentCore deploy starts [8700]."
    ),
    project_dir: Path | None = PROJECT,
    remove_env: list[str] = typer.Option(
        [], "--remove-env", help="NAME: stop setting this recorded env var (repeatable)."
    ),
    remove_header: list[str] = typer.Option(
        [], "--remove-header", help="Stop passing this recorded header (repeatable)."
    ),
    remove_secret: list[str] = typer.Option(
        [],
        "--remove-secret",
        help="NAME: remove this recorded secret; its deletion is scheduled (repeatable).",
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Apply destructive changes without asking."
    ),
    force_delete_secrets: bool = typer.Option(
        False,
        "--force-delete-secrets",
        help="Delete removed secrets at once, with no 7-day recovery window.",
    ),
    json_output: bool = JSON,
    debug: bool = DEBUG,
) -> None:
    """Deploy an MCP server to AgentCore Runtime (local by default), then list its tools."""
    from agentcore_mcp.deploy.plan import deploy as run_deploy

    if oauth and sigv4:
        raise typer.BadParameter("pass --oauth or --sigv4, not both")
    if smoke_test not in ("auto", "always", "never"):
        raise typer.BadParameter("use auto, always or never", param_hint="--smoke-test")
    config = _config(
        name=name,
        server_spec=server_spec,
        target=target,
        region=region,
        profile=profile,
        auth="oauth" if oauth else "sigv4" if sigv4 else None,
        env=_parse_env(env),
        secrets=tuple(secret),
        idle_timeout=idle_timeout,
        max_lifetime=max_lifetime,
        header_allowlist=tuple(allow_header),
        artifact=artifact,
        python_runtime=python_runtime,
        platform=platform,
        local_home=local_home,
        local_port=local_port,
        manifest=False if no_manifest else None,
        remove_env=tuple(remove_env),
        remove_headers=tuple(remove_header),
        remove_secrets=tuple(remove_secret),
        force_delete_secrets=force_delete_secrets or None,
        project_dir=project_dir,
    )
    try:
        result = run_deploy(
            config,
            steps=step,
            state_path=state,
            dry_run=dry_run,
            secret_values=_secret_values(list(config.secrets)),
            on_event=_renderer(),
            debug=debug_sink if debug else None,
            smoke_test=smoke_test,  # type: ignore[arg-type]
            yes=yes,
            confirm=_confirm_changes if sys.stdin.isatty() else None,
            adopt=adopt,
        )
    except KeyboardInterrupt:
        stderr.print(
            "\ninterrupted: what was made so far is recorded in the state file; rerun the "
            "same command to resume (each step finds what exists and carries on)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    if json_output:
        print_json(result.to_json())
        return
    rec = result.record
    _print_scheduled_deletions(result.scheduled_deletions)
    if dry_run:
        for change in result.changes:
            mark = "DESTRUCTIVE " if change.destructive else ""
            stdout.print(f"{mark}change: {change.message}", markup=False, highlight=False)
        if any(c.destructive for c in result.changes):
            stdout.print("(a real deploy asks first, or needs --yes)", highlight=False)
        stdout.print("dry run: nothing was changed", highlight=False, soft_wrap=True)
        return
    if rec.runtime is not None:
        stdout.print(
            f"runtime  {rec.runtime.arn} (version {rec.runtime.version})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if result.tools is not None:
        stdout.print(
            f"tools    {', '.join(result.tools)}", markup=False, highlight=False, soft_wrap=True
        )
    stdout.print(
        f"{'changed' if result.changed else 'no changes'} in {result.seconds:.1f} s; "
        f"state in {result.state_path}",
        highlight=False,
        soft_wrap=True,
    )
    # The commands below find the deployment in this state file (and take its auth from
    # it); with several deployments recorded there they need --name to pick this one.
    from agentcore_mcp.deploy.state import load_state

    picks = ""
    if state is not None:
        picks += f" --state {state}"
    if config.name != DEFAULT_NAME or len(load_state(result.state_path).deployments) > 1:
        picks += f" --name {config.name}"
    flags = ("" if config.target == "local" else " --target aws") + picks
    stdout.print("\nnext:", highlight=False, soft_wrap=True)
    for line in (
        f"agentcore-mcp tools list --remote{picks}",
        f"agentcore-mcp test-auth{picks}",
        f"agentcore-mcp connect --client inspector{picks}   (or claude-desktop, cursor, ...)",
        f"agentcore-mcp status --live{flags}",
        f"agentcore-mcp logs --follow{flags}",
        f"agentcore-mcp destroy{flags}",
    ):
        stdout.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if rec.auth == "oauth":
        stdout.print(f"  agentcore-mcp update-token --print{flags}", markup=False, soft_wrap=True)


def status(
    live: bool = typer.Option(
        False, "--live", help="Ask the services for the live status (not only the state file)."
    ),
    name: str | None = PICK_NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Show the recorded deployment; with --live, the runtime's live status and each resource."""
    from agentcore_mcp.deploy.status import live_status, recorded

    picked = _pick(state, name=name, target=target, region=region)
    config = _config(**picked, profile=profile, local_home=local_home)
    record = recorded(config, state)
    doc: dict[str, Any] = {"deployment": record.to_json()}
    if live:
        doc["live"] = live_status(config, state)
    if json_output:
        print_json(doc)
        return
    stdout.print(f"[bold]{record.key}[/] ({record.auth})", highlight=False, soft_wrap=True)
    for label, value in (
        ("runtime", record.runtime.arn if record.runtime else None),
        ("version", record.runtime.version if record.runtime else None),
        ("role", record.role.arn if record.role else None),
        (
            "artifact",
            f"s3://{record.artifact.bucket}/{record.artifact.key}"
            if record.artifact and record.artifact.kind == "zip"
            else record.artifact.image_uri
            if record.artifact
            else None,
        ),
        ("user pool", record.cognito.pool_id if record.cognito else None),
        ("client id", record.cognito.client_id if record.cognito else None),
        ("ssm", record.publish.parameter if record.publish else None),
        ("secrets", ", ".join(record.secrets) or None),
    ):
        if value:
            stdout.print(f"  {label:10} {value}", markup=False, highlight=False, soft_wrap=True)
    if live:
        info = doc["live"]
        rt = info.get("runtime")
        live_line = (
            f"{rt.get('status')} version {rt.get('version')}"
            if rt
            else "MISSING: the runtime is gone (`agentcore-mcp deploy` recreates it)"
            if record.runtime
            else "no runtime recorded yet (`agentcore-mcp deploy` creates it)"
        )
        stdout.print(f"  live       {live_line}", markup=False, highlight=False, soft_wrap=True)
        for res, present in info["resources"].items():
            mark = "[green]present[/]" if present else "[red]missing[/] (deploy recreates it)"
            stdout.print(f"  {res:10} {mark}", highlight=False, soft_wrap=True)


def destroy(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    force_delete_secrets: bool = typer.Option(
        False, "--force-delete-secrets", help="Delete secrets at once, with no recovery window."
    ),
    name: str | None = PICK_NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
    debug: bool = DEBUG,
) -> None:
    """Remove what the deployer made for this deployment (resources carrying its tags).

    The deployment is the one recorded in the state file; without a record, only an
    explicit --name finds one (by its tags), and you confirm its ARNs first."""
    from agentcore_mcp.deploy.teardown import destroy as run_destroy
    from agentcore_mcp.deploy.teardown import find_destroy_target

    picked = _pick(state, strict=False, name=name, target=target, region=region)
    config = _config(
        **picked,
        profile=profile,
        local_home=local_home,
        force_delete_secrets=force_delete_secrets or None,
    )
    sink = debug_sink if debug else None
    found = find_destroy_target(config, state, by_name=name is not None, debug=sink)
    if found.found_by == "nothing":
        stderr.print(found.message, markup=False, highlight=False, soft_wrap=True)
    elif found.found_by == "name" and not (yes or dry_run):
        listed = "\n".join(f"  {arn}" for arn in found.arns)
        question = (
            f"{found.key} is not recorded in this state file; found by --name, these "
            f"carry its tags:\n{listed}\ndestroy them?"
        )
        if not sys.stdin.isatty():
            stderr.print(
                f"[red]error:[/] {escape(question[:-1])}: pass --yes to destroy them "
                "without a terminal (nothing was removed)",
                highlight=False,
                emoji=False,
            )
            raise typer.Exit(ExitCode.USAGE)
        typer.confirm(question, abort=True)
    elif found.found_by == "state" and not (yes or dry_run):
        if not sys.stdin.isatty():
            stderr.print(
                "[red]error:[/] destroy needs --yes when not run in a terminal", soft_wrap=True
            )
            raise typer.Exit(ExitCode.USAGE)
        typer.confirm(f"destroy the {config.target} deployment {config.name}?", abort=True)
    result = run_destroy(
        config,
        state_path=state,
        dry_run=dry_run,
        on_event=_renderer(),
        debug=sink,
        found=found,
    )
    if json_output:
        print_json(result.to_json())
        return
    _print_scheduled_deletions(result.scheduled_deletions)
    removed = [k for k, v in result.removed.items() if v]
    verb = "would remove" if dry_run else "removed"
    stdout.print(
        f"{verb}: {', '.join(removed) or 'nothing (already gone)'}", highlight=False, soft_wrap=True
    )


def update_token(
    print_token: bool = typer.Option(False, "--print", help="Write the token to stdout."),
    name: str | None = PICK_NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Get a fresh access token for the stored Cognito user (never written to disk)."""
    from agentcore_mcp.deploy.status import update_token as get_token

    picked = _pick(state, name=name, target=target, region=region)
    config = _config(**picked, profile=profile, local_home=local_home)
    token, expires_in = get_token(config, state)
    if print_token:
        sys.stdout.write(token + "\n")
        return
    if json_output:
        print_json({"expires_in": expires_in, "token_printed": False})
        return
    stdout.print(
        f"got a token valid for {expires_in} s; `--print` writes it to stdout, e.g. "
        "`export AGENTCORE_BEARER_TOKEN=$(agentcore-mcp update-token --print)`",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


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
) -> Any:
    """The role commands act on an identity, not a deployment: --name only lends them the
    target and region of a recorded deployment."""
    flags: dict[str, Any] = {"target": target, "region": region}
    if name is not None:
        picked = _pick(state, name=name, target=target, region=region)
        flags = {"target": picked["target"], "region": picked["region"]}
    return _config(**flags, profile=profile, local_home=local_home)


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


def logs(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    since: str | None = typer.Option(None, "--since", help="Only lines newer than e.g. 10m, 2h."),
    name: str | None = PICK_NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
) -> None:
    """The runtime's logs: CloudWatch Logs on AWS, the local AgentCore's on local."""
    from agentcore_mcp.deploy.logs import log_lines, parse_since

    picked = _pick(state, name=name, target=target, region=region)
    config = _config(**picked, profile=profile, local_home=local_home)
    try:
        for line in log_lines(config, state, since=parse_since(since), follow=follow):
            print(line.message, flush=True)
    except KeyboardInterrupt:
        return


LOGS_EPILOG = "**Examples:** `agentcore-mcp logs --since 10m`, `agentcore-mcp logs -f --target aws`"
STATUS_EPILOG = (
    "**Examples:** `agentcore-mcp status`, `agentcore-mcp status --live --json`, "
    "`agentcore-mcp status --name my_server` (the state file holds several)"
)
DESTROY_EPILOG = (
    "**Examples:** `agentcore-mcp destroy --dry-run`, `agentcore-mcp destroy --yes`, "
    "`agentcore-mcp destroy --name my_server` (no state file here: confirms the ARNs it found)"
)
TOKEN_EPILOG = "**Example:** `export AGENTCORE_BEARER_TOKEN=$(agentcore-mcp update-token --print)`"


def register(app: typer.Typer) -> None:
    app.command("deploy", epilog=DEPLOY_EPILOG)(deploy)
    app.command("status", epilog=STATUS_EPILOG)(status)
    app.command("destroy", epilog=DESTROY_EPILOG)(destroy)
    app.command("update-token", epilog=TOKEN_EPILOG)(update_token)
    app.add_typer(role_app, name="role")
    app.command("logs", epilog=LOGS_EPILOG)(logs)
