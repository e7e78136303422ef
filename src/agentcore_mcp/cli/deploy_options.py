"""What the deployer's commands share (`deploy`, `status`, `destroy`, `update-token`,
`logs`, `role`, `dev`): their options, flags -> DeployConfig, the pick of a recorded
deployment, the progress renderer, and the prompts for secrets and destructive changes."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.output import stderr

if TYPE_CHECKING:
    from agentcore_mcp.deploy.config import DeployConfig

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


def config_from_flags(**flags: Any) -> DeployConfig:
    """The DeployConfig of these flags (`project_dir`: where pyproject.toml is read)."""
    from agentcore_mcp.deploy.config import load_config

    project = flags.pop("project_dir", None)
    return load_config(project, **flags)


def pick_deployment(state: Path | None, *, strict: bool = True, **flags: Any) -> dict[str, Any]:
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


def event_renderer() -> Callable[[Any], None]:
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


def secret_values(names: list[str]) -> dict[str, str | None]:
    """Values from the environment, else a no-echo prompt on a terminal, else None (keep
    the stored one). Never from argv, which other users can read."""
    values: dict[str, str | None] = {}
    for name in names:
        value = os.environ.get(name)
        if value is None and sys.stdin.isatty():
            value = getpass.getpass(f"value for secret {name} (not echoed): ") or None
        values[name] = value
    return values


def confirm_changes(changes: Any) -> bool:
    """Ask on the terminal (the events above listed every change)."""
    count = sum(1 for c in changes if c.destructive)
    return bool(
        typer.confirm(f"apply {count} destructive change(s) listed above?", default=False, err=True)
    )


def parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--env {item!r}: use NAME=VALUE", param_hint="--env")
        env[key] = value
    return env
