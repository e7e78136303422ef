"""`agentcore-mcp connect --client X [--write]`: the config entry that runs the proxy."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import typer

from agentcore_mcp.cli import target as tgt
from agentcore_mcp.cli.errors import CommandError
from agentcore_mcp.cli.output import print_json, stderr, stdout

EPILOG = (
    "**Examples:**\n\n"
    "- `agentcore-mcp connect --client inspector` (prints the command line)\n"
    "- `agentcore-mcp connect --client claude-desktop --write`\n"
    "- `agentcore-mcp connect --client cursor --oauth --write`\n"
    "- `agentcore-mcp connect --client cursor --name my_server --write` (one of several "
    "deployments in the state file)\n\n"
    "Clients: inspector, claude-desktop, claude-code, cursor, vscode, kiro. "
    "No secret is written: the proxy gets credentials at run time."
)


def _plain(text: str) -> None:
    """Unwrapped, unstyled: a command line or JSON must survive copy and paste."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def connect(
    client: str = typer.Option(..., "--client", "-c", help="Which MCP client."),
    write: bool = typer.Option(False, "--write", help="Merge the entry into its config file."),
    name: str | None = tgt.NAME,
    entry_name: str | None = typer.Option(
        None, "--entry-name", help="Server name in the config [agentcore-<runtime name>]."
    ),
    url: str | None = typer.Option(None, "--url", help="Runtime invocation URL."),
    arn: str | None = tgt.ARN,
    runtime_id: str | None = tgt.RUNTIME_ID,
    account: str | None = tgt.ACCOUNT,
    region: str | None = tgt.REGION,
    qualifier: str = tgt.QUALIFIER,
    state: Path | None = tgt.STATE,
    ssm_parameter: str | None = tgt.SSM,
    oauth: bool = tgt.OAUTH,
    sigv4: bool = tgt.SIGV4,
    client_id: str | None = tgt.CLIENT_ID,
    user_secret_id: str | None = tgt.USER_SECRET,
    profile: str | None = tgt.PROFILE,
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Print (or --write) the client config entry that runs `agentcore-mcp proxy --stdio`."""
    from agentcore_mcp.connect import CLIENTS, client_config, write_config
    from agentcore_mcp.deploy.lookup import find_runtime

    if client not in CLIENTS:
        raise typer.BadParameter(f"choose one of {', '.join(CLIENTS)}", param_hint="--client")
    query = tgt.runtime_query(locals())
    if name and (url or arn or runtime_id or ssm_parameter):
        # --name named the config entry before it picked a deployment: say where that went.
        stderr.print(
            "note: --name picks a deployment in the state file; --arn/--url/--ssm-parameter "
            "name the runtime here, so it is not used. Name the config entry with --entry-name",
            markup=False,
            highlight=False,
        )
    try:
        target = find_runtime(query)
        config = client_config(client, target, name=entry_name, profile=profile)
        result = write_config(config) if write and config.path is not None else None
    except OSError as exc:  # a config file or state file that cannot be read or written
        raise CommandError(str(exc)) from None
    if json_output:
        doc = config.to_json()
        doc["written"] = str(result.path) if result else None
        doc["backup"] = str(result.backup) if result and result.backup else None
        print_json(doc)
        return
    if client == "inspector":
        stdout.print("Run MCP Inspector with the proxy (stdio):\n")
        _plain(shlex.join(config.command_line))
        stdout.print(
            "\nOr serve HTTP and point Inspector at http://127.0.0.1:8765/mcp "
            "(transport: Streamable HTTP, no auth):\n", markup=False,
        )  # fmt: skip
        port_cmd = [config.entry["command"], *config.entry["args"]]
        port_cmd[port_cmd.index("--stdio")] = "--port"
        port_cmd.insert(port_cmd.index("--port") + 1, "8765")
        _plain(shlex.join(port_cmd))
        return
    if result is None:
        stdout.print(f"Add to {config.path}:\n", markup=False, highlight=False)
        _plain(json.dumps(config.snippet(), indent=2))
        stdout.print("\nor run again with --write to merge it (a backup is kept).")
        return
    verb = "replaced" if result.replaced else "added"
    stdout.print(f"{verb} {config.name!r} in {result.path}", markup=False, highlight=False)
    if result.backup:
        stdout.print(f"backup: {result.backup}", markup=False, highlight=False)
    stdout.print(f"Restart {client} to load it.", markup=False)
