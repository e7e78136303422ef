"""`agentcore-mcp manifest [SERVER_SPEC]`: record the startup manifest a container starts from."""

from __future__ import annotations

from pathlib import Path

import typer

from agentcore_mcp.cli.errors import CommandError
from agentcore_mcp.cli.output import print_json, stdout
from agentcore_mcp.cli.serve import SERVER_SPEC_HELP

DEFAULT_OUTPUT = Path(".agentcore-mcp/manifest.json")

EPILOG = """
The server answers `initialize`, `ping` and `tools/list` from the manifest while the
`mcp` SDK is still loading, when `MCP_STARTUP_MANIFEST` names it and it matches the
code (the server spec, its package's sources, the kit, the mcp and pydantic versions).
Write it after the code is final, as the Dockerfile does. A server whose tools depend on
environment variables should not use one.

**Examples**

- `agentcore-mcp manifest myproject.server:mcp`
- `agentcore-mcp manifest myproject.server:mcp -o /app/.agentcore-mcp/manifest.json --json`
- `MCP_STARTUP_MANIFEST=.agentcore-mcp/manifest.json agentcore-mcp serve myproject.server:mcp`
"""


def manifest(
    server_spec: str | None = typer.Argument(
        None, metavar="SERVER_SPEC", help=SERVER_SPEC_HELP, show_default=False
    ),
    output: Path = typer.Option(
        DEFAULT_OUTPUT, "--output", "-o", help="Where to write the manifest."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Record a server's handshake answers, for a cold start that does not wait for the SDK."""
    from agentcore_mcp.server.manifest import write_manifest
    from agentcore_mcp.server.settings import server_spec_from_env

    try:
        written = write_manifest(server_spec or server_spec_from_env(), output)
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc
    summary = {
        "path": str(output),
        "server": written.server_spec,
        "fingerprint": written.fingerprint,
        "answers": sorted(written.results),
    }
    if json_output:
        print_json(summary)
        return
    stdout.print(
        f"wrote {output}: {len(written.results)} answers "
        f"(initialize, ping, tools/list per protocol version)\n"
        f"serve with MCP_STARTUP_MANIFEST={output}",
        markup=False,
        highlight=False,
    )
