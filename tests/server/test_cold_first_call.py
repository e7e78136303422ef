"""The first call of a cold process, started as an AgentCore microVM starts it.

The deployer's zip of a project (`tests/deploy/projects/tabletool`) is unpacked and run
by the runtime's Python with only the zip and the standard library on its path (`-I -S
-B`: no site-packages, no PYTHON* variables, no bytecode written), each request below
sent to a process of its own, as the first request it gets. The same unpacked packages,
stripped of their bytecode, serve the same `MCPServer` with the SDK's own stateless app.
Status and the parsed JSON-RPC messages must be equal, in both protocol eras; and the kit's
process must have loaded the SDK and the server from the bytecode the zip carries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.deploy.artifact.codezip import build_zip, zip_inputs
from agentcore_mcp.deploy.config import load_config
from tests.support.deploy import PROJECTS
from tests.support.mcp_messages import (
    body_messages,
    init_params,
    modern_headers,
    rpc,
    tool_call,
    with_modern_meta,
)
from tests.support.procs import free_port, mcp_post, terminate, wait_for_port

pytestmark = pytest.mark.slow  # every case starts two cold processes

RUNTIME_PYTHON = getattr(sys, "_base_executable", sys.executable)
SDK_MAIN = """\
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uvicorn
from tabletool.server import mcp
app = mcp.streamable_http_app(stateless_http=True, json_response=True, host="127.0.0.1")
uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""
ROWS = [["naïve", "☕"], ["b", "\u2028"]]
V = "2025-11-25"
Request = tuple[dict[str, Any], dict[str, str]]


def _modern(doc: dict[str, Any], name: str | None = None) -> Request:
    doc = json.loads(json.dumps(doc))
    doc["params"] = with_modern_meta(doc.get("params"), "cold")
    return doc, modern_headers(doc["method"], name)


EXCHANGES: dict[str, list[Request]] = {
    "call-first": [(tool_call("table", {"rows": ROWS}), {"mcp-protocol-version": V})],
    "call-first-no-version-header": [(tool_call("table", {"rows": ROWS}), {})],
    "call-first-bad-arguments": [(tool_call("table", {"rows": "x"}), {"mcp-protocol-version": V})],
    "call-first-unknown-tool": [(tool_call("nope", {}), {"mcp-protocol-version": V})],
    # -32602: the request's own params are invalid (no tool name; arguments not an object).
    "call-first-invalid-params": [
        (rpc("tools/call", {"arguments": {}}), {"mcp-protocol-version": V}),
    ],
    "call-first-arguments-not-an-object": [
        (rpc("tools/call", {"name": "table", "arguments": [1]}), {"mcp-protocol-version": V}),
    ],
    "call-first-2026-07-28": [_modern(tool_call("table", {"rows": ROWS}), "table")],
    "call-first-2026-07-28-unknown-tool": [_modern(tool_call("nope", {}), "nope")],
    "call-first-2026-07-28-bad-arguments": [_modern(tool_call("table", {"rows": 1}), "table")],
    "handshake-then-call": [
        (rpc("initialize", init_params("cold", "1")), {}),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, {"mcp-protocol-version": V}),
        (rpc("tools/list", id_=2), {"mcp-protocol-version": V}),
        (tool_call("table", {"rows": ROWS}, id_=3), {"mcp-protocol-version": V}),
    ],
    "2026-07-28-list-then-call": [
        _modern(rpc("tools/list", id_=2)),
        _modern(tool_call("table", {"rows": ROWS}, id_=3), "table"),
    ],
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The deployer's zip unpacked (kit), and its files without bytecode plus the SDK's
    start script (sdk)."""
    tmp = tmp_path_factory.mktemp("cold")
    built = build_zip(zip_inputs(load_config(PROJECTS / "tabletool")), tmp, lambda _m: None)
    kit = tmp / "kit"
    with zipfile.ZipFile(built.path) as z:
        z.extractall(kit)
    sdk = tmp / "sdk"
    shutil.copytree(kit, sdk, ignore=shutil.ignore_patterns("__pycache__"))
    (sdk / "main.py").unlink()
    (sdk / "sdk_main.py").write_text(SDK_MAIN)
    return {"kit": kit, "sdk": sdk}


@contextmanager
def cold_process(tree: Path, script: str, log_path: Path) -> Iterator[str]:
    """A fresh copy of `tree` (new folders: nothing a former run wrote), run as the
    runtime runs it; the URL of its MCP endpoint."""
    copy = log_path.with_suffix("")
    shutil.copytree(tree, copy, copy_function=os.link)
    port = free_port()
    # -v: the import system says where each module's code came from.
    argv = [RUNTIME_PYTHON, "-I", "-S", "-B", "-v", script]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port)}
    env["HOST"] = "127.0.0.1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log_path, timeout=120)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        terminate(proc)


def _answers(url: str, exchange: list[Request]) -> list[tuple[int, list[Any]]]:
    out = []
    for doc, headers in exchange:
        r = mcp_post(url, doc, headers=headers, timeout=120)
        out.append((r.status_code, body_messages(r.content, r.headers.get("content-type", ""))))
    return out


@pytest.mark.parametrize("case", sorted(EXCHANGES))
def test_first_call_of_a_cold_process_equals_the_sdk(
    trees: dict[str, Path], tmp_path: Path, case: str
) -> None:
    exchange = EXCHANGES[case]
    with cold_process(trees["sdk"], "sdk_main.py", tmp_path / "sdk.log") as url:
        expected = _answers(url, exchange)
    with cold_process(trees["kit"], "main.py", tmp_path / "kit.log") as url:
        got = _answers(url, exchange)
    assert got == expected
    assert all(status in (200, 202) for status, _ in got), got
    if "invalid-params" in case or "not-an-object" in case:
        assert got[0][1][0]["error"]["code"] == -32602, got
    elif case.startswith("call-first") and "unknown" not in case:
        result = got[0][1][0]["result"]
        assert result["isError"] is ("bad" in case)
        if "bad" not in case:
            assert "naïve" in result["content"][0]["text"]
    # The SDK and the server came from the zip's bytecode; nothing of the zip was
    # compiled from source (`-v` says "code object from PATH.py" when it is).
    log = (tmp_path / "kit.log").read_text(errors="replace")
    copy = tmp_path / "kit"
    loaded = [
        line.split("code object from ", 1)[1].strip("'")
        for line in log.splitlines()
        if line.startswith("# code object from ") and str(copy) in line
    ]
    assert not [path for path in loaded if path.endswith(".py")]
    for module in ("mcp_types/_types", "mcp/server/mcpserver/server", "tabletool/server"):
        folder, _, name = module.rpartition("/")
        prefix = f"{copy}/{folder}/__pycache__/{name}.cpython-3"
        assert any(path.startswith(prefix) for path in loaded), module
