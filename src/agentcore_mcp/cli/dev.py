"""`agentcore-mcp dev`: deploy to the local AgentCore, then serve each save (parse and print).

Everything is `agentcore_mcp.deploy.dev.DevLoop`; this module turns flags into its
config, prints the deploy's progress, the reloads and the instance log.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agentcore_mcp.cli import deploy_options as deploy_options
from agentcore_mcp.cli.output import debug_sink, stderr, stdout
from agentcore_mcp.exit_codes import ExitCode

EPILOG = """
Deploys your server to the local AgentCore as `agentcore-mcp deploy` does (same state
file, auth and secrets), then watches its package, pyproject.toml and uv.lock. Each save
is served through the same runtime ARN; sessions on the older code are ended, so a
connected client (Inspector, the proxy) starts a new one on the new code. A save that
does not import keeps the last good version serving and prints the file and line.
While it runs, `tools --remote`, `proxy`, `connect` and Inspector work against it.

**Examples**

- `agentcore-mcp dev --server myproject.server:mcp`
- `agentcore-mcp dev --oauth --name my_server`
- `OPENAI_API_KEY=... agentcore-mcp dev --secret OPENAI_API_KEY --env LOG_LEVEL=debug`

Ctrl-C (or SIGTERM) stops watching and leaves the deployment (exit 0); `agentcore-mcp destroy --yes`
removes it. Exit codes as `deploy` for the first deploy (130 when interrupted during it).
"""


def _line(text: str, style: str | None = None) -> None:
    stdout.print(text, style=style, markup=False, highlight=False, soft_wrap=True, emoji=False)


def _print_logs(lines: Any) -> None:
    for line in lines:
        _line(f"│ {line}", style="dim")


def dev(
    server_spec: str | None = typer.Option(
        None, "--server", help="Server spec: module:attribute [pyproject's, else the recorded]."
    ),
    oauth: bool = typer.Option(False, "--oauth", help="JWT auth with a Cognito user pool."),
    sigv4: bool = typer.Option(False, "--sigv4", help="IAM SigV4 auth (the default)."),
    name: str | None = deploy_options.NAME,
    env: list[str] = typer.Option([], "--env", help="NAME=VALUE for the runtime (repeatable)."),
    secret: list[str] = typer.Option(
        [], "--secret", help="NAME: value from $NAME or a prompt -> Secrets Manager (repeatable)."
    ),
    state: Path | None = deploy_options.STATE,
    local_home: Path | None = deploy_options.LOCAL_HOME,
    local_port: int | None = typer.Option(
        None, "--local-port", help="Port for a local AgentCore dev starts [8700]."
    ),
    project_dir: Path | None = deploy_options.PROJECT,
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Apply destructive changes without asking."
    ),
    no_logs: bool = typer.Option(False, "--no-logs", help="Do not stream the instance log."),
    debug: bool = deploy_options.DEBUG,
) -> None:
    """Deploy to the local AgentCore, then redeploy your server's code on every save."""
    from agentcore_mcp.deploy.dev import DevLoop

    if oauth and sigv4:
        raise typer.BadParameter("pass --oauth or --sigv4, not both")
    flags: dict[str, Any] = dict(
        name=name,
        server_spec=server_spec,
        target="local",
        auth="oauth" if oauth else "sigv4" if sigv4 else None,
        env=deploy_options.parse_env(env),
        secrets=tuple(secret),
        local_home=local_home,
        local_port=local_port,
        project_dir=project_dir,
    )
    config = deploy_options.config_from_flags(**flags)
    loop = DevLoop(
        config,
        reconfigure=lambda: deploy_options.config_from_flags(**flags),
        state_path=state,
        secret_values=deploy_options.secret_values(list(config.secrets)),
        on_event=deploy_options.event_renderer(),
        debug=debug_sink if debug else None,
        yes=yes,
        confirm=deploy_options.confirm_changes if sys.stdin.isatty() else None,
    )
    try:
        loop.deploy()
    except KeyboardInterrupt:
        stderr.print(
            "\ninterrupted during the first deploy: what was made is recorded in the "
            "state file; rerun the same command to resume",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    record = loop.record
    assert record.runtime is not None
    commands = loop.client_commands()
    _line(f"serving {record.runtime.arn} (version {record.runtime.version})", style="green")
    _line("MCP Inspector (through the proxy, over stdio):")
    _line(f"  {shlex.join(commands['inspector'])}")
    _line("or the proxy over HTTP (Streamable HTTP at http://127.0.0.1:8765/mcp, no auth):")
    _line(f"  {shlex.join(commands['proxy'])}")
    watched = ", ".join(str(p) for p in _watched(loop))
    _line(f"watching {watched}; Ctrl-C stops (the deployment stays)")
    # `kill PID` (a process manager, a terminal closing) stops watching as Ctrl-C does:
    # the deployment stays and the way to remove it is printed.
    signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    if not no_logs:
        threading.Thread(target=_print_logs, args=(loop.log_lines(stop),), daemon=True).start()
    try:
        for reload in loop.watch(stop):
            _print_reload(reload)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        loop.stop()
    stderr.print(
        f"\nstopped watching; {record.key} is still deployed. Remove it with "
        f"`agentcore-mcp destroy --yes{_name_flag(config)}`",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _watched(loop: Any) -> list[Path]:
    from agentcore_mcp.deploy.dev import watched_paths

    return watched_paths(loop.config)


def _name_flag(config: Any) -> str:
    from agentcore_mcp.deploy.config import DEFAULT_NAME

    return "" if config.name == DEFAULT_NAME else f" --name {config.name}"


def _print_reload(reload: Any) -> None:
    saved = ", ".join(reload.changed) or "a file"
    took = f"{reload.seconds:.2f} s"
    if reload.phases:
        took += ": " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in reload.phases)
    if reload.outcome == "served":
        ended = f"; {reload.ended_sessions} older session(s) ended" if reload.ended_sessions else ""
        how = "dependencies changed: full deploy, " if reload.full else ""
        stdout.print(
            f"[green]✓[/] {escape(saved)}: serving version {reload.version} "
            f"({how}{took}){escape(ended)}",
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )
    elif reload.outcome == "broken":
        stdout.print(
            f"[red]✗[/] {escape(saved)}: {escape(reload.message)}\n  version "
            f"{reload.version} still serves; fix it and save again ({took})",
            highlight=False,
            soft_wrap=True,
            emoji=False,
        )
    else:
        stdout.print(
            f"[dim]- {escape(saved)}: nothing to deploy (the code is what serves)[/]",
            highlight=False,
            soft_wrap=True,
        )
