"""`agentcore-mcp local start|stop|status|logs`: the local AgentCore."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from agentcore_mcp.cli.exit_codes import ExitCode
from agentcore_mcp.cli.output import print_json, stderr, stdout

app = typer.Typer(
    help="Run AgentCore Runtime's control and data plane on loopback.", no_args_is_help=True
)


def _settings(**given: Any) -> Any:
    from agentcore_mcp.local.service import LocalSettings

    try:
        return LocalSettings(**{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:  # a tuning variable (AGENTCORE_MCP_LOCAL_...) that is no number
        stderr.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None


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
    from agentcore_mcp.http_limits import HttpLimitsError, limited_http_protocol_from_env
    from agentcore_mcp.local.process import LocalProcessError, foreground_argv, start_background
    from agentcore_mcp.local.service import PortInUse, run_foreground

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
    try:
        # Checked here too for -d: the background process would only say it in its log.
        limited_http_protocol_from_env("AGENTCORE_MCP_LOCAL_")
        if not detach:
            run_foreground(settings)
            return
    except PortInUse as exc:
        stderr.print(f"error: {exc.message('--port')}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    except HttpLimitsError as exc:
        stderr.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    extra = [
        "--port",
        str(settings.port),
        "--region",
        settings.region,
        "--home",
        str(settings.home),
        "--max-active-sessions",
        str(settings.max_active_sessions),
        "--startup-timeout",
        str(settings.startup_timeout),
        "--lifecycle-scale",
        str(settings.lifecycle_scale),
        "--max-starting",
        str(settings.max_starting),
        "--start-queue-timeout",
        str(settings.start_queue_timeout),
        "--max-unpacked-mb",
        str(settings.max_unpacked_bytes / 2**20),
        "--rate-limit",
        str(settings.rate_limit),
        "--request-limit-scale",
        str(settings.request_limit_scale),
    ]
    if settings.persist:
        extra.append("--persist")
    if settings.strict_credentials:
        extra.append("--strict-credentials")
    extra += ["--log-level", settings.log_level]
    try:
        running = start_background(settings, foreground_argv(extra))
    except LocalProcessError as exc:
        stderr.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
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
    from agentcore_mcp.local.credentials import read_local_credentials

    creds = read_local_credentials(_settings(home=home).home)
    if creds is None:
        stderr.print(
            "no local AgentCore is running here (no credentials.json); "
            "start one with `agentcore-mcp local start -d`"
        )
        raise typer.Exit(ExitCode.CONNECTION_ERROR)
    values = {
        "AWS_ENDPOINT_URL": creds.url,
        "AWS_REGION": creds.region,
        # boto3 and the AWS CLI read AWS_DEFAULT_REGION (AWS_REGION only in newer releases):
        # without it a shell with another default region signs for the wrong one.
        "AWS_DEFAULT_REGION": creds.region,
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
    }
    if json_output:
        print_json(values)
        return
    for name, value in values.items():
        print(f"export {name}={value}")
    print("unset AWS_SESSION_TOKEN AWS_PROFILE")


@app.command(
    "stop",
    epilog="**Examples:** `agentcore-mcp local stop`, "
    "`agentcore-mcp local stop --home /tmp/agentcore-home` (one started with that --home)",
)
def stop(home: Path | None = typer.Option(None, help="The --home it was started with.")) -> None:
    """Stop the background local AgentCore."""
    from agentcore_mcp.local.process import stop_background

    pid = stop_background(_settings(home=home))
    if pid is None:
        stderr.print("no local AgentCore is running")
        raise typer.Exit(ExitCode.CONNECTION_ERROR)
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
    import httpx2

    from agentcore_mcp.local.credentials import read_local_credentials
    from agentcore_mcp.local.identity import identity_problem
    from agentcore_mcp.local.process import url_from_pid_file

    settings = _settings(home=home)
    target = url or url_from_pid_file(settings)
    if target is None:
        stderr.print(
            "no local AgentCore is running (no pid file); "
            "start one with `agentcore-mcp local start -d`"
        )
        raise typer.Exit(ExitCode.CONNECTION_ERROR)
    creds = read_local_credentials(settings.home)
    headers: dict[str, str] = {}
    if creds is not None:
        # The admin token goes only to the process that proves it holds it: after a
        # crash, anyone may listen on the recorded port (local/identity.py).
        problem = identity_problem(creds, at=target)
        if problem is not None:
            stderr.print(
                f"error: {_not_ours(target, settings.home, problem)}", markup=False, highlight=False
            )
            raise typer.Exit(ExitCode.CONNECTION_ERROR)
        headers = {"authorization": f"Bearer {creds.admin_token}"}
    try:
        response = httpx2.get(
            f"{target}/_local/status", headers=headers, timeout=5, trust_env=False
        )
    except httpx2.HTTPError as exc:
        stderr.print(f"[red]error:[/] cannot reach {escape(target)}: {escape(str(exc))}")
        raise typer.Exit(ExitCode.CONNECTION_ERROR) from None
    if response.status_code == 401:
        stderr.print(
            f"[red]error:[/] {escape(target)} refused the admin token: pass the --home it was "
            "started with (its credentials.json holds the token)"
        )
        raise typer.Exit(ExitCode.AUTH_ERROR)
    doc = response.json()
    if json_output:
        print_json(doc)
        return
    from rich.table import Table

    stdout.print(
        f"local AgentCore {escape(str(doc['url']))} region {escape(str(doc['region']))} "
        f"pid {doc['pid']} up {doc['uptime_seconds']}s"
    )
    runtimes = Table("runtime id", "status", "version", "failure", title="runtimes", box=None)
    for r in doc["runtimes"]:
        # Cells are markup too: a failure reason may quote `agentcore-mcp[local]`.
        runtimes.add_row(
            escape(r["agentRuntimeId"]),
            escape(r["status"]),
            escape(str(r["agentRuntimeVersion"])),
            escape(r["failureReason"] or ""),
        )
    stdout.print(runtimes)
    sessions = Table(
        "session", "runtime", "pid", "age s", "idle s", "in flight", title="sessions", box=None
    )
    for s in doc["sessions"]:
        sessions.add_row(
            escape(s["id"]),
            escape(s["runtime_id"]),
            str(s["pid"]),
            f"{s['age_seconds']:.0f}",
            f"{s['idle_seconds']:.0f}",
            str(s["inflight"]),
        )
    stdout.print(sessions)


def _not_ours(url: str, home: Path, problem: str) -> str:
    """One line: what listens at `url` did not prove it is the local AgentCore of `home`."""
    from agentcore_mcp.local.identity import answers_connections, listener_owner

    if not answers_connections(url):
        return (
            f"cannot reach {url}: nothing listens there (the local AgentCore of --home "
            f"{home} has stopped?); `agentcore-mcp local start -d` starts one"
        )
    owner = listener_owner(url)
    who = f"a process of {owner}" if owner else "another process"
    return (
        f"{who} listens on {url}, not the local AgentCore started with --home {home} "
        f"({problem}); its admin token was not sent. If yours died: stop that process, "
        "then `agentcore-mcp local stop` and `agentcore-mcp local start -d`"
    )


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
    from agentcore_mcp.local.control.validation import RUNTIME_ID_RE

    if runtime is not None and RUNTIME_ID_RE.fullmatch(runtime) is None:
        # The id names a file under --home/logs: anything else could read any *.log.
        stderr.print(
            f"[red]error:[/] {escape(repr(runtime))} is not a runtime id (like "
            "mcp_server-AbCdEf1234); `agentcore-mcp local status` lists them",
            highlight=False,
        )
        raise typer.Exit(ExitCode.USAGE)
    settings = _settings(home=home)
    path = settings.logs_dir / f"{runtime}.log" if runtime else settings.home / "local.log"
    if not path.exists():
        stderr.print(f"no log at {path}", markup=False, highlight=False)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    with path.open("r", errors="replace") as f:
        for line in f:
            print(line, end="")
        # Piped (`| grep`), stdout is block-buffered: show what is there before waiting.
        sys.stdout.flush()
        if follow:
            # Ctrl-C ends a follow as it ends `tail -f`: by the signal's default action
            # (a shell reports 130). Unwinding a KeyboardInterrupt instead hung beside a
            # CPU hog (the interpreter never exited); every line is already flushed.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        while follow:
            line = f.readline()
            if line:
                print(line, end="", flush=True)
            else:
                time.sleep(0.2)
