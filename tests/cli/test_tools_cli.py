"""`agentcore-mcp tools list|call` as a user runs it: a real CLI process against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from agentcore_mcp.cli import app
from tests.support.procs import free_port


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The same CLI (typer app, its error handler, the library call) without a new Python:
    for variants of a behaviour whose end-to-end run is a `cli()` subprocess in this file."""
    result = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(
        list(args), result.exit_code, stdout=result.stdout, stderr=result.stderr
    )


def test_list_human_and_json(mcp_url: str) -> None:
    human = cli("tools", "list", "--url", mcp_url)
    assert human.returncode == 0, human.stderr
    assert "echo" in human.stdout and "web_search" in human.stdout
    out = cli_in_process("tools", "list", "--url", mcp_url, "--json")  # --json: see "auto" below
    assert out.returncode == 0
    tools = json.loads(out.stdout)
    assert {t["name"] for t in tools} >= {"echo", "add", "fail"}
    assert all("inputSchema" in t for t in tools)


@pytest.mark.parametrize(
    ("protocol", "run"),
    [("handshake", cli_in_process), ("2026-07-28", cli_in_process), ("auto", cli)],
)
def test_call_with_args_json_and_pairs(
    mcp_url: str, protocol: str, run: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    out = run(
        "tools",
        "call",
        "add",
        "--url",
        mcp_url,
        "--args",
        '{"a": 1}',
        "-a",
        "b=2.5",
        "--json",
        "--protocol",
        protocol,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["structuredContent"] == {"result": 3.5}
    assert result["isError"] is False


def test_call_text_output(mcp_url: str) -> None:
    out = cli("tools", "call", "echo", "-a", "text=hello there", "--url", mcp_url)
    assert out.returncode == 0
    assert out.stdout.strip() == "hello there"


def test_tool_error_exits_1(mcp_url: str) -> None:
    out = cli("tools", "call", "fail", "-a", "message=nope", "--url", mcp_url, "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["isError"] is True
    # The tool's own message, on stderr, in --json mode too.
    assert "error: the tool 'fail' failed:" in out.stderr and "nope" in out.stderr
    human = cli_in_process(
        "tools", "call", "fail", "-a", "message=[bold]text[/bold]", "--url", mcp_url
    )
    assert human.returncode == 1
    assert "[bold]text[/bold]" in human.stderr  # text, never read as Rich markup


def test_progress_printed_on_stderr(mcp_url: str) -> None:
    out = cli(
        "tools",
        "call",
        "long_task",
        "-a",
        "steps=2",
        "-a",
        "interval_seconds=0.05",
        "--url",
        mcp_url,
    )
    assert out.returncode == 0
    assert "progress 1/2" in out.stderr and "progress 2/2" in out.stderr
    assert out.stdout.strip() == "completed 2 steps"


def test_debug_prints_http_exchange_without_secrets(mcp_url: str) -> None:
    out = cli(
        "tools",
        "call",
        "echo",
        "-a",
        "text=x",
        "--url",
        mcp_url,
        "--debug",
        "-H",
        "Authorization: Bearer super-secret-token",
    )
    assert out.returncode == 0, out.stderr
    assert f"> POST {mcp_url}" in out.stderr
    assert "< 200 OK" in out.stderr
    assert '"method":"tools/call"' in out.stderr.replace(" ", "")
    assert "super-secret-token" not in out.stderr
    assert "Bearer <redacted>" in out.stderr


def test_connection_error_exits_4() -> None:
    out = cli("tools", "list", "--url", f"http://127.0.0.1:{free_port()}/mcp")
    assert out.returncode == 4
    assert "cannot reach" in out.stderr


def test_http_error_exits_nonzero(mcp_url: str) -> None:
    out = cli("tools", "list", "--url", mcp_url.replace("/mcp", "/wrong"))
    assert out.returncode == 3


def test_bad_args_is_usage_error(mcp_url: str) -> None:
    # In-process: test_protocol_legacy_is_a_usage_error runs a usage error end to end.
    out = cli_in_process("tools", "call", "echo", "--args", "[1,2]", "--url", mcp_url)
    assert out.returncode == 2
    assert "--args must be a JSON object" in out.stderr


def test_help_has_examples() -> None:
    out = cli_in_process("tools", "call", "--help")
    assert out.returncode == 0
    assert "Examples" in out.stdout


def test_protocol_legacy_is_a_usage_error(mcp_url: str) -> None:
    """`--protocol legacy` is not a choice (the handshake era is `handshake`)."""
    out = cli("tools", "call", "echo", "-a", "text=hi", "--url", mcp_url, "--protocol", "legacy")
    assert out.returncode == 2, out.stderr
    assert "auto, handshake or 2026-07-28" in out.stderr
    assert out.stdout == ""


def test_serve_bad_server_spec_is_config_error() -> None:
    out = cli("serve", "no_such_module_xyz:app", "--port", str(free_port()))
    assert out.returncode == 6
    assert "cannot import" in out.stderr


def test_serve_user_server(tmp_path: object) -> None:
    """`serve module:attr` serves a user's own MCPServer the same way."""
    from pathlib import Path

    from tests.support.procs import mcp_post, run_mcp_server

    with run_mcp_server(Path(str(tmp_path)), "tests.support.user_app:mcp") as srv:
        r = mcp_post(
            f"{srv.base_url}/mcp/",
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "shout", "arguments": {"text": "hi"}},
            },
            headers={"mcp-protocol-version": "2025-11-25"},
        )
        assert r.json()["result"]["content"][0]["text"] == "HI!"


def test_lean_server_entry_serves_and_rejects_bad_server_spec(tmp_path: object) -> None:
    """`python -m agentcore_mcp.server` (the container entry point) is the same server."""
    import os
    import signal
    from pathlib import Path

    from tests.support.procs import mcp_post, run_process

    bad = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp.server", "nope_module:x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 6 and "cannot import" in bad.stderr
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    argv = [sys.executable, "-m", "agentcore_mcp.server"]
    with run_process(argv, port=port, tmp_path=Path(str(tmp_path)), env=env, name="lean") as srv:
        r = mcp_post(f"{srv.base_url}/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert "echo" in {t["name"] for t in r.json()["result"]["tools"]}
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
    assert "listening on" in srv.log()


# A stateful MCP server (gives an Mcp-Session-Id, as a proxy or a stateful SDK server
# does): it appends "DELETE <session id>" to the file $MARK when a client ends its session.
STATEFUL_MAIN = """
import json, os, pathlib, uvicorn

SESSION = "stateful-session-0123456789abcdef0123456789"

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    if scope["method"] == "DELETE":
        with pathlib.Path(os.environ["MARK"]).open("a") as mark:
            mark.write("DELETE " + headers.get(b"mcp-session-id", b"").decode() + "\\n")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    request = json.loads(body)
    if "id" not in request:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    result = {"tools": [{"name": "stateful_echo", "inputSchema": {"type": "object"}}]}
    if request["method"] == "initialize":
        result = {"protocolVersion": request["params"]["protocolVersion"], "capabilities":
                  {"tools": {}}, "serverInfo": {"name": "stateful", "version": "1"}}
    out = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"mcp-session-id", SESSION.encode())]})
    await send({"type": "http.response.body", "body": out})

uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""


def test_one_shot_call_ends_its_mcp_session_with_delete(tmp_path: object) -> None:
    """Against a plain MCP URL whose server keeps sessions, `tools list` ends its session
    (MCP DELETE with the Mcp-Session-Id) instead of leaving it to the server's timeout."""
    from pathlib import Path

    from tests.support.procs import run_process, wait_for_file

    tmp = Path(str(tmp_path))
    script = tmp / "stateful.py"
    script.write_text(STATEFUL_MAIN)
    mark = tmp / "deleted.txt"
    port = free_port()
    env = {"PORT": str(port), "MARK": str(mark)}
    with run_process([sys.executable, str(script)], port=port, tmp_path=tmp, env=env) as srv:
        out = cli("tools", "list", "--url", f"{srv.base_url}/mcp", "--protocol", "handshake")
        assert out.returncode == 0, out.stderr
        assert "stateful_echo" in out.stdout
        assert wait_for_file(mark, timeout=10) == (
            "DELETE stateful-session-0123456789abcdef0123456789\n"
        )
