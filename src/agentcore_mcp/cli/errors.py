"""The CLI's one error handler: any error to its message and exit code, as aws-cli's
driver does. Commands call the library and let its errors rise; the root command group
(`HandledGroup`) prints `error: <message>` on stderr and ends with the error's code.

The package's errors carry their code (`agentcore_mcp.errors.AgentCoreMcpError`); the
few others a command meets (the MCP client's, httpx2's, botocore's) are mapped here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Context  # typer 0.29 vendors click as typer._click

from agentcore_mcp.cli.output import stderr
from agentcore_mcp.errors import AgentCoreMcpError, AwsServiceError
from agentcore_mcp.exit_codes import ExitCode

__all__ = ["CommandError", "HandledGroup", "exit_code_and_message", "report"]


class CommandError(AgentCoreMcpError):
    """A command's own refusal (a flag value, a file it cannot write): the message says
    what to do, `exit_code` how it ends."""

    def __init__(self, message: str, exit_code: int = ExitCode.CONFIG_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested exception groups (the one that ended the group):
    the MCP client's task groups wrap what went wrong."""
    for _ in range(100):  # groups nest a few levels deep, never a hundred
        if not isinstance(exc, BaseExceptionGroup) or not exc.exceptions:
            break
        exc = exc.exceptions[0]
    return exc


def _botocore(exc: BaseException) -> AgentCoreMcpError | None:
    """A botocore error explained as the deployer explains its own (what to do next)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return None
    if not isinstance(exc, BotoCoreError | ClientError):
        return None
    from agentcore_mcp.deploy.errors import explain_botocore_error, explain_client_error

    if isinstance(exc, ClientError):
        return explain_client_error(exc, "calling AWS")
    return explain_botocore_error(exc, "calling AWS")


def _mcp_client(exc: BaseException) -> tuple[int, str] | None:
    """The MCP client's and its HTTP stack's failures (`tools`)."""
    try:
        import httpx2
        from mcp.shared.exceptions import MCPError
    except ImportError:
        return None
    if isinstance(exc, MCPError):
        if exc.error.code in (-32001, -32002):  # the data plane's 401 / 403
            return ExitCode.AUTH_ERROR, f"JSON-RPC error {exc.error.code}: {exc.error.message}"
        return (
            ExitCode.PROTOCOL_ERROR,
            f"server answered JSON-RPC error {exc.error.code}: {exc.error.message}",
        )
    if isinstance(exc, httpx2.HTTPStatusError):
        status = exc.response.status_code
        code = ExitCode.AUTH_ERROR if status in (401, 403) else ExitCode.PROTOCOL_ERROR
        return code, f"HTTP {status} from {exc.request.url}"
    if isinstance(exc, httpx2.ConnectError | httpx2.TimeoutException | httpx2.NetworkError):
        return ExitCode.CONNECTION_ERROR, f"cannot reach the server: {exc}"
    return None


def exit_code_and_message(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one-line message for `exc`; None for an error nobody
    expected (a bug: the caller lets it rise with its traceback)."""
    leaf = _first_leaf(exc)
    if isinstance(leaf, AwsServiceError):
        code = ExitCode.AUTH_ERROR if leaf.status in (401, 403) else leaf.exit_code
        return code, str(leaf)
    if isinstance(leaf, AgentCoreMcpError):
        return leaf.exit_code, str(leaf)
    if isinstance(leaf, typer.BadParameter):  # raised inside a call (tools' --header)
        return ExitCode.USAGE, leaf.format_message()
    if isinstance(leaf, ImportError):
        from agentcore_mcp.extras import from_import_error

        missing = from_import_error(leaf)
        return None if missing is None else (ExitCode.CONFIG_ERROR, str(missing))
    explained = _botocore(leaf)
    if explained is not None:
        return explained.exit_code, str(explained)
    return _mcp_client(leaf)


def report(exc: BaseException, *, unexpected: int | None = None) -> int:
    """Print `error: <message>` on stderr and return the exit code. An error nobody
    expected is re-raised, unless `unexpected` gives it a code (then `Type: message`)."""
    found = exit_code_and_message(exc)
    if found is None:
        if unexpected is None:
            raise exc
        leaf = _first_leaf(exc)
        found = unexpected, f"{type(leaf).__name__}: {leaf}"
    code, message = found
    # escaped, no emoji: messages name extras such as 'agentcore-mcp[local]', and ARNs hold
    # `:secret:`, which rich would turn into an emoji.
    stderr.print(f"[red]error:[/] {escape(message)}", highlight=False, emoji=False)
    return code


# click's usage errors (typer.BadParameter's base) print usage and exit 2 on their own;
# found by name, as typer has shipped click both as a dependency and vendored.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class HandledGroup(TyperGroup):
    """The root command group: every command's errors go through `report`."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (_CLICK_EXCEPTION, typer.Exit, typer.Abort):
            raise  # typer's own: usage errors, typer.Exit, Ctrl-C at a prompt
        except Exception as exc:
            if exit_code_and_message(exc) is None:
                raise
            raise typer.Exit(report(exc)) from None
