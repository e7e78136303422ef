"""The `agentcore-mcp` command line: argument parsing and printing only.

Each group lives in its own module and calls the library underneath; importing this
package imports no group until its command runs, so `serve` starts fast. Errors rise
from the library to one handler (`cli.errors`, the root group's), which prints the
message and ends with the error's exit code.
"""

from __future__ import annotations

import sys

import typer

from agentcore_mcp.cli import connect as connect_cmd
from agentcore_mcp.cli import deploy as deploy_cmd
from agentcore_mcp.cli import dev as dev_cmd
from agentcore_mcp.cli import local as local_cmd
from agentcore_mcp.cli import manifest as manifest_cmd
from agentcore_mcp.cli import proxy as proxy_cmd
from agentcore_mcp.cli import serve as serve_cmd
from agentcore_mcp.cli import test_auth as test_auth_cmd
from agentcore_mcp.cli import tools as tools_cmd
from agentcore_mcp.cli.errors import HandledGroup
from agentcore_mcp.exit_codes import ExitCode
from agentcore_mcp.extras import from_import_error, require


def _local_needs_extra() -> None:
    # Runs before any `local` subcommand: without [local], one line instead of a traceback.
    require("local", "moto", "joserfc", "boto3", purpose="agentcore-mcp local")


app = typer.Typer(
    name="agentcore-mcp",
    cls=HandledGroup,
    help="Build, run locally, deploy and connect to MCP servers on AgentCore Runtime.",
    epilog="**Examples:**\n\n"
    "- `agentcore-mcp serve` (the sample server on 0.0.0.0:8000/mcp)\n"
    "- `agentcore-mcp deploy` then `agentcore-mcp tools list --remote`\n"
    "- `agentcore-mcp connect --client inspector`\n"
    "- `agentcore-mcp COMMAND --help` (each command's own examples)\n\n"
    "Exit codes: 0 ok, 1 the tool reported isError, 2 usage, 3 protocol, 4 connection, "
    "5 auth, 6 configuration, 7 an AWS step failed, 8 the runtime failed, 130 interrupted.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.command("serve", epilog=serve_cmd.EPILOG)(serve_cmd.serve)
app.command("manifest", epilog=manifest_cmd.EPILOG)(manifest_cmd.manifest)
app.add_typer(tools_cmd.app, name="tools")
app.add_typer(local_cmd.app, name="local", callback=_local_needs_extra)
deploy_cmd.register(app)
app.command("dev", epilog=dev_cmd.EPILOG)(dev_cmd.dev)
app.command("test-auth", epilog=test_auth_cmd.EPILOG)(test_auth_cmd.test_auth)
app.command("proxy", epilog=proxy_cmd.EPILOG)(proxy_cmd.proxy)
app.command("connect", epilog=connect_cmd.EPILOG)(connect_cmd.connect)


def main() -> None:
    try:
        app()
    except ImportError as exc:
        # A command needs an extra that is not installed (`agentcore_mcp.extras.require`,
        # or an optional module imported without it): one line naming the extra, exit 6.
        error = from_import_error(exc)
        if error is None:
            raise
        typer.echo(f"agentcore-mcp: {error}", err=True)
        sys.exit(ExitCode.CONFIG_ERROR)
