"""`agentcore-mcp deploy | status | destroy | update-token | logs`: parse and print.

Everything is a call into `agentcore_mcp.deploy`; the options, flags -> DeployConfig and
the progress renderer these commands share with `role` and `dev` are `deploy_options`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.deploy_options import (
    DEBUG,
    JSON,
    LOCAL_HOME,
    NAME,
    PICK_NAME,
    PROFILE,
    PROJECT,
    REGION,
    STATE,
    TARGET,
    config_from_flags,
    confirm_changes,
    event_renderer,
    parse_env,
    pick_deployment,
    secret_values,
)
from agentcore_mcp.cli.output import debug_sink, print_json, stderr, stdout
from agentcore_mcp.cli.role import role_app
from agentcore_mcp.deploy.config import DEFAULT_NAME
from agentcore_mcp.exit_codes import ExitCode

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
    config = config_from_flags(
        name=name,
        server_spec=server_spec,
        target=target,
        region=region,
        profile=profile,
        auth="oauth" if oauth else "sigv4" if sigv4 else None,
        env=parse_env(env),
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
            secret_values=secret_values(list(config.secrets)),
            on_event=event_renderer(),
            debug=debug_sink if debug else None,
            smoke_test=smoke_test,  # type: ignore[arg-type]
            yes=yes,
            confirm=confirm_changes if sys.stdin.isatty() else None,
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

    picked = pick_deployment(state, name=name, target=target, region=region)
    config = config_from_flags(**picked, profile=profile, local_home=local_home)
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

    picked = pick_deployment(state, strict=False, name=name, target=target, region=region)
    config = config_from_flags(
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
        on_event=event_renderer(),
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

    picked = pick_deployment(state, name=name, target=target, region=region)
    config = config_from_flags(**picked, profile=profile, local_home=local_home)
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

    picked = pick_deployment(state, name=name, target=target, region=region)
    config = config_from_flags(**picked, profile=profile, local_home=local_home)
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
