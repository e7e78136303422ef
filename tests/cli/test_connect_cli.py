"""`agentcore-mcp connect`: entries for every client, written into a temporary HOME with
the existing entries kept, a backup, and never a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/my_server-AbCdEf1234"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PATHS = {
    "claude-desktop": (".config/Claude/claude_desktop_config.json", "mcpServers"),
    "claude-code": (".claude.json", "mcpServers"),
    "cursor": (".cursor/mcp.json", "mcpServers"),
    "vscode": (".config/Code/User/mcp.json", "servers"),
    "kiro": (".kiro/settings/mcp.json", "mcpServers"),
}


def connect(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XDG_"))}
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEKEY000001",
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SESSION_TOKEN="session-token-value",
        AGENTCORE_BEARER_TOKEN="eyJhbGciOiJSUzI1NiJ9.e30.sig",
        AWS_PROFILE="dev",
    )
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "connect", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("client", sorted(PATHS))
def test_write_merges_keeps_others_and_backs_up(tmp_path: Path, client: str) -> None:
    rel, key = PATHS[client]
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = {"theme": "dark", key: {"other": {"command": "other-server", "args": []}}}
    path.write_text(json.dumps(existing))
    out = connect(tmp_path, "--client", client, "--arn", ARN, "--write")
    assert out.returncode == 0, out.stderr
    written = json.loads(path.read_text())
    assert written["theme"] == "dark"
    assert written[key]["other"] == existing[key]["other"]
    entry = written[key]["agentcore-my_server"]
    assert entry["args"][-7:] == [
        "proxy", "--stdio", "--arn", ARN, "--region", "us-east-1", "--sigv4",
    ] or "--profile" in entry["args"]  # fmt: skip
    assert entry["env"] == {"AWS_PROFILE": "dev"}
    assert json.loads(path.with_name(path.name + ".bak").read_text()) == existing
    text = path.read_text()
    for secret in (SECRET, "session-token-value", "eyJhbGci", "AKIAEXAMPLEKEY000001"):
        assert secret not in text
    again = connect(tmp_path, "--client", client, "--arn", ARN, "--write", "--oauth",
                    "--client-id", "abc123", "--user-secret-id", "mcp/user")  # fmt: skip
    assert again.returncode == 0 and "replaced" in again.stdout
    entry = json.loads(path.read_text())[key]["agentcore-my_server"]
    assert entry["args"][-5:] == ["--oauth", "--client-id", "abc123", "--user-secret-id",
                                  "mcp/user"]  # fmt: skip


def test_print_only_and_inspector_command_line(tmp_path: Path) -> None:
    out = connect(tmp_path, "--client", "cursor", "--arn", ARN)
    assert out.returncode == 0, out.stderr
    assert '"mcpServers"' in out.stdout and not (tmp_path / ".cursor").exists()
    inspector = connect(tmp_path, "--client", "inspector", "--arn", ARN)
    assert inspector.returncode == 0, inspector.stderr
    assert "npx -y @modelcontextprotocol/inspector" in inspector.stdout
    assert "proxy --stdio --arn" in inspector.stdout and "proxy --port 8765" in inspector.stdout
    doc = json.loads(connect(tmp_path, "--client", "vscode", "--arn", ARN, "--json").stdout)
    assert doc["config"]["servers"]["agentcore-my_server"]["type"] == "stdio"


def test_bad_config_is_left_alone_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".cursor/mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    out = connect(tmp_path, "--client", "cursor", "--arn", ARN, "--write")
    assert out.returncode == 6
    assert "not valid JSON" in out.stderr and "fix it" in out.stderr
    assert path.read_text() == "{ not json"
    unknown = connect(tmp_path, "--client", "emacs", "--arn", ARN)
    assert unknown.returncode == 2


def test_a_runtime_on_a_local_agentcore_is_named_by_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ARN alone would send the proxy to AWS's endpoint; a local runtime keeps its URL."""
    from agentcore_mcp.client.runtime import invocation_url, target_from_arn, target_from_url
    from agentcore_mcp.connect import proxy_args

    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/srv-AbCdEf1234"
    local_url = invocation_url(arn, "us-east-1", endpoint="http://127.0.0.1:8700")
    local = proxy_args(target_from_url(local_url, region="us-east-1"))
    assert local[local.index("--url") + 1] == local_url and "--arn" not in local
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE"):
        monkeypatch.delenv(name, raising=False)
    on_aws = proxy_args(target_from_arn(arn))
    assert on_aws[on_aws.index("--arn") + 1] == arn and "--url" not in on_aws


def test_second_write_keeps_the_first_backup_and_a_symlink_stays_one(tmp_path: Path) -> None:
    """The first backup holds the user's original and is never overwritten; a config that
    is a symlink (dotfiles) is written through, and stays a symlink."""
    dotfiles = tmp_path / "dotfiles" / "cursor.json"
    dotfiles.parent.mkdir()
    original = {"mcpServers": {"mine": {"command": "mine", "args": []}}}
    dotfiles.write_text(json.dumps(original))
    link = tmp_path / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(dotfiles)
    first = connect(tmp_path, "--client", "cursor", "--arn", ARN, "--write")
    assert first.returncode == 0, first.stderr
    assert link.is_symlink() and link.resolve() == dotfiles.resolve()
    assert "agentcore-my_server" in json.loads(dotfiles.read_text())["mcpServers"]
    backup = link.with_name("mcp.json.bak")
    assert json.loads(backup.read_text()) == original
    other = ARN.replace("my_server", "other_srv")
    second = connect(tmp_path, "--client", "cursor", "--arn", other, "--write", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(backup.read_text()) == original  # the original backup is kept
    numbered = link.with_name("mcp.json.bak.1")
    assert json.loads(second.stdout)["backup"] == str(numbered)
    assert "agentcore-my_server" in json.loads(numbered.read_text())["mcpServers"]
    assert link.is_symlink()
    written = json.loads(dotfiles.read_text())["mcpServers"]
    assert set(written) == {"mine", "agentcore-my_server", "agentcore-other_srv"}
    # Writing the same entry again changes nothing and adds no third backup.
    again = connect(tmp_path, "--client", "cursor", "--arn", other, "--write")
    assert again.returncode == 0, again.stderr
    assert not link.with_name("mcp.json.bak.2").exists()


def test_name_is_the_deployment_and_entry_name_names_the_entry(tmp_path: Path) -> None:
    """`--name` picks a deployment (as on every command); with --arn it has nothing to
    pick, and the note says the entry's name is now --entry-name."""
    out = connect(tmp_path, "--client", "cursor", "--arn", ARN, "--name", "mine", "--json")
    assert out.returncode == 0, out.stderr
    assert "--entry-name" in out.stderr
    assert list(json.loads(out.stdout)["config"]["mcpServers"]) == ["agentcore-my_server"]
    named = connect(tmp_path, "--client", "cursor", "--arn", ARN, "--entry-name", "mine", "--json")
    assert list(json.loads(named.stdout)["config"]["mcpServers"]) == ["mine"]
