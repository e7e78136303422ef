"""`agentcore-mcp deploy | status | destroy | update-token | role | logs`: parse and print.

Everything is a call into `agentcore_mcp.deploy`; this module turns flags into a
DeployConfig, renders progress events, and maps errors to exit codes.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.exit_codes import ExitCode
from agentcore_mcp.cli.output import debug_sink, print_json, stderr, stdout
from agentcore_mcp.deploy.config import DEFAULT_NAME

NAME = typer.Option(
    None, "--name", help="Runtime name (letters, digits, _) [agentcore_mcp_server]."
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
defaults. Steps: cognito (1, with --oauth), role (2), build (3), runtime (4),
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

Exit codes: 0 ok, 2 usage, 4 endpoint unreachable, 5 permission denied, 6 configuration
(also: a resource with the deployer's name that it did not make; `--adopt` takes it over),
7 an AWS step failed, 8 the runtime failed or did not answer the smoke test.
"""


def _config(**flags: Any) -> Any:
    from agentcore_mcp.deploy.config import load_config

    project = flags.pop("project_dir", None)
    return load_config(project, **flags)


def _exit_code(exc: BaseException) -> int:
    from agentcore_mcp.deploy.config import ConfigError
    from agentcore_mcp.deploy.errors import (
        BuildError,
        NameTakenError,
        PermissionDeniedError,
        RuntimeFailedError,
        SmokeTestError,
        TargetError,
        UnreachableError,
    )
    from agentcore_mcp.deploy.ownership import NotOursError
    from agentcore_mcp.deploy.state import StateError

    if isinstance(exc, NotOursError):  # the user decides: --adopt or another --name
        return ExitCode.CONFIG_ERROR
    if isinstance(exc, PermissionDeniedError):
        return ExitCode.AUTH_ERROR
    if isinstance(exc, UnreachableError):
        return ExitCode.CONNECTION_ERROR
    if isinstance(exc, ConfigError | BuildError | TargetError | StateError):
        return ExitCode.CONFIG_ERROR
    if isinstance(exc, RuntimeFailedError | SmokeTestError):
        return ExitCode.RUNTIME_FAILED
    if isinstance(exc, NameTakenError):
        return ExitCode.DEPLOY_FAILED
    return ExitCode.DEPLOY_FAILED


@contextmanager
def _errors() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError

    from agentcore_mcp.deploy.config import ConfigError
    from agentcore_mcp.deploy.errors import DeployError, explain_botocore_error
    from agentcore_mcp.deploy.state import StateError

    try:
        try:
            yield
        except BotoCoreError as exc:  # the companion commands' calls (deploy's are explained)
            raise explain_botocore_error(exc, "calling AWS") from None
    except (DeployError, ConfigError, StateError) as exc:
        # escaped, no emoji: messages name extras such as 'agentcore-mcp[local]', and ARNs hold
        # `:secret:`, which rich would turn into an emoji
        stderr.print(
            f"[red]error:[/] {escape(str(exc))}", highlight=False, emoji=False, soft_wrap=True
        )
        raise typer.Exit(_exit_code(exc)) from None


def _renderer(quiet: bool) -> Callable[[Any], None]:
    def render(event: Any) -> None:
        if quiet and event.kind not in ("warning", "info"):
            return
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
            stderr.print(
                f"[yellow]warning:[/] {escape(event.message)}", highlight=False, emoji=False
            )
        else:
            stderr.print(f"[cyan]{escape(event.message)}[/]", highlight=False, emoji=False)

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
    former_app: str | None = typer.Option(None, "--app", hidden=True),
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
    json_output: bool = JSON,
    debug: bool = DEBUG,
) -> None:
    """Deploy an MCP server to AgentCore Runtime (local by default), then list its tools."""
    from agentcore_mcp.deploy.plan import deploy as run_deploy

    if oauth and sigv4:
        raise typer.BadParameter("pass --oauth or --sigv4, not both")
    if smoke_test not in ("auto", "always", "never"):
        raise typer.BadParameter("use auto, always or never", param_hint="--smoke-test")
    if former_app is not None:
        if server_spec is not None and server_spec != former_app:
            raise typer.BadParameter("pass --server only (--app is its former name)")
        stderr.print("note: --app is deprecated; use --server", markup=False, highlight=False)
        server_spec = former_app
    with _errors():
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
            project_dir=project_dir,
        )
        result = run_deploy(
            config,
            steps=step,
            state_path=state,
            dry_run=dry_run,
            secret_values=_secret_values(list(config.secrets)),
            on_event=_renderer(quiet=False),
            debug=debug_sink if debug else None,
            smoke_test=smoke_test,  # type: ignore[arg-type]
            adopt=adopt,
        )
    if json_output:
        print_json(result.to_json())
        return
    rec = result.record
    if dry_run:
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
    flags = "" if config.target == "local" else " --target aws"
    if config.name != DEFAULT_NAME:
        flags += f" --name {config.name}"
    stdout.print("\nnext:", highlight=False, soft_wrap=True)
    # The connect commands find the runtime through the state file in this directory.
    auth = " --oauth" if rec.auth == "oauth" else ""
    for line in (
        f"agentcore-mcp tools list --remote{auth}",
        "agentcore-mcp test-auth",
        f"agentcore-mcp connect --client inspector{auth}   (or claude-desktop, cursor, ...)",
        f"agentcore-mcp status --live{flags}",
        f"agentcore-mcp logs --follow{flags}",
        f"agentcore-mcp destroy{flags}",
    ):
        stdout.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if rec.auth == "oauth":
        stdout.print(f"  agentcore-mcp update-token --print{flags}", markup=False, soft_wrap=True)


def status(
    live: bool = typer.Option(
        False, "--live", help="Ask the services (the seed's --check-status)."
    ),
    name: str | None = NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Show the recorded deployment; with --live, the runtime's live status and each resource."""
    from agentcore_mcp.deploy.ops import live_status, recorded

    with _errors():
        config = _config(
            name=name, target=target, region=region, profile=profile, local_home=local_home
        )
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
        rt = info.get("runtime") or {}
        stdout.print(
            f"  live       {rt.get('status', 'MISSING')} version {rt.get('version')}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for res, present in info["resources"].items():
            mark = "[green]present[/]" if present else "[red]missing[/] (deploy recreates it)"
            stdout.print(f"  {res:10} {mark}", highlight=False, soft_wrap=True)


def destroy(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    name: str | None = NAME,
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
    from agentcore_mcp.deploy.ops import destroy as run_destroy
    from agentcore_mcp.deploy.ops import find_destroy_target

    with _errors():
        config = _config(
            name=name, target=target, region=region, profile=profile, local_home=local_home
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
            on_event=_renderer(quiet=False),
            debug=sink,
            found=found,
        )
    if json_output:
        print_json(result.to_json())
        return
    removed = [k for k, v in result.removed.items() if v]
    verb = "would remove" if dry_run else "removed"
    stdout.print(
        f"{verb}: {', '.join(removed) or 'nothing (already gone)'}", highlight=False, soft_wrap=True
    )


def update_token(
    print_token: bool = typer.Option(False, "--print", help="Write the token to stdout."),
    name: str | None = NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Get a fresh access token for the stored Cognito user (never written to disk)."""
    from agentcore_mcp.deploy.ops import update_token as get_token

    with _errors():
        config = _config(
            name=name, target=target, region=region, profile=profile, local_home=local_home
        )
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
    help="The deploying identity's role (the seed's role options).", no_args_is_help=True
)
ROLE_NAME = typer.Option(None, "--role-name", help="Role [the role you are signed in with].")
POLICY_NAME = typer.Option(None, "--policy-name", help="Inline policy [AgentCoreMcpDeployer].")


@role_app.command("show", epilog="**Example:** `agentcore-mcp role show --target aws`")
def role_show(
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Who you are and the role you are signed in with (the seed's --show-current-role)."""
    from agentcore_mcp.deploy.ops import role_show as show

    with _errors():
        doc = show(_config(target=target, region=region, profile=profile, local_home=local_home))
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
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Print a role's inline policy (the seed's --get-role-policy)."""
    from agentcore_mcp.deploy.ops import role_get_policy as get

    with _errors():
        doc = get(
            _config(target=target, region=region, profile=profile, local_home=local_home),
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
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    local_home: Path | None = LOCAL_HOME,
    json_output: bool = JSON,
) -> None:
    """Give a role what `deploy` needs (the seed's --put-role-policy)."""
    from agentcore_mcp.deploy.ops import role_put_policy as put

    with _errors():
        doc = put(
            _config(target=target, region=region, profile=profile, local_home=local_home),
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
    name: str | None = NAME,
    target: str | None = TARGET,
    region: str | None = REGION,
    profile: str | None = PROFILE,
    state: Path | None = STATE,
    local_home: Path | None = LOCAL_HOME,
) -> None:
    """The runtime's logs: CloudWatch Logs on AWS, the local AgentCore's on local."""
    from agentcore_mcp.deploy.ops import log_lines, parse_since

    with _errors():
        config = _config(
            name=name, target=target, region=region, profile=profile, local_home=local_home
        )
        try:
            for line in log_lines(config, state, since=parse_since(since), follow=follow):
                print(line.message, flush=True)
        except KeyboardInterrupt:
            return


LOGS_EPILOG = "**Examples:** `agentcore-mcp logs --since 10m`, `agentcore-mcp logs -f --target aws`"
STATUS_EPILOG = "**Examples:** `agentcore-mcp status`, `agentcore-mcp status --live --json`"
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
