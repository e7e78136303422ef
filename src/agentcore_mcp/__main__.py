"""The `agentcore-mcp` console script and `python -m agentcore_mcp`.

A launcher that imports only the standard library before the CLI: with the `[cli]` extra
missing (a server author's plain `pip install agentcore-mcp`), the command prints one
line naming the extra to install and exits with the configuration code, not a traceback.
"""

from __future__ import annotations

import sys

from agentcore_mcp.exit_codes import ExitCode
from agentcore_mcp.extras import MissingExtraError, from_import_error

# The shared exit codes need no typer: the standard library's enum only.
CONFIG_ERROR_STATUS = ExitCode.CONFIG_ERROR

# The extra that brings a whole command group along with the CLI itself, so that the one
# hint printed when typer is missing installs everything that command needs.
_COMMAND_EXTRAS = {"local": "local", "deploy": "deploy", "destroy": "deploy"}


def _fail(error: MissingExtraError) -> int:
    print(f"agentcore-mcp: {error}", file=sys.stderr, flush=True)
    return CONFIG_ERROR_STATUS


def main() -> None:
    argv = sys.argv[1:]
    command = next((a for a in argv if not a.startswith("-")), "")
    try:
        from agentcore_mcp.cli import main as cli_main
    except ImportError as exc:
        extra = _COMMAND_EXTRAS.get(command, "cli")
        error = from_import_error(exc)
        if error is None:
            raise
        sys.exit(
            _fail(MissingExtraError(extra, error.missing, purpose="the agentcore-mcp command"))
        )
    cli_main()  # turns a MissingExtraError from a command into the same one line


if __name__ == "__main__":
    main()
