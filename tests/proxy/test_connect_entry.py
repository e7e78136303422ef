"""The entry `connect --write` puts in a client's config runs as written: the official
client launches its command, with the user's credentials only in the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.client._runtimes import Deployed
from tests.proxy.test_proxy_stdio import oauth_args


async def test_written_cursor_entry_connects_with_both_methods(
    deployed: Deployed, tmp_path: Path
) -> None:
    env = deployed.env(HOME=str(tmp_path))
    for args in (
        ("--arn", deployed.sigv4_arn, "--entry-name", "sig"),
        (*oauth_args(deployed), "--entry-name", "oa"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "agentcore_mcp", "connect", "--client", "cursor", "--write",
             *args],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
    config = json.loads((tmp_path / ".cursor/mcp.json").read_text())
    assert deployed.local.url in json.dumps(config)  # the endpoint, never a credential
    assert "local-test-secret" not in json.dumps(config)
    for name in ("sig", "oa"):
        entry = config["mcpServers"][name]
        # What Cursor does: the entry's command, args and env, over the user's environment.
        params = StdioServerParameters(
            command=entry["command"], args=entry["args"], env={**env, **entry.get("env", {})}
        )
        with (tmp_path / "err").open("a") as err:
            async with Client(stdio_client(params, errlog=err), mode="legacy") as client:
                result = await client.call_tool("echo", {"text": f"from {name}"})
        assert result.content[0].text == f"from {name}"  # type: ignore[union-attr]
