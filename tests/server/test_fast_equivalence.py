"""The fast path answers exactly as the SDK's stateless transport does.

Two processes serve the same sample server: one with the fast dispatcher (the default), one
with MCP_DISPATCHER=sdk. Every request of the corpus goes to both; status, content
type and the parsed JSON-RPC messages must be equal, field by field.

The corpus runs one test per request against both apps in this process (the same ASGI
apps `agentcore-mcp serve` builds, called through `call_in_process`), and once whole,
over real sockets, against the two server processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from agentcore_mcp.server.app import McpFront, build_asgi_app
from agentcore_mcp.server.manifest import call_in_process
from agentcore_mcp.server.sample import build_sample_server
from agentcore_mcp.server.settings import ServerSettings
from tests.support.mcp_messages import (
    MODERN,
    caller_stays,
    messages,
    modern_headers,
    rpc,
    tool_call,
    with_modern_meta,
)
from tests.support.procs import RunningProcess, run_mcp_server

UNICODE = "naïve café ☕ 日本語 \U0001f600 \u0085 \u2028 \u2029 \x00 end"


def modern(
    doc: dict[str, Any], *, name: str | None = None, method: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    doc = json.loads(json.dumps(doc))
    doc["params"] = with_modern_meta(doc.get("params"), "eq")
    return doc, modern_headers(method or doc["method"], name)


TOOL_CASES: list[tuple[str, Any]] = [
    ("echo", {"text": "hello"}),
    ("echo", {"text": UNICODE}),
    ("echo", {"text": "x" * 1_000_000}),
    ("echo", {}),
    ("echo", {"text": 42}),
    ("echo", None),
    ("add", {"a": 1, "b": 2.5}),
    ("add", {"a": "1", "b": 2}),
    ("add", {"a": "one", "b": 2}),
    ("add", {"a": 1, "b": 2, "extra": True}),
    ("text_stats", {"text": "one two\nthree"}),
    ("text_stats", {"text": UNICODE}),
    ("fail", {}),
    ("fail", {"message": "custom " + UNICODE}),
    ("blob", {"size_bytes": 0}),
    ("blob", {"size_bytes": 3 * 1024 * 1024}),
    ("blob", {"size_bytes": -1}),
    ("long_task", {"steps": 1, "interval_seconds": 0}),
    ("long_task", {"steps": 0}),
    ("web_search", {"query": "anything"}),
    ("web_search", {"query": ""}),
    ("no_such_tool", {}),
]


def corpus() -> Iterator[tuple[str, bytes, dict[str, str]]]:
    for version in (None, "2025-03-26", "2025-06-18", "2025-11-25"):
        h = {"mcp-protocol-version": version} if version else {}
        tag = version or "no-header"
        for i, (name, args) in enumerate(TOOL_CASES):
            yield f"{tag}:call:{name}:{i}", json.dumps(tool_call(name, args)).encode(), h
        yield f"{tag}:ping", json.dumps(rpc("ping")).encode(), h
        yield f"{tag}:ping-meta", json.dumps(rpc("ping", {"_meta": {"k": 1}})).encode(), h
        yield f"{tag}:ping-bad-params", json.dumps(rpc("ping", {"x": 1})).encode(), h
        yield f"{tag}:list", json.dumps(rpc("tools/list")).encode(), h
        yield f"{tag}:list-empty-params", json.dumps(rpc("tools/list", {})).encode(), h
        yield f"{tag}:list-cursor", json.dumps(rpc("tools/list", {"cursor": "abc"})).encode(), h
        yield f"{tag}:unknown-method", json.dumps(rpc("no/such")).encode(), h
        yield f"{tag}:call-no-name", json.dumps(rpc("tools/call", {"arguments": {}})).encode(), h
        yield (
            f"{tag}:call-args-list",
            json.dumps(rpc("tools/call", {"name": "echo", "arguments": [1]})).encode(),
            h,
        )
        yield (
            f"{tag}:call-extra-param",
            json.dumps(tool_call("echo", {"text": "x"}, requestState="zz")).encode(),
            h,
        )
        yield (
            f"{tag}:call-progress-token",
            json.dumps(tool_call("echo", {"text": "p"}, _meta={"progressToken": 5})).encode(),
            h,
        )
        yield (
            f"{tag}:string-id",
            json.dumps(tool_call("echo", {"text": "s"}) | {"id": "abc"}).encode(),
            h,
        )
        yield (
            f"{tag}:notification",
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
            h,
        )
        yield (
            f"{tag}:cancel-notification",
            json.dumps(
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
            ).encode(),
            h,
        )
        yield f"{tag}:malformed", b"{oops", h
        yield (
            f"{tag}:initialize",
            json.dumps(
                rpc(
                    "initialize",
                    {
                        "protocolVersion": version or "2025-06-18",
                        "capabilities": {},
                        "clientInfo": {"name": "e", "version": "1"},
                    },
                )
            ).encode(),
            h,
        )
    yield (
        "unsupported-version",
        json.dumps(rpc("ping")).encode(),
        {"mcp-protocol-version": "1999-01-01"},
    )
    for i, (name, args) in enumerate(TOOL_CASES):
        doc, h = modern(tool_call(name, args), name=name)
        yield f"modern:call:{name}:{i}", json.dumps(doc).encode(), h
    for label, doc, hdr in [
        ("ping", *modern(rpc("ping"))),
        ("list", *modern(rpc("tools/list"))),
        ("discover", *modern(rpc("server/discover"))),
        ("name-mismatch", *modern(tool_call("echo", {"text": "x"}), name="add")),
        ("name-missing", *modern(tool_call("echo", {"text": "x"}))),
        (
            "method-mismatch",
            *modern(tool_call("echo", {"text": "x"}), name="echo", method="tools/list"),
        ),
    ]:
        yield f"modern:{label}", json.dumps(doc).encode(), hdr
    no_caps, h = modern(rpc("ping"))
    del no_caps["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]
    yield "modern:missing-capabilities", json.dumps(no_caps).encode(), h
    wrong_v, h = modern(rpc("ping"))
    wrong_v["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2025-11-25"
    yield "modern:meta-version-mismatch", json.dumps(wrong_v).encode(), h


CASES = list(corpus())
# Requests the fast path must answer itself (the rest may go to the SDK).
FAST_LABELS = {
    "call:echo:0",
    "call:echo:1",
    "call:echo:2",
    "call:echo:3",
    "call:echo:4",
    "call:add:6",
    "call:add:7",
    "call:text_stats:10",
    "call:fail:12",
    "call:blob:15",
    "call:web_search:19",
    "ping",
    "list",
    "list-empty-params",
    "call-progress-token",
    "string-id",
    "notification",
}


MODES = ["auto", "sse"]
# What both servers of a pair run with, besides MCP_RESPONSE_MODE and MCP_DISPATCHER. No
# OpenAI key: web_search answers its tool error without reaching the network. LOG_LEVEL=
# debug: the fast path marks its answers (`ServerSettings.log_level`), so the test sees
# which path ran.
SERVER_ENV = {"OPENAI_API_KEY": "", "OPENAI_API_KEY_SECRET_ID": "", "LOG_LEVEL": "debug"}
BASE_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def server_env(mode: str, dispatcher: str) -> dict[str, str]:
    return {**SERVER_ENV, "MCP_RESPONSE_MODE": mode, "MCP_DISPATCHER": dispatcher}


@pytest.fixture(scope="module", params=MODES)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProcess, RunningProcess]]:
    """Both dispatchers as real `agentcore-mcp serve` processes."""
    mode = request.param
    base: Path = tmp_path_factory.mktemp(f"eq-{mode}")
    (base / "fast").mkdir()
    (base / "sdk").mkdir()
    with (
        run_mcp_server(base / "fast", env=server_env(mode, "fast")) as fast,
        run_mcp_server(base / "sdk", env=server_env(mode, "sdk")) as sdk,
    ):
        yield fast, sdk


class InProcessPair:
    """Both dispatchers' apps in this process, served on one event loop (a portal thread).

    Built as `agentcore-mcp serve` builds them: the sample server and `ServerSettings`
    read from the environment a `pair` process gets. Shared by the module like the
    processes were, so that later requests meet what earlier ones taught the fast path.
    """

    def __init__(self, portal: BlockingPortal, fronts: list[McpFront]) -> None:
        self.portal = portal
        self.fronts = fronts

    def post(self, body: bytes, headers: dict[str, str]) -> list[httpx2.Response]:
        """The same POST to the fast app, then the SDK app, as `httpx2.post` would send it."""
        # `call_in_process` adds host, content type and length.
        raw = [
            (k.encode(), v.encode())
            for k, v in {**BASE_HEADERS, **headers}.items()
            if k != "content-type"
        ]
        answers = []
        for front in self.fronts:
            status, response_headers, payload = self.portal.call(
                call_in_process, front, body, raw, front.settings.path
            )
            answers.append(httpx2.Response(status, headers=response_headers, content=payload))
        return answers


@pytest.fixture(scope="module", params=MODES)
def local_pair(request: pytest.FixtureRequest) -> Iterator[InProcessPair]:
    """The `pair` of the same mode, in process, both dispatchers' lifespans entered."""
    mode = request.param
    with pytest.MonkeyPatch.context() as env:
        # web_search reads its key from the environment on each call.
        for name in ("OPENAI_API_KEY", "OPENAI_API_KEY_SECRET_ID"):
            env.setenv(name, SERVER_ENV[name])
        fronts = []
        for dispatcher in ("fast", "sdk"):
            settings = ServerSettings.from_env({**os.environ, **server_env(mode, dispatcher)})
            front = build_asgi_app(build_sample_server(), settings)
            assert isinstance(front, McpFront)
            assert front.settings.log_level == "debug"
            fronts.append(front)
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(fronts[0].dispatcher.lifespan()),
            portal.wrap_async_context_manager(fronts[1].dispatcher.lifespan()),
        ):
            yield InProcessPair(portal, fronts)


def assert_same_answer(label: str, f: httpx2.Response, s: httpx2.Response) -> None:
    """The fast server's answer `f` is the SDK server's `s`; the fast path gave it when
    it should have."""
    assert f.status_code == s.status_code, (label, f.text[:300], s.text[:300])
    assert (
        f.headers.get("content-type", "").split(";")[0]
        == s.headers.get("content-type", "").split(";")[0]
    )
    assert messages(f) == messages(s), label
    assert "x-agentcore-mcp-dispatch" not in s.headers
    # ping no longer exists at 2026-07-28: the SDK answers it (METHOD_NOT_FOUND).
    if label.split(":", 1)[-1] in FAST_LABELS and label != "modern:ping":
        assert f.headers.get("x-agentcore-mcp-dispatch") == "fast", label
    for ch in ("\u0085", "\u2028", "\u2029"):
        assert ch.encode() not in f.content


@pytest.mark.parametrize(("label", "body", "headers"), CASES, ids=[c[0] for c in CASES])
def test_same_answer(
    local_pair: InProcessPair, label: str, body: bytes, headers: dict[str, str]
) -> None:
    f, s = local_pair.post(body, headers)
    assert_same_answer(label, f, s)


def test_same_answer_end_to_end(pair: tuple[RunningProcess, RunningProcess]) -> None:
    """The whole corpus over real sockets, to the two `agentcore-mcp serve` processes."""
    fast, sdk = pair
    with httpx2.Client(timeout=60) as to_fast, httpx2.Client(timeout=60) as to_sdk:
        for label, body, headers in CASES:
            f, s = (
                client.post(
                    f"{srv.base_url}/mcp", content=body, headers={**BASE_HEADERS, **headers}
                )
                for client, srv in ((to_fast, fast), (to_sdk, sdk))
            )
            assert_same_answer(label, f, s)


@pytest.mark.parametrize(
    "version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", MODERN]
)
def test_repeated_results_of_one_shape_stay_equal(local_pair: InProcessPair, version: str) -> None:
    """The fast path learns the SDK's serialization per result shape: later results of
    the same shape (different values) must still match the SDK's."""
    for i, (name, args) in enumerate(
        [("echo", {"text": f"value {n} {UNICODE}"}) for n in range(4)]
        + [("text_stats", {"text": "a b " * n}) for n in range(3)]
        + [("fail", {"message": f"m{n}"}) for n in range(3)]
    ):
        if version == MODERN:
            doc, headers = modern(tool_call(name, args), name=name)
        else:
            doc, headers = tool_call(name, args), {"mcp-protocol-version": version}
        doc["id"] = i
        # The body bytes `httpx2.post(json=doc)` sends.
        body = httpx2.Request("POST", "http://127.0.0.1/mcp", json=doc).content
        f, s = local_pair.post(body, headers)
        assert f.status_code == s.status_code
        assert messages(f) == messages(s), (version, name, args)
        assert f.headers.get("x-agentcore-mcp-dispatch") == "fast"


async def test_str_shortcut_across_rechecks_matches_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, with `RECHECK` lowered so both re-checks come round often: `str` results
    answered from the short-cut's pre-dumped form (with a learned plan, at a serializer
    re-check, at the short-cut's own re-check against `convert_result`) are the SDK's
    answers, for every version and for structured and unstructured `str` outputs; and,
    byte for byte (key order included), what the fast path gives without the short-cut."""
    from agentcore_mcp.server.fast import CallResultSerializer, FastDispatcher, QuickText
    from agentcore_mcp.server.front import InboundRequest
    from agentcore_mcp.server.sample import build_sample_server
    from agentcore_mcp.server.settings import ServerSettings
    from agentcore_mcp.server.wire import parse_envelope

    monkeypatch.setattr(CallResultSerializer, "RECHECK", 5)
    server = build_sample_server()

    @server.tool(structured_output=False)
    def plain(text: str) -> str:
        return text

    dispatcher = FastDispatcher(server, ServerSettings(response_mode="json"))
    # The same fast path with every result converted by the SDK's `convert_result`.
    reference = FastDispatcher(server, ServerSettings(response_mode="json"))
    monkeypatch.setattr(
        reference.tools, "_convert", lambda tool, result: tool.fn_metadata.convert_result(result)
    )
    serializer = dispatcher.call_results
    to_sdk = serializer._serialize
    # Which way each short-cut result went: through the SDK, or the learned plan alone.
    quick_paths: list[str] = []

    def counting_serialize(method: str, version: str, result: Any) -> dict[str, Any]:
        quick_paths.append("sdk")
        return to_sdk(method, version, result)

    class Recorder:
        def __call__(self, version: str, result: Any) -> dict[str, Any]:
            if type(result) is not QuickText:
                return serializer(version, result)
            before = len(quick_paths)
            answer = serializer(version, result)
            del quick_paths[before:]
            quick_paths.append("sdk" if len(quick_paths) > before else "plan")
            return answer

    serializer._serialize = counting_serialize  # type: ignore[method-assign]
    dispatcher.call_results = Recorder()  # type: ignore[assignment]

    async def post(dispatch: Any, version: str, doc: dict[str, Any]) -> Any:
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"mcp-protocol-version", version.encode()),
        ]
        if version == MODERN:
            doc, extra = modern(doc, name=doc["params"]["name"])
            headers += [
                (k.encode(), v.encode()) for k, v in extra.items() if k != "mcp-protocol-version"
            ]
        body = json.dumps(doc).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/mcp",
            "raw_path": b"/mcp",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        request = InboundRequest(scope, body, parse_envelope(body), True, version, caller_stays)
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await dispatch(request, send)
        start = sent[0]
        content = b"".join(m.get("body", b"") for m in sent[1:])
        for ch in ("\u0085", "\u2028", "\u2029"):
            assert ch.encode() not in content
        return start["status"], content  # bytes: key order and escaping count too

    async with dispatcher.lifespan():
        for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", MODERN):
            for n in range(24):
                name = ("echo", "plain", "blob")[n % 3]
                args = {"size_bytes": n} if name == "blob" else {"text": f"{n} {UNICODE}"}
                doc = tool_call(name, args) | {"id": n}
                fast = await post(dispatcher.dispatch, version, doc)
                assert fast == await post(reference.dispatch, version, doc), (version, name, n)
                sdk = await post(dispatcher.sdk.dispatch, version, doc)
                assert fast[0] == sdk[0], (version, name, n)
                assert json.loads(fast[1]) == json.loads(sdk[1]), (version, name, n)
    # Each way was taken, many times over. At most 10 short-cut results (2 shapes x 5
    # versions) met no plan yet: more than 10 through the SDK means re-checks met them too.
    assert quick_paths.count("plan") > 20
    assert quick_paths.count("sdk") > 10


@pytest.mark.parametrize("dispatcher", ["fast", "sdk"])
async def test_text_json_cannot_carry_is_a_500_internal_error(dispatcher: str) -> None:
    """A tool that returns a lone surrogate has run; its answer cannot be encoded. Both
    paths answer 500 with JSON-RPC -32603, and the server goes on serving."""
    from mcp.server.mcpserver import MCPServer

    from agentcore_mcp.server.app import McpFront, build_asgi_app
    from agentcore_mcp.server.manifest import call_in_process
    from agentcore_mcp.server.settings import ServerSettings

    server = MCPServer("surrogates")

    @server.tool()
    def broken() -> str:
        return "half a pair: \ud800"

    @server.tool()
    def fine() -> str:
        return "ok"

    front = build_asgi_app(server, ServerSettings(response_mode="json", dispatcher=dispatcher))  # type: ignore[arg-type]
    assert isinstance(front, McpFront)
    accept = [(b"accept", b"application/json, text/event-stream")]
    async with front.dispatcher.lifespan():
        answers = []
        for name in ("broken", "fine"):
            body = json.dumps(tool_call(name, {})).encode()
            answers.append(await call_in_process(front, body, accept, "/mcp"))
    (status, _, payload), (ok_status, _, ok_payload) = answers
    assert status == 500
    assert json.loads(payload)["error"]["code"] == -32603
    assert ok_status == 200 and json.loads(ok_payload)["result"]["content"][0]["text"] == "ok"


async def test_aliased_and_pre_parsed_arguments_match_the_sdk() -> None:
    """Parameters the SDK aliases (names shadowing BaseModel attributes) and JSON inside
    strings (what Claude Desktop sends): the fast path's argument handling is the SDK's."""
    from mcp.server.mcpserver import MCPServer

    from agentcore_mcp.server.app import McpFront, build_asgi_app
    from agentcore_mcp.server.manifest import call_in_process
    from agentcore_mcp.server.settings import ServerSettings

    server = MCPServer("aliases")

    @server.tool()
    def shapes(schema: list[int], copy: str = "c", n: int = 0) -> str:
        return f"{schema!r} {copy!r} {n!r}"

    cases: list[Any] = [
        {"schema": [1, 2]},
        {"schema": "[1, 2]"},
        {"schema": "[1, 2]", "copy": "[3]", "n": "4"},
        {"schema": "not json"},
        {"schema": "7"},
        {"schema": [1], "field_schema": [2]},
        {"field_schema": [2]},
        {"schema": [1], "copy": 5},
        {"schema": [1], "unknown": "[1]"},
        {},
    ]
    fronts = [
        build_asgi_app(server, ServerSettings(response_mode="json", log_level="debug")),
        build_asgi_app(server, ServerSettings(response_mode="json", dispatcher="sdk")),
    ]
    accept = [(b"accept", b"application/json, text/event-stream")]
    for front in fronts:
        assert isinstance(front, McpFront)
    async with fronts[0].dispatcher.lifespan(), fronts[1].dispatcher.lifespan():  # type: ignore[attr-defined]
        for i, args in enumerate(cases):
            body = json.dumps({**tool_call("shapes", args), "id": i}).encode()
            fast, sdk = [await call_in_process(f, body, accept, "/mcp") for f in fronts]
            assert (b"x-agentcore-mcp-dispatch", b"fast") in fast[1], "answered by the fast path"
            assert fast[0] == sdk[0], args
            assert json.loads(fast[2]) == json.loads(sdk[2]), args
