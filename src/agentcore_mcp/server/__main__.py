"""`python -m agentcore_mcp.server [SERVER_SPEC]`: the lean entry point containers run.

Same server as `agentcore-mcp serve`, configured by the environment only (HOST, PORT,
MCP_PATH, ... as in `.env.example`, which is how AgentCore configures a runtime), and
without importing the CLI stack (typer, rich), so a cold start pays only for the
server itself. With MCP_STARTUP_MANIFEST set (see `agentcore-mcp manifest`), it listens
before the `mcp` SDK has loaded.
"""

from __future__ import annotations

import sys
import time

from agentcore_mcp.exit_codes import ExitCode


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(
            "usage: python -m agentcore_mcp.server [SERVER_SPEC]  (module:attribute; default:"
            " $MCP_SERVER, else the samples; settings come from the environment)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    from agentcore_mcp.server.loader import ServerLoadError
    from agentcore_mcp.server.run import serve_spec
    from agentcore_mcp.server.settings import ServerSettings, SettingsError, server_spec_from_env

    try:
        server_spec = argv[0] if argv else server_spec_from_env()
        return serve_spec(server_spec, ServerSettings.from_env(), started=started)
    except (SettingsError, ServerLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
