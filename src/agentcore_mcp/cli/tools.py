"""`agentcore-mcp tools list|call`: talk to any MCP URL, or to the deployed runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentcore_mcp.cli import target as tgt
from agentcore_mcp.cli.errors import CommandError, report
from agentcore_mcp.cli.output import debug_sink, print_json, stderr, stdout
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode

if TYPE_CHECKING:
    from agentcore_mcp.client import ConnectOptions, RuntimeAuth, RuntimeTarget
    from agentcore_mcp.deploy.lookup import RuntimeQuery

app = typer.Typer(
    help="List and call tools on an MCP server.",
    epilog="**Examples:** `agentcore-mcp tools list --url http://localhost:8000/mcp`, "
    "`agentcore-mcp tools call echo -a text=hi --remote`",
    no_args_is_help=True,
)

URL_HELP = "MCP endpoint, e.g. http://localhost:8000/mcp; with --remote, a runtime invocation URL"
REMOTE = typer.Option(
    False, "--remote", help="Call the deployed runtime (state file, SSM parameter or --arn)."
)
PROTOCOL_HELP = (
    "auto (probe server/discover), handshake (the initialize handshake era) or 2026-07-28."
)
PROTOCOLS = ("auto", "handshake", "2026-07-28")


@dataclass(frozen=True, slots=True)
class _Remote:
    """A deployed runtime to open with `open_runtime` (which ends its session on exit)."""

    target: RuntimeTarget
    auth: RuntimeAuth
    protocol: str
    headers: dict[str, str]
    debug: bool


def _options(
    url: str | None,
    protocol: str,
    debug: bool,
    headers: list[str],
    remote: RuntimeQuery | None = None,
) -> ConnectOptions | _Remote:
    """ConnectOptions for a plain MCP URL, or a `_Remote` for the deployed runtime."""
    from agentcore_mcp.client import ConnectOptions

    protocol = _protocol(protocol)
    parsed: dict[str, str] = {}
    for item in headers:
        name, sep, value = item.partition(":")
        if not sep:
            raise typer.BadParameter(f"expected 'Name: value', got {item!r}", param_hint="--header")
        parsed[name.strip()] = value.strip()
    if remote is not None:
        from agentcore_mcp.client import runtime_auth
        from agentcore_mcp.deploy.lookup import bearer_from_env, find_runtime, runtime_session

        target = find_runtime(remote)
        if debug:
            debug_sink(f"* runtime {target.arn or target.url} ({target.auth})")
        session = runtime_session(target, remote.profile)
        auth = runtime_auth(target, session, bearer_token=bearer_from_env())
        return _Remote(target, auth, protocol, parsed, debug)
    if not url:
        raise typer.BadParameter("pass --url URL, or --remote for the deployed runtime")
    return ConnectOptions(
        url=url,
        headers=parsed,
        protocol=protocol,  # type: ignore[arg-type]
        debug=debug_sink if debug else None,
    )


def _open(options: ConnectOptions | _Remote) -> AbstractAsyncContextManager[Any]:
    """An entered MCP client: a runtime's ends its runtime session when done."""
    from agentcore_mcp.client import open_client, open_runtime

    if isinstance(options, _Remote):
        return open_runtime(
            options.target,
            auth=options.auth,
            protocol=options.protocol,  # type: ignore[arg-type]
            debug=debug_sink if options.debug else None,
            headers=options.headers,
        )
    return open_client(options)


async def _list(options: ConnectOptions | _Remote) -> list[Any]:
    async with _open(options) as client:
        return list((await client.list_tools()).tools)


async def _call(
    options: ConnectOptions | _Remote,
    name: str,
    arguments: dict[str, Any],
    on_progress: Callable[[float, float | None, str | None], Awaitable[None]],
) -> Any:
    from mcp_types import CallToolResult

    async with _open(options) as client:
        result = await client.call_tool(name, arguments, progress_callback=on_progress)
    if not isinstance(result, CallToolResult):
        raise TypeError(f"unexpected result type {type(result).__name__}")
    return result


def _protocol(given: str) -> str:
    """The --protocol value checked."""
    if given not in PROTOCOLS:
        raise typer.BadParameter("must be auto, handshake or 2026-07-28", param_hint="--protocol")
    return given


def _error(message: str) -> None:
    """`error: MESSAGE` on stderr; the message is text, never Rich markup."""
    from rich.markup import escape

    stderr.print(f"[red]error:[/] {escape(message)}", highlight=False)


def _fail(exc: BaseException) -> int:
    """A client failure's message on stderr, and its exit code (the CLI's one handler);
    anything the handler does not know is a protocol error (3) here: the server's answer
    could not be used. An OSError here is the connection's (4)."""
    from agentcore_mcp.client.session import first_leaf

    leaf = first_leaf(exc)
    if isinstance(leaf, OSError) and not isinstance(leaf, AgentCoreMcpError):
        exc = CommandError(f"cannot reach the server: {leaf}", ExitCode.CONNECTION_ERROR)
    return report(exc, unexpected=ExitCode.PROTOCOL_ERROR)


_REMOTE_FLAGS = ("remote", "oauth", "sigv4", "arn", "runtime_id", "name", "ssm_parameter", "state")


def _remote_flags(params: dict[str, Any]) -> RuntimeQuery | None:
    """The runtime flags when the command targets a deployed runtime (--remote, or a flag
    that names one: --name, --arn, --ssm-parameter, ...), else None (--url)."""
    remote = any(params[k] for k in _REMOTE_FLAGS)
    return tgt.runtime_query(params) if remote else None


@app.command(
    "list",
    epilog="**Examples:**\n\n"
    "- `agentcore-mcp tools list --url http://localhost:8000/mcp --json`\n"
    "- `agentcore-mcp tools list --remote` (the deployed runtime, SigV4)\n"
    "- `agentcore-mcp tools list --name my_server` (one of several in the state file)\n"
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
    name: str | None = tgt.NAME,
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
    try:
        flags = _remote_flags(locals())
        tools = asyncio.run(_list(_options(url, protocol, debug, header, flags)))
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
    tool: str = typer.Argument(..., metavar="NAME", help="Tool name."),
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
    name: str | None = tgt.NAME,
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
    from agentcore_mcp.client import parse_arguments

    try:
        arguments = parse_arguments(args, arg)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if not json_output:
            of = f"/{total:g}" if total is not None else ""
            stderr.print(
                f"progress {done:g}{of} {message or ''}", style="dim", markup=False, highlight=False
            )

    try:
        flags = _remote_flags(locals())
        result = asyncio.run(
            _call(_options(url, protocol, debug, header, flags), tool, arguments, progress)
        )
    except Exception as exc:
        raise typer.Exit(_fail(exc)) from None
    if json_output:
        print_json(result.model_dump(mode="json", by_alias=True, exclude_none=True))
    if result.is_error:
        # The tool's own message, on stderr where errors go (stdout may be piped).
        texts = [getattr(b, "text", None) or b.model_dump_json() for b in result.content]
        _error(f"the tool {tool!r} failed: {' '.join(texts) or '(no message)'}")
        raise typer.Exit(ExitCode.TOOL_ERROR)
    if not json_output:
        for block in result.content:
            text = getattr(block, "text", None)
            stdout.print(
                text if text is not None else block.model_dump_json(), markup=False, highlight=False
            )
        if result.structured_content is not None and not result.content:
            print_json(result.structured_content)
