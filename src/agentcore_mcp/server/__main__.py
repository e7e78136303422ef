"""`python -m agentcore_mcp.server [APP]`: the lean entry point containers run.

Same server as `agentcore-mcp serve`, configured by the environment only (HOST, PORT,
MCP_PATH, ... as in `.env.example`, which is how AgentCore configures a runtime), and
without importing the CLI stack (typer, rich), so a cold start pays only for the
server itself.
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(
            "usage: python -m agentcore_mcp.server [module:attribute]"
            "  (settings come from the environment)",
            file=sys.stderr,
        )
        return 2
    from agentcore_mcp.server import AppLoadError, ServerSettings, SettingsError, load_server, serve

    try:
        settings = ServerSettings.from_env()
        server = load_server(argv[0] if argv else None)
    except (SettingsError, AppLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 6  # ExitCode.CONFIG_ERROR, without importing the CLI for it
    serve(server, settings, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
