"""`agentcore-mcp tools list|call`: talk to any MCP URL, or to the deployed runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer

from agentcore_mcp.cli import target as tgt
from agentcore_mcp.cli.exit_codes import ExitCode
from agentcore_mcp.cli.output import debug_sink, print_json, stderr, stdout

app = typer.Typer(help="List and call tools on an MCP server.", no_args_is_help=True)

URL_HELP = "MCP endpoint, e.g. http://localhost:8000/mcp; with --remote, a runtime invocation URL"
REMOTE = typer.Option(
    False, "--remote", help="Call the deployed runtime (state file, SSM parameter or --arn)."
)
PROTOCOL_HELP = (
    "auto (probe server/discover), handshake (the initialize handshake era) or 2026-07-28."
)
PROTOCOLS = ("auto", "handshake", "2026-07-28")


def _options(
    url: str | None,
    protocol: str,
    debug: bool,
    headers: list[str],
    remote: tgt.TargetFlags | None = None,
) -> Any:
    from dataclasses import replace

    from agentcore_mcp.client import ConnectOptions

    protocol = _protocol(protocol)
    parsed: dict[str, str] = {}
    for item in headers:
        name, sep, value = item.partition(":")
        if not sep:
            raise typer.BadParameter(f"expected 'Name: value', got {item!r}", param_hint="--header")
        parsed[name.strip()] = value.strip()
    if remote is not None:
        from agentcore_mcp.client import runtime_auth, runtime_options

        target = tgt.resolve_target(remote)
        if debug:
            debug_sink(f"* runtime {target.arn or target.url} ({target.auth})")
        session = tgt.aws_session(target, remote.profile)
        auth = runtime_auth(target, session, bearer_token=tgt.bearer_from_env())
        options = runtime_options(
            target,
            auth=auth,
            protocol=protocol,  # type: ignore[arg-type]
            debug=debug_sink if debug else None,
        )
        return replace(options, headers={**options.headers, **parsed})
    if not url:
        raise typer.BadParameter("pass --url URL, or --remote for the deployed runtime")
    return ConnectOptions(
        url=url,
        headers=parsed,
        protocol=protocol,  # type: ignore[arg-type]
        debug=debug_sink if debug else None,
    )


def _protocol(given: str) -> str:
    """The --protocol value checked; `legacy`, its former spelling, still means handshake."""
    if given == "legacy":
        stderr.print(
            "note: --protocol legacy is deprecated; use --protocol handshake",
            markup=False,
            highlight=False,
        )
        return "handshake"
    if given not in PROTOCOLS:
        raise typer.BadParameter("must be auto, handshake or 2026-07-28", param_hint="--protocol")
    return given


def _fail(exc: BaseException) -> ExitCode:
    """Map a client failure to a message on stderr and an exit code."""
    import httpx2
    from mcp.shared.exceptions import MCPError

    from agentcore_mcp.client import RuntimeAuthError, RuntimeTargetError, TokenSourceError

    leaf: BaseException = exc
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    if isinstance(leaf, RuntimeTargetError):
        stderr.print(f"[red]error:[/] {leaf}", markup=True, highlight=False)
        return ExitCode.CONFIG_ERROR
    if isinstance(leaf, (RuntimeAuthError, TokenSourceError)):
        stderr.print(f"[red]error:[/] {leaf}", highlight=False)
        return ExitCode.AUTH_ERROR
    if isinstance(leaf, MCPError):
        if leaf.error.code in (-32001, -32002):  # the data plane's 401 / 403
            stderr.print(f"[red]error:[/] {leaf.error.message}", markup=False, highlight=False)
            return ExitCode.AUTH_ERROR
        stderr.print(
            f"[red]error:[/] server answered JSON-RPC error {leaf.error.code}: {leaf.error.message}"
        )
        return ExitCode.PROTOCOL_ERROR
    if isinstance(leaf, httpx2.HTTPStatusError):
        status = leaf.response.status_code
        stderr.print(f"[red]error:[/] HTTP {status} from {leaf.request.url}")
        return ExitCode.AUTH_ERROR if status in (401, 403) else ExitCode.PROTOCOL_ERROR
    if isinstance(
        leaf, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError, OSError)
    ):
        stderr.print(f"[red]error:[/] cannot reach the server: {leaf}")
        return ExitCode.CONNECTION_ERROR
    stderr.print(f"[red]error:[/] {type(leaf).__name__}: {leaf}")
    return ExitCode.PROTOCOL_ERROR


def _remote_flags(params: dict[str, Any]) -> tgt.TargetFlags | None:
    """The runtime flags when the command targets a deployed runtime, else None (--url)."""
    remote = any(params[k] for k in ("remote", "oauth", "sigv4", "arn", "runtime_id"))
    return tgt.TargetFlags.from_params(params) if remote else None


@app.command(
    "list",
    epilog="**Examples:**\n\n"
    "- `agentcore-mcp tools list --url http://localhost:8000/mcp --json`\n"
    "- `agentcore-mcp tools list --remote` (the deployed runtime, SigV4)\n"
    "- `agentcore-mcp tools list --remote --oauth --debug`\n"
    "- `agentcore-mcp tools list --arn arn:aws:bedrock-agentcore:us-east-1:123456789012:"
    "runtime/my_server-AbCdEf1234`",
)
def list_command(
    url: str | None = typer.Option(None, help=URL_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the tools as JSON."),
    debug: bool = typer.Option(
        False, "--debug", help="Print each HTTP request and response on stderr."
    ),
    protocol: str = typer.Option("auto", help=PROTOCOL_HELP),
    header: list[str] = typer.Option([], "--header", "-H", help="Extra header 'Name: value'."),
    remote: bool = REMOTE,
    oauth: bool = tgt.OAUTH,
    sigv4: bool = tgt.SIGV4,
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
) -> None:
    """List the server's tools."""
    from agentcore_mcp.client import list_tools

    try:
        flags = (
            tgt.TargetFlags.from_params(locals())
            if remote or oauth or sigv4 or arn or runtime_id
            else None
        )
        tools = asyncio.run(list_tools(_options(url, protocol, debug, header, flags)))
    except Exception as exc:
        raise typer.Exit(_fail(exc)) from None
    if json_output:
        print_json([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
        return
    from rich.table import Table

    table = Table("tool", "description", box=None)
    for t in tools:
        table.add_row(
            t.name, (t.description or "").strip().splitlines()[0] if t.description else ""
        )
    stdout.print(table)


@app.command(
    "call",
    epilog="**Examples:**\n\n- `agentcore-mcp tools call echo -a text=hi --url http://localhost:8000/mcp`\n"
    '- `agentcore-mcp tools call add --args \'{"a": 1, "b": 2}\' --url ... --json`\n'
    "- `agentcore-mcp tools call echo -a text=hi --remote --oauth`",
)
def call_command(
    name: str = typer.Argument(..., help="Tool name."),
    url: str | None = typer.Option(None, help=URL_HELP),
    args: str | None = typer.Option(None, "--args", help="Arguments as a JSON object."),
    arg: list[str] = typer.Option(
        [], "--arg", "-a", help="One argument as key=value (value parsed as JSON if it can be)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the whole CallToolResult as JSON."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Print each HTTP request and response on stderr."
    ),
    protocol: str = typer.Option("auto", help=PROTOCOL_HELP),
    header: list[str] = typer.Option([], "--header", "-H", help="Extra header 'Name: value'."),
    remote: bool = REMOTE,
    oauth: bool = tgt.OAUTH,
    sigv4: bool = tgt.SIGV4,
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
) -> None:
    """Call one tool. Exit code 1 when the tool reports isError, 3 on a protocol error."""
    from agentcore_mcp.client import call_tool, parse_arguments

    try:
        arguments = parse_arguments(args, arg)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if not json_output:
            of = f"/{total:g}" if total is not None else ""
            stderr.print(f"[dim]progress {done:g}{of} {message or ''}[/]")

    try:
        flags = (
            tgt.TargetFlags.from_params(locals())
            if remote or oauth or sigv4 or arn or runtime_id
            else None
        )
        result = asyncio.run(
            call_tool(
                _options(url, protocol, debug, header, flags),
                name,
                arguments,
                on_progress=progress,
            )
        )
    except Exception as exc:
        raise typer.Exit(_fail(exc)) from None
    if json_output:
        print_json(result.model_dump(mode="json", by_alias=True, exclude_none=True))
    else:
        for block in result.content:
            text = getattr(block, "text", None)
            stdout.print(
                text if text is not None else block.model_dump_json(), markup=False, highlight=False
            )
        if result.structured_content is not None and not result.content:
            print_json(result.structured_content)
    if result.is_error:
        raise typer.Exit(ExitCode.TOOL_ERROR)
