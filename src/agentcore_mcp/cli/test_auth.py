"""`agentcore-mcp test-auth`: which auth method the runtime accepts, and why not the other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from agentcore_mcp.cli import target as tgt
from agentcore_mcp.cli.output import print_json, stdout
from agentcore_mcp.exit_codes import ExitCode

EPILOG = (
    "**Examples:**\n\n"
    "- `agentcore-mcp test-auth` (the deployed runtime)\n"
    "- `agentcore-mcp test-auth --name my_server` (one of several in the state file)\n"
    "- `agentcore-mcp test-auth --arn arn:aws:bedrock-agentcore:us-east-1:123456789012:"
    "runtime/my_server-AbCdEf1234 --json`\n\n"
    "Exit code 0 when a method was accepted, 5 when both were refused."
)


def test_auth(
    name: str | None = tgt.NAME,
    url: str | None = typer.Option(None, "--url", help="Runtime invocation URL."),
    arn: str | None = tgt.ARN,
    runtime_id: str | None = tgt.RUNTIME_ID,
    account: str | None = tgt.ACCOUNT,
    region: str | None = tgt.REGION,
    qualifier: str = tgt.QUALIFIER,
    state: Path | None = tgt.STATE,
    ssm_parameter: str | None = tgt.SSM,
    client_id: str | None = tgt.CLIENT_ID,
    user_secret_id: str | None = tgt.USER_SECRET,
    profile: str | None = tgt.PROFILE,
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Try SigV4 and OAuth against the runtime; print which was accepted and why not the other."""
    from rich.markup import escape

    from agentcore_mcp.client import test_auth as run_test_auth
    from agentcore_mcp.deploy.lookup import bearer_from_env, find_runtime, runtime_session

    query = tgt.runtime_query(locals())
    target = find_runtime(query)
    session = runtime_session(target, profile)
    probes = asyncio.run(run_test_auth(target, session, bearer_token=bearer_from_env()))
    if json_output:
        print_json({"target": target.to_json(), "methods": [p.to_json() for p in probes]})
    else:
        from rich.table import Table

        table = Table("method", "result", "status", "why", title=target.arn or target.url)
        for p in probes:
            table.add_row(
                p.method,
                "[green]accepted[/]" if p.accepted else "[red]refused[/]",
                str(p.status or "-"),
                escape(p.reason),
            )
        stdout.print(table)
    if not any(p.accepted for p in probes):
        raise typer.Exit(ExitCode.AUTH_ERROR)
