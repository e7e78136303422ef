"""`agentcore-mcp local start|stop|status|logs`: the local AgentCore."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.output import print_json, stdout

if TYPE_CHECKING:
    from agentcore_mcp.local.service import LocalSettings

app = typer.Typer(
    help="Run AgentCore Runtime's control and data plane on loopback.",
    epilog="**Examples:** `agentcore-mcp local start -d`, `agentcore-mcp local status`, "
    '`eval "$(agentcore-mcp local env)"`, `agentcore-mcp local stop`',
    no_args_is_help=True,
)


def _settings(**given: Any) -> LocalSettings:
    from agentcore_mcp.local.service import LocalSettings

    # A tuning variable (AGENTCORE_MCP_LOCAL_...) that is no number: LocalSettingsError.
    return LocalSettings(**{k: v for k, v in given.items() if v is not None})


@app.command(
    "start",
    epilog="**Examples:**\n\n- `agentcore-mcp local start -d` then `export AWS_ENDPOINT_URL=http://127.0.0.1:8700`\n"
    "- `agentcore-mcp local start --port 9000 --persist`",
)
def start(
    detach: bool = typer.Option(
        False, "--detach", "-d", help="Run in the background (pid file and log in --home)."
    ),
    port: int | None = typer.Option(None, help="Loopback port for every AWS API [default 8700]."),
    region: str | None = typer.Option(
        None, help="Region served [env: AWS_REGION, default us-east-1]."
    ),
    home: Path | None = typer.Option(
        None, help="State, logs and artifacts [env: AGENTCORE_MCP_HOME/local]."
    ),
    persist: bool = typer.Option(
        False, "--persist", help="Keep runtimes across restarts (in --home/state)."
    ),
    max_active_sessions: int | None = typer.Option(
        None,
        "--max-active-sessions",
        help="Sessions active at once across runtimes: a bound on this machine's memory "
        "(one process per session), not AWS's per-account quota (thousands); past it, "
        "ServiceQuotaExceeded / -32003 [default 16].",
    ),
    startup_timeout: float | None = typer.Option(
        None, help="Seconds an instance has to listen [default 30, as AgentCore]."
    ),
    lifecycle_scale: float | None = typer.Option(
        None, help="Scale idle/max-lifetime durations (testing) [default 1]."
    ),
    max_starting: int | None = typer.Option(
        None, min=1, help="Instances starting at once; others queue [default: CPU count]."
    ),
    start_queue_timeout: float | None = typer.Option(
        None,
        min=0.001,
        help="Seconds a session's start may wait for a --max-starting slot; past it, "
        "424 as a slow start [default 25].",
    ),
    max_unpacked_mb: float | None = typer.Option(
        None, min=0, help="Unpacked code zip limit in MB [default 750, as AgentCore]."
    ),
    strict_credentials: bool = typer.Option(
        False,
        "--strict-credentials",
        help="Refuse the well-known test/test pair (its own key, yours and issued keys only).",
    ),
    log_level: str | None = typer.Option(
        None, help="info (one line per event) or debug (every embedded AWS request too)."
    ),
    rate_limit: float | None = typer.Option(
        None,
        min=0,
        help="Invocations per second per endpoint; past it, ThrottlingException "
        "[default 25, as AgentCore; 0 = off].",
    ),
    request_limit_scale: float | None = typer.Option(
        None,
        min=0.0001,
        help="Scale the 15 min synchronous / 60 min streamed request limits (testing) [default 1].",
    ),
) -> None:
    """Start the local AgentCore (foreground unless -d)."""
    from agentcore_mcp.http_limits import limited_http_protocol_from_env
    from agentcore_mcp.local.process import background_argv, start_background
    from agentcore_mcp.local.service import run_foreground

    settings = _settings(
        port=port,
        region=region,
        home=home,
        persist=persist or None,
        max_active_sessions=max_active_sessions,
        startup_timeout=startup_timeout,
        lifecycle_scale=lifecycle_scale,
        max_starting=max_starting,
        start_queue_timeout=start_queue_timeout,
        max_unpacked_bytes=None if max_unpacked_mb is None else int(max_unpacked_mb * 2**20),
        strict_credentials=strict_credentials or None,
        log_level=log_level,
        rate_limit=rate_limit,
        request_limit_scale=request_limit_scale,
    )
    # Checked here too for -d: the background process would only say it in its log.
    limited_http_protocol_from_env("AGENTCORE_MCP_LOCAL_")
    if not detach:
        run_foreground(settings)
        return
    running = start_background(settings, background_argv(settings))
    stdout.print(
        f"local AgentCore running on {escape(running.url)} (pid {running.pid}, "
        f"log {escape(str(running.log_path))})"
    )
    stdout.print(f"export AWS_ENDPOINT_URL={running.url}", markup=False)
    stdout.print(
        'credentials: `eval "$(agentcore-mcp local env)"`'
        + ("" if settings.strict_credentials else " (or test/test)"),
        markup=False,
    )


@app.command(
    "env",
    epilog='**Example:** `eval "$(agentcore-mcp local env)"` then `aws s3 ls` or any boto3 code',
)
def env(
    home: Path | None = typer.Option(None, help="The --home it was started with."),
    json_output: bool = typer.Option(False, "--json", help="Print the settings as JSON."),
) -> None:
    """Print the shell exports that point AWS SDKs at the running local AgentCore.

    The access key is this start's own (from credentials.json, readable only by you); it
    works for every API on the port and dies with the process.
    """
    from agentcore_mcp.local.running import local_env

    found = local_env(home)
    if json_output:
        print_json(found.variables)
        return
    for line in found.exports():
        print(line)


@app.command(
    "stop",
    epilog="**Examples:** `agentcore-mcp local stop`, "
    "`agentcore-mcp local stop --home /tmp/agentcore-home` (one started with that --home)",
)
def stop(home: Path | None = typer.Option(None, help="The --home it was started with.")) -> None:
    """Stop the background local AgentCore."""
    from agentcore_mcp.local.process import stop_background
    from agentcore_mcp.local.running import LocalNotRunningError

    pid = stop_background(_settings(home=home))
    if pid is None:
        raise LocalNotRunningError("no local AgentCore is running")
    stdout.print(f"stopped (pid {pid})")


@app.command(
    "status",
    epilog="**Examples:** `agentcore-mcp local status`, "
    "`agentcore-mcp local status --json | jq '.sessions | length'` (live sessions), "
    "`agentcore-mcp local status --url http://127.0.0.1:8700`",
)
def status(
    home: Path | None = typer.Option(None, help="The --home it was started with."),
    url: str | None = typer.Option(None, help="Ask this URL instead of the pid file's."),
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Runtimes and live sessions of the running local AgentCore."""
    from agentcore_mcp.local.running import local_status

    found = local_status(home, url=url)
    if json_output:
        print_json(found.document)
        return
    from rich.table import Table

    stdout.print(
        f"local AgentCore {escape(found.url)} region {escape(found.region)} "
        f"pid {found.pid} up {found.document['uptime_seconds']}s"
    )
    runtimes = Table("runtime id", "status", "version", "failure", title="runtimes", box=None)
    for r in found.runtimes:
        # Cells are markup too: a failure reason may quote `agentcore-mcp[local]`.
        runtimes.add_row(
            escape(r.runtime_id),
            escape(r.status),
            escape(r.version),
            escape(r.failure_reason or ""),
        )
    stdout.print(runtimes)
    sessions = Table(
        "session", "runtime", "pid", "age s", "idle s", "in flight", title="sessions", box=None
    )
    for s in found.sessions:
        sessions.add_row(
            escape(s.id),
            escape(s.runtime_id),
            str(s.pid),
            f"{s.age_seconds:.0f}",
            f"{s.idle_seconds:.0f}",
            str(s.inflight),
        )
    stdout.print(sessions)


@app.command(
    "logs", epilog="**Example:** `agentcore-mcp local logs mcp_server-AbCdEf1234 --follow`"
)
def logs(
    runtime: str | None = typer.Argument(
        None, help="Runtime id; default: the local AgentCore's own log."
    ),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    home: Path | None = typer.Option(None, help="The --home it was started with."),
) -> None:
    """Print a runtime's instance output (one log per runtime, lines tagged by session)."""
    from agentcore_mcp.local.running import read_log

    lines = read_log(runtime, home, follow=follow)
    for line in lines:
        if line:
            print(line, end="")
            continue
        # Everything written so far is out. Piped (`| grep`), stdout is block-buffered:
        # show it before waiting.
        sys.stdout.flush()
        if follow:
            # Ctrl-C ends a follow as it ends `tail -f`: by the signal's default action
            # (a shell reports 130). Unwinding a KeyboardInterrupt instead hung beside a
            # CPU hog (the interpreter never exited); every line is already flushed.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        break
    for line in lines:
        print(line, end="", flush=True)
