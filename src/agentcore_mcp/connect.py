"""Client config entries that run `agentcore-mcp proxy --stdio` for a deployed runtime.

For MCP Inspector, Claude Desktop, Claude Code, Cursor, VS Code and Kiro: the entry, the
usual config path per platform, and a merge that keeps every other entry and writes a
backup first. An entry names the runtime and how to authenticate (method, app client
id, the Secrets Manager id of the stored user); it never holds a token, a password or
an access key: the proxy fetches those at run time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.files import write_atomically

ClientName = Literal["inspector", "claude-desktop", "claude-code", "cursor", "vscode", "kiro"]
CLIENTS: tuple[ClientName, ...] = (
    "inspector",
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "kiro",
)
INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector"
# Names of environment variables an entry may carry: locations, never credentials.
_SAFE_ENV = ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE")
_SECRET_RE = re.compile(r"(secret|password|token|session|access_key|authorization)", re.I)


class ConnectError(AgentCoreMcpError):
    """The config cannot be produced or written; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    client: ClientName
    name: str
    entry: dict[str, Any]
    #: the key in the config file that holds the server entries
    servers_key: str
    path: Path | None
    command_line: list[str] = field(default_factory=list)

    def snippet(self) -> dict[str, Any]:
        return {self.servers_key: {self.name: self.entry}}

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "config": self.snippet(),
            "command_line": shlex.join(self.command_line),
        }


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: Path
    backup: Path | None
    replaced: bool


def proxy_command() -> list[str]:
    """How a client launches the proxy: the installed script, else this Python's module.

    An absolute path: GUI clients (Claude Desktop, Cursor) do not read the shell's PATH.
    """
    script = shutil.which("agentcore-mcp")
    if script:
        return [str(Path(script).resolve())]
    return [sys.executable, "-m", "agentcore_mcp"]


def proxy_args(target: RuntimeTarget, *, profile: str | None = None) -> list[str]:
    args = ["proxy", "--stdio"]
    # An ARN is enough only for a runtime on AWS's own endpoint; one on a local AgentCore
    # (or behind an endpoint override) is named by its URL, or the proxy would go to AWS.
    on_aws = bool(target.region) and target.url.startswith(
        f"https://bedrock-agentcore.{target.region}.amazonaws.com/"
    )
    if target.arn and on_aws:
        args += ["--arn", target.arn]
        if target.qualifier != "DEFAULT":
            args += ["--qualifier", target.qualifier]
    else:
        args += ["--url", target.url]
    if target.region:
        args += ["--region", target.region]
    if target.auth == "oauth":
        args.append("--oauth")
        if target.client_id:
            args += ["--client-id", target.client_id]
        if target.user_secret_id:
            args += ["--user-secret-id", target.user_secret_id]
    else:
        args.append("--sigv4")
    if profile:
        args += ["--profile", profile]
    return args


def entry_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: env[k] for k in _SAFE_ENV if env.get(k)}


def config_path(
    client: ClientName, *, home: Path | None = None, platform: str | None = None,
    environ: dict[str, str] | None = None,
) -> Path | None:  # fmt: skip
    """The client's usual user-level config file (None for Inspector: it has none)."""
    home = home or Path.home()
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    appdata = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    if client == "inspector":
        return None
    if client == "claude-desktop":
        if platform == "darwin":
            return home / "Library/Application Support/Claude/claude_desktop_config.json"
        if platform.startswith("win"):
            return appdata / "Claude" / "claude_desktop_config.json"
        return xdg / "Claude" / "claude_desktop_config.json"
    if client == "claude-code":
        return home / ".claude.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "vscode":
        if platform == "darwin":
            return home / "Library/Application Support/Code/User/mcp.json"
        if platform.startswith("win"):
            return appdata / "Code" / "User" / "mcp.json"
        return xdg / "Code" / "User" / "mcp.json"
    if client == "kiro":
        return home / ".kiro" / "settings" / "mcp.json"
    raise ConnectError(f"unknown client {client!r}: choose one of {', '.join(CLIENTS)}")


def server_name(target: RuntimeTarget) -> str:
    """`agentcore-<runtime name>`: the ARN's runtime id without its random suffix."""
    if target.arn:
        runtime_id = target.arn.rsplit("/", 1)[-1]
        base = runtime_id.rsplit("-", 1)[0] if "-" in runtime_id else runtime_id
        return f"agentcore-{base}"
    return "agentcore"


def client_config(
    client: ClientName,
    target: RuntimeTarget,
    *,
    name: str | None = None,
    profile: str | None = None,
    command: list[str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
    environ: dict[str, str] | None = None,
) -> ClientConfig:
    """The entry for `client`, ready to print or merge."""
    if client not in CLIENTS:
        raise ConnectError(f"unknown client {client!r}: choose one of {', '.join(CLIENTS)}")
    cmd = command or proxy_command()
    args = [*cmd[1:], *proxy_args(target, profile=profile)]
    env = entry_env(environ)
    name = name or server_name(target)
    entry: dict[str, Any] = {"command": cmd[0], "args": args}
    if env:
        entry["env"] = env
    servers_key = "mcpServers"
    if client == "vscode":
        entry = {"type": "stdio", **entry}
        servers_key = "servers"
    elif client == "claude-code":
        entry = {"type": "stdio", **entry}
    elif client == "kiro":
        entry["disabled"] = False
    _assert_no_secret(entry)
    # `--` ends Inspector's own options: it has a --client-id (OAuth) that would swallow ours.
    inspector = ["npx", "-y", INSPECTOR_PACKAGE, "--", cmd[0], *args]
    path = config_path(client, home=home, platform=platform, environ=environ)
    return ClientConfig(client, name, entry, servers_key, path, inspector)


def _assert_no_secret(entry: dict[str, Any]) -> None:
    """A last guard: an entry may name secrets (ids) but never carry one."""
    for key, value in (entry.get("env") or {}).items():
        if key not in _SAFE_ENV or _SECRET_RE.search(key):
            raise ConnectError(f"refusing to write {key} into a client config")
        if isinstance(value, str) and value.startswith(("eyJ", "AKIA", "ASIA")):
            raise ConnectError(f"refusing to write a credential-like value for {key}")


MAX_BACKUPS = 100


def _backup_path(path: Path, text: str) -> Path:
    """Where the old file's copy goes: `<file>.bak` the first time, then `<file>.bak.1`,
    `.bak.2`, ...; an earlier backup is never overwritten (the first holds the user's
    original). When the newest backup already holds `text`, it is reused."""
    first = path.with_name(path.name + ".bak")
    candidates = [first, *(path.with_name(f"{path.name}.bak.{n}") for n in range(1, MAX_BACKUPS))]
    newest: Path | None = None
    for candidate in candidates:
        if not candidate.exists():
            if newest is not None and newest.read_text(encoding="utf-8") == text:
                return newest
            return candidate
        newest = candidate
    raise ConnectError(
        f"{MAX_BACKUPS} backups of {path} exist ({first}, ...): remove the ones you do not "
        "need, then retry"
    )


def write_config(config: ClientConfig) -> WriteResult:
    """Merge the entry into the client's config file: other entries and settings are
    kept, a backup of the old file is written first (`<file>.bak`, then `.bak.1`, ...:
    the first backup is never overwritten), the write is atomic. A config file that is
    a symlink stays one: the write goes to the file it points to."""
    if config.path is None:
        raise ConnectError(f"{config.client} has no config file: run the printed command instead")
    path = config.path
    # Write through a symlink (dotfiles managers link these files): replacing the link
    # with a plain file would silently detach the config from where the user keeps it.
    real = path.resolve() if path.is_symlink() else path
    doc: dict[str, Any] = {}
    backup: Path | None = None
    mode = 0o600
    text: str | None
    if real.exists():
        text = real.read_text(encoding="utf-8")
        mode = real.stat().st_mode & 0o777
        if text.strip():
            try:
                loaded = json.loads(text)
            except ValueError as exc:
                raise ConnectError(
                    f"{path} is not valid JSON ({exc}); fix it or move it away, then retry"
                ) from exc
            if not isinstance(loaded, dict):
                raise ConnectError(f"{path} does not hold a JSON object; fix it, then retry")
            doc = loaded
    else:
        text = None
    servers = doc.get(config.servers_key)
    if servers is None:
        servers = {}
    if not isinstance(servers, dict):
        raise ConnectError(f"{path}: {config.servers_key!r} is not an object; fix it, then retry")
    replaced = config.name in servers
    servers[config.name] = config.entry
    doc[config.servers_key] = servers
    new_text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if text == new_text:
        return WriteResult(path, None, replaced)  # already there: no write, no new backup
    if text is not None:
        backup = _backup_path(path, text)
        if not backup.exists():
            write_atomically(backup, text, mode=mode)
    write_atomically(real, new_text, mode=mode)
    return WriteResult(path, backup, replaced)
