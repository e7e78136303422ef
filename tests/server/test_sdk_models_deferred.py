"""The SDK's import builds its pydantic models on first use (`sdk_compat.sdk_models_deferred`).

Each case starts a fresh interpreter (the window only acts while the SDK is not loaded
yet), loads a user's server the way `serve_spec` does, and reports what was deferred,
what was restored, and the answers to a corpus of requests. The answers of a process
that deferred must equal those of one that did not (`MCP_SDK_COMPAT_HIDE`), byte for
byte; `tests/server/test_cold_first_call.py` compares a cold kit against the SDK's own
app end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pydantic
import pytest
from pydantic import type_adapter
from pydantic._internal import _config

from agentcore_mcp.server import sdk_compat
from tests.support.mcp_messages import init_params, modern_headers, rpc, tool_call, with_modern_meta

pytestmark = pytest.mark.slow  # every case imports the SDK in a new interpreter

USER_MODULE = '''
import mcp_types
from pydantic import BaseModel
from mcp.server.mcpserver import MCPServer


class Point(BaseModel):  # a user's model, defined at import: built at once
    x: int
    y: int


class Tagged(mcp_types.TextContent):  # a subclass of a model the SDK deferred
    tag: str = "t"


mcp = MCPServer("deferred")


@mcp.tool()
def move(point: Point, by: int = 1) -> Point:
    """Move a point."""
    return Point(x=point.x + by, y=point.y + by)


@mcp.tool()
def tagged(text: str) -> list[mcp_types.TextContent]:
    return [Tagged(type="text", text=text)]
'''

SCRIPT = """
import asyncio, json, logging, sys
from pydantic import BaseModel, TypeAdapter, type_adapter
from pydantic._internal import _config
from agentcore_mcp.server import sdk_compat

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
mode, requests = sys.argv[1], json.loads(sys.argv[2])
if mode == "unchecked-pydantic":
    sdk_compat.CHECKED_PYDANTIC_VERSIONS = ("0.0.0",)
report = {}
# A failure inside the window (an import error) puts pydantic back as it was.
try:
    with sdk_compat.sdk_models_deferred():
        import agentcore_mcp_no_such_module  # noqa: F401
except ImportError:
    pass
report["restored_after_error"] = (
    _config.config_defaults["defer_build"] is False
    and type_adapter.TypeAdapter.__dict__["_defer_build"].fget.__qualname__
    == "TypeAdapter._defer_build"
)
report["sdk_loaded_before"] = "mcp" in sys.modules

from agentcore_mcp.server.loader import load_server

server = load_server("deferred_app:mcp")
import mcp_types
from mcp_types.jsonrpc import jsonrpc_message_adapter
import deferred_app

report["sdk_model_complete"] = bool(mcp_types.CreateMessageResult.__pydantic_complete__)
report["sdk_adapter_complete"] = bool(jsonrpc_message_adapter.pydantic_complete)
report["user_model_complete"] = bool(deferred_app.Point.__pydantic_complete__)
report["user_subclass_complete"] = bool(deferred_app.Tagged.__pydantic_complete__)
report["restored"] = (
    _config.config_defaults["defer_build"] is False
    and type_adapter.TypeAdapter.__dict__["_defer_build"].fget.__qualname__
    == "TypeAdapter._defer_build"
)


class Later(BaseModel):
    z: int


report["later_model_complete"] = bool(Later.__pydantic_complete__)
report["later_adapter_complete"] = bool(TypeAdapter(list[Later]).pydantic_complete)

from agentcore_mcp.server.app import build_asgi_app
from agentcore_mcp.server.manifest import call_in_process
from agentcore_mcp.server.settings import ServerSettings

app = build_asgi_app(server, ServerSettings())


async def ask():
    answers = []
    async with app.dispatcher.lifespan():
        for doc, headers in requests:
            status, _, body = await call_in_process(
                app,
                json.dumps(doc).encode(),
                [(b"accept", b"application/json, text/event-stream")]
                + [(k.encode(), v.encode()) for k, v in headers.items()],
                "/mcp",
            )
            answers.append([status, body.decode()])
    return answers


report["answers"] = asyncio.run(ask())
report["sdk_model_complete_after"] = bool(mcp_types.CallToolResult.__pydantic_complete__)
print(json.dumps(report))
"""

V = "2025-11-25"


def _modern(doc: dict[str, Any], name: str | None = None) -> list[Any]:
    doc = json.loads(json.dumps(doc))
    doc["params"] = with_modern_meta(doc.get("params"), "deferred")
    return [doc, modern_headers(doc["method"], name)]


# Every request is the first of its method in the process: each answer is the one a
# model built on first use gives.
REQUESTS: list[list[Any]] = [
    [rpc("initialize", init_params("deferred", "1")), {}],
    [rpc("tools/list", id_=2), {"mcp-protocol-version": V}],
    [tool_call("move", {"point": {"x": 1, "y": 2}}, id_=3), {"mcp-protocol-version": V}],
    [tool_call("move", {"point": {"x": "a"}}, id_=4), {"mcp-protocol-version": V}],
    [tool_call("tagged", {"text": "naïve\u2028"}, id_=5), {"mcp-protocol-version": V}],
    [tool_call("nope", {}, id_=6), {"mcp-protocol-version": V}],
    [rpc("tools/call", {"arguments": {}}, id_=7), {"mcp-protocol-version": V}],
    [rpc("tools/call", {"name": "move", "arguments": [1]}, id_=8), {"mcp-protocol-version": V}],
    [rpc("prompts/get", {"name": "none"}, id_=9), {"mcp-protocol-version": V}],
    _modern(rpc("tools/list", id_=10)),
    _modern(tool_call("move", {"point": {"x": 1, "y": 2}}, id_=11), "move"),
    _modern(tool_call("move", {"point": 3}, id_=12), "move"),
    _modern(tool_call("nope", {}, id_=13), "nope"),
]


def _run(tmp_path: Path, mode: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "deferred_app.py").write_text(USER_MODULE, encoding="utf-8")
    child_env = {k: v for k, v in os.environ.items() if k != sdk_compat.HIDE_ENV}
    child_env.update(env or {})
    child_env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, json.dumps(REQUESTS)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["log"] = done.stderr
    return report


def test_the_sdk_models_build_on_first_use_and_answer_as_if_built_at_import(
    tmp_path: Path,
) -> None:
    deferred = _run(tmp_path / "deferred", "default")
    built = _run(tmp_path / "built", "default", {sdk_compat.HIDE_ENV: sdk_compat.PYDANTIC_DEFER})
    assert not deferred["sdk_loaded_before"]
    # The SDK's models and adapters were deferred; the user's, and anything defined
    # after the window, were built at once; pydantic was put back as it was.
    assert deferred["sdk_model_complete"] is False
    assert deferred["sdk_adapter_complete"] is False
    assert deferred["user_model_complete"] is True
    assert deferred["user_subclass_complete"] is True
    assert deferred["later_model_complete"] is True
    assert deferred["later_adapter_complete"] is True
    assert deferred["restored"] is True
    assert deferred["restored_after_error"] is True
    # The first use built it.
    assert deferred["sdk_model_complete_after"] is True
    # Switched off, the import builds everything as it always did.
    assert built["sdk_model_complete"] is True
    assert built["sdk_adapter_complete"] is True
    assert "hides pydantic.defer_build" in built["log"]
    # The same answers, byte for byte, to every request of the corpus.
    assert deferred["answers"] == built["answers"]
    statuses = [status for status, _ in deferred["answers"]]
    assert statuses.count(200) >= 10, deferred["answers"]
    bodies = "\n".join(body for _, body in deferred["answers"])
    assert '"structuredContent":{"x":2,"y":3}' in bodies
    assert '"code":-32602' in bodies
    assert "Unknown tool" in bodies or "nope" in bodies


def test_an_unchecked_pydantic_imports_the_sdk_as_before(tmp_path: Path) -> None:
    report = _run(tmp_path, "unchecked-pydantic")
    assert report["sdk_model_complete"] is True
    assert report["sdk_adapter_complete"] is True
    assert report["restored"] is True
    assert f"pydantic {pydantic.VERSION} is not one of 0.0.0" in report["log"]


def test_the_pydantic_internals_were_checked_against_the_installed_pydantic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(sdk_compat.HIDE_ENV, raising=False)
    assert pydantic.VERSION in sdk_compat.CHECKED_PYDANTIC_VERSIONS, (
        f"pydantic {pydantic.VERSION}: check sdk_compat.sdk_models_deferred against it "
        "(run this file and tests/server/test_cold_first_call.py) and add it to "
        "CHECKED_PYDANTIC_VERSIONS"
    )
    assert sdk_compat.pydantic_defer_usable() is None


def test_a_missing_pydantic_internal_turns_the_deferral_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(sdk_compat.HIDE_ENV, raising=False)
    monkeypatch.delitem(_config.config_defaults, "defer_build")
    assert "config_defaults has no defer_build" in (sdk_compat.pydantic_defer_usable() or "")
    monkeypatch.undo()
    monkeypatch.delenv(sdk_compat.HIDE_ENV, raising=False)
    monkeypatch.setattr(type_adapter.TypeAdapter, "_defer_build", False)
    assert "TypeAdapter has no _defer_build" in (sdk_compat.pydantic_defer_usable() or "")
