"""The proxy forwards bytes and signs them itself: it starts, and runs, without importing
the `mcp` SDK (most of a second of CPU for every client launch, Claude Desktop's or
Inspector's). What it took from the SDK is kept equal to the SDK's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mcp.shared.inbound import encode_header_value as sdk_encode_header_value

from agentcore_mcp.proxy.stdio import encode_header_value, routing_headers
from tests.support.procs import REPO

SDK_ROOTS = ("mcp", "mcp_types")


def test_the_proxy_and_test_auth_paths_do_not_import_the_sdk() -> None:
    code = (
        "import sys, json\n"
        "import agentcore_mcp.cli, agentcore_mcp.cli.proxy, agentcore_mcp.cli.test_auth\n"
        "import agentcore_mcp.proxy, agentcore_mcp.proxy.stdio, agentcore_mcp.proxy.http\n"
        "import agentcore_mcp.client.probe\n"
        "from agentcore_mcp.proxy.stdio import routing_headers\n"
        "meta = {'io.modelcontextprotocol/protocolVersion': '2026-07-28'}\n"
        "routing_headers({'method': 'tools/call', 'params': {'name': 'é', '_meta': meta}}, None)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {SDK_ROOTS!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    "value",
    [
        "",
        "echo",
        "get_weather",
        "file:///tmp/a b.txt",
        " leading",
        "trailing ",
        "\ttab",
        "line\nbreak",
        "naïve",
        "天気",
        "emoji 🙂",
        "=?base64?Zm9v?=",
        "=?base64?",
        "?=",
        "\x7f",
        "\x85",
        "~" * 300,
    ],
)
def test_header_encoding_matches_the_sdk(value: str) -> None:
    assert encode_header_value(value) == sdk_encode_header_value(value)


def test_routing_headers_carry_the_encoded_name() -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    doc = {"method": "tools/call", "params": {"name": "天気", "_meta": meta}}
    headers = routing_headers(doc, None)
    assert headers == {
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": sdk_encode_header_value("天気"),
    }
    assert headers["mcp-name"].startswith("=?base64?")
