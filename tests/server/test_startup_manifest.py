"""Startup manifests: a server that answers the handshake while the SDK is still loading.

Real processes (`python -m agentcore_mcp.server`, as the container runs it) with a
manifest written by `write_manifest`, talked to over HTTP and with the official client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import mcp_types
import pytest
from mcp_types import version as mcp_versions

from agentcore_mcp.client import ConnectOptions, open_client
from agentcore_mcp.server import front
from agentcore_mcp.server.front import InboundRequest
from agentcore_mcp.server.manifest import (
    ManifestUnusable,
    StartupManifest,
    load_manifest,
    source_fingerprint,
    write_manifest,
)
from agentcore_mcp.server.starting import early_answer
from tests.support.mcp_messages import caller_stays, init_params, modern_meta
from tests.support.procs import (
    REPO,
    RunningProcess,
    free_port,
    mcp_post,
    run_process,
    wait_for_port,
)

BENCH_APP = "tests.support.bench_app:mcp"
ENV_APP = "tests.support.env_tools_app:mcp"
GC_APP = "tests.support.gc_probe_app:mcp"
INIT = init_params("test", "1", capabilities={"roots": {"listChanged": True}})


@pytest.fixture(scope="module")
def bench_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "manifest.json"
    write_manifest(BENCH_APP, path)
    return path


def container_argv(server_spec: str) -> list[str]:
    return [sys.executable, "-m", "agentcore_mcp.server", server_spec]


def spawn_container(
    server_spec: str, env: dict[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    """The container entry point, for tests that watch how it exits (`run_process` stops it)."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            container_argv(server_spec),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=REPO,
        )
    return proc, log_path


def server_env(port: int, manifest: Path | None, **extra: str) -> dict[str, str]:
    env = {"HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "info", **extra}
    if manifest is not None:
        env["MCP_STARTUP_MANIFEST"] = str(manifest)
    return env


@contextmanager
def run_container(
    tmp_path: Path,
    server_spec: str,
    manifest: Path | None,
    *,
    name: str = "proc",
    **extra_env: str,
) -> Iterator[RunningProcess]:
    """The container entry point on a free loopback port, stopped afterwards."""
    port = free_port()
    env = server_env(port, manifest, **extra_env)
    with run_process(
        container_argv(server_spec), port=port, tmp_path=tmp_path, env=env, name=name
    ) as running:
        yield running


def post(url: str, method: str, params: dict[str, object] | None = None, **headers: str):
    doc: dict[str, object] = {"jsonrpc": "2.0", "id": 7, "method": method}
    if params is not None:
        doc["params"] = params
    return mcp_post(url, doc, headers=headers)


def wait_for_log(running, text: str, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = running.log()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in log:\n{running.log()}")


def test_lean_constants_equal_the_sdk_ones() -> None:
    assert front.HANDSHAKE_PROTOCOL_VERSIONS == mcp_versions.HANDSHAKE_PROTOCOL_VERSIONS
    assert front.MODERN_PROTOCOL_VERSIONS == mcp_versions.MODERN_PROTOCOL_VERSIONS
    assert front.DEFAULT_NEGOTIATED_VERSION == mcp_types.DEFAULT_NEGOTIATED_VERSION
    assert front.PROTOCOL_VERSION_META_KEY == mcp_types.PROTOCOL_VERSION_META_KEY
    assert front.CLIENT_CAPABILITIES_META_KEY == mcp_types.CLIENT_CAPABILITIES_META_KEY
    assert front.CLIENT_INFO_META_KEY == mcp_types.CLIENT_INFO_META_KEY


def test_is_modern_version_names_the_2026_07_28_era_only() -> None:
    assert all(front.is_modern_version(v) for v in mcp_versions.MODERN_PROTOCOL_VERSIONS)
    assert not any(front.is_modern_version(v) for v in mcp_versions.HANDSHAKE_PROTOCOL_VERSIONS)
    assert not front.is_modern_version(None)  # no MCP-Protocol-Version header
    assert not front.is_modern_version("2099-01-01")


def test_starting_path_does_not_import_the_sdk() -> None:
    code = (
        "import sys, agentcore_mcp.server.run, agentcore_mcp.server.starting, "
        "agentcore_mcp.server.manifest, agentcore_mcp.server.__main__;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', "
        "'pydantic', 'openai', 'boto3', 'typer')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "[]"


def test_manifest_records_the_handshake(bench_manifest: Path) -> None:
    manifest = load_manifest(bench_manifest, BENCH_APP)
    for version in mcp_versions.HANDSHAKE_PROTOCOL_VERSIONS:
        init = manifest.result("initialize", version)
        assert init["protocolVersion"] == version
        assert init["serverInfo"]["name"] == "agentcore-mcp-bench"
        assert [t["name"] for t in manifest.result("tools/list", version)["tools"]] == ["echo"]
        assert manifest.result("ping", version) == {}
    modern = manifest.result("tools/list", "2026-07-28")
    assert modern["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "agentcore-mcp-bench"
    assert bench_manifest.stat().st_mode & 0o777 == 0o644


def test_manifest_for_another_server_spec_or_changed_code_is_refused(
    bench_manifest: Path, tmp_path: Path
) -> None:
    with pytest.raises(ManifestUnusable, match="recorded for server spec"):
        load_manifest(bench_manifest, "tests.support.user_app:mcp")
    doc = json.loads(bench_manifest.read_text())
    doc["fingerprint"] = "0" * 64
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(doc))
    with pytest.raises(ManifestUnusable, match="stale"):
        load_manifest(stale, BENCH_APP)
    (tmp_path / "garbage.json").write_text("{not json")
    with pytest.raises(ManifestUnusable, match="not a startup manifest"):
        load_manifest(tmp_path / "garbage.json", BENCH_APP)
    with pytest.raises(ManifestUnusable, match="cannot read"):
        load_manifest(tmp_path / "missing.json", BENCH_APP)
    assert source_fingerprint(BENCH_APP) != source_fingerprint("tests.support.user_app:mcp")


def _request(
    method: str, params: object = None, version: str | None = None, **headers: str
) -> InboundRequest:
    message: dict[str, object] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        message["params"] = params
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    if version is not None:
        raw.append((b"mcp-protocol-version", version.encode()))
    return InboundRequest(
        scope={"headers": raw},
        body=json.dumps(message).encode(),
        message=message,
        accepts_sse=True,
        protocol_version=version,
        receive=caller_stays,
    )


def test_only_plain_shapes_are_answered_early(bench_manifest: Path) -> None:
    manifest = load_manifest(bench_manifest, BENCH_APP)
    meta = modern_meta("c")
    answered = [
        _request("initialize", INIT),
        _request("tools/list"),
        _request("tools/list", {}, "2025-06-18"),
        _request("ping", None, "2024-11-05"),
        _request("tools/list", {"_meta": meta}, "2026-07-28", mcp_method="tools/list"),
    ]
    for request in answered:
        answer = early_answer(manifest, request)
        assert answer is not None and answer[0] == 200, request.message
        assert answer[1] is not None and answer[1]["id"] == 1
    notification = InboundRequest(
        scope={"headers": []},
        body=b"",
        message={"jsonrpc": "2.0", "method": "notifications/initialized"},
        accepts_sse=True,
        protocol_version="2025-11-25",
        receive=caller_stays,
    )
    assert early_answer(manifest, notification) == (202, None)
    waiting = [
        _request("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
        _request("tools/list", {"cursor": "abc"}),
        _request("tools/list", {"_meta": {"progressToken": 1}}),
        _request("tools/list", None, "1999-01-01"),
        _request("initialize", {**INIT, "protocolVersion": "2099-01-01"}),
        _request("initialize", {**INIT, "clientInfo": {"name": "no version"}}),
        _request("initialize", {**INIT, "capabilities": {"roots": True}}),
        _request("initialize", {**INIT, "extra": 1}),
        _request("initialize", INIT, "2025-11-25"),
        _request("tools/list", {"_meta": meta}, "2026-07-28"),  # no Mcp-Method header
        _request("tools/list", {"_meta": meta}, "2026-07-28", mcp_method="ping"),
        _request(
            "tools/list",
            {"_meta": {**meta, "io.modelcontextprotocol/protocolVersion": "2025-11-25"}},
            "2026-07-28",
            mcp_method="tools/list",
        ),
        _request("ping", {"_meta": meta}, "2026-07-28", mcp_method="ping"),  # not recorded
        _request("resources/list"),
    ]
    for request in waiting:
        assert early_answer(manifest, request) is None, request.message


def test_handshake_before_the_sdk_loads_matches_a_plain_start(
    bench_manifest: Path, tmp_path: Path
) -> None:
    """A handshake-era client is answered from the manifest, byte for byte as without."""
    exchange = [
        ("initialize", INIT, {}),
        ("notifications/initialized", None, {"mcp-protocol-version": "2025-11-25"}),
        ("tools/list", {}, {"mcp-protocol-version": "2025-11-25"}),
        ("ping", None, {"mcp-protocol-version": "2025-06-18"}),
        ("tools/call", {"name": "echo", "arguments": {"text": "hé\u2028"}}, {}),
    ]
    answers: dict[str, list[tuple[int, str, bytes]]] = {}
    for label, manifest in (("manifest", bench_manifest), ("plain", None)):
        with run_container(tmp_path, BENCH_APP, manifest, name=label) as running:
            url = f"{running.base_url}/mcp"
            got = []
            for method, params, headers in exchange:
                doc: dict[str, object] = {"jsonrpc": "2.0", "method": method}
                if not method.startswith("notifications/"):
                    doc["id"] = 7
                if params is not None:
                    doc["params"] = params
                r = mcp_post(url, doc, headers=headers)
                got.append((r.status_code, r.headers.get("content-type", ""), r.content))
            answers[label] = got
            if manifest is not None:
                # The handshake came before the SDK finished loading ...
                log = wait_for_log(running, "early answer(s) replayed")
                loaded = [line for line in log.splitlines() if "server loaded" in line]
                assert loaded and "4 request(s) answered from the startup manifest" in loaded[0]
                # ... and the loaded server, asked the same, answered the same.
                assert "4 early answer(s) replayed, all equal" in log
                assert "ERROR" not in log
    assert answers["manifest"] == answers["plain"]
    assert answers["manifest"][2][0] == 200
    tools = json.loads(answers["manifest"][2][2])["result"]["tools"]
    assert [t["name"] for t in tools] == ["echo"]
    assert json.loads(answers["manifest"][4][2])["result"]["content"][0]["text"] == "hé\u2028"


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_official_client_against_a_manifest_start(
    bench_manifest: Path, tmp_path: Path, era: str
) -> None:
    with run_container(tmp_path, BENCH_APP, bench_manifest) as running:
        options = ConnectOptions(url=f"{running.base_url}/mcp", protocol=era)  # type: ignore[arg-type]
        async with open_client(options) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("echo", {"text": "hello"})
        assert [t.name for t in tools] == ["echo"]
        assert result.content[0].text == "hello"  # type: ignore[union-attr]
        log = wait_for_log(running, "server loaded")
        assert "early answer(s) replayed, all equal" in wait_for_log(running, "replayed")
        assert "ERROR" not in log


def test_requests_sent_while_loading_wait_and_contract_errors_come_at_once(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "manifest.json"
    write_manifest(ENV_APP, manifest)
    # A 6 s import against a 4 s bound: a busy machine's slowness cannot pass for waiting.
    with run_container(tmp_path, ENV_APP, manifest, ENV_TOOLS_APP_IMPORT_DELAY="6") as running:
        url = f"{running.base_url}/mcp"
        started = time.monotonic()
        assert post(url, "tools/list").status_code == 200
        wrong = httpx2.get(url, timeout=5)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        bad = mcp_post(url, b"{oops")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == -32700
        assert time.monotonic() - started < 4, "answered without waiting for the import"
        call = post(url, "tools/call", {"name": "echo", "arguments": {"text": "late"}})
        assert call.status_code == 200
        assert call.json()["result"]["content"][0]["text"] == "late"
        assert "server loaded" in running.log()


def test_a_manifest_that_does_not_match_the_environment_is_reported(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    write_manifest(ENV_APP, manifest)  # recorded without ENV_TOOLS_APP_EXTRA
    with run_container(
        tmp_path, ENV_APP, manifest, ENV_TOOLS_APP_EXTRA="1", ENV_TOOLS_APP_IMPORT_DELAY="1"
    ) as running:
        url = f"{running.base_url}/mcp"
        early = post(url, "tools/list")
        assert [t["name"] for t in early.json()["result"]["tools"]] == ["echo"]
        log = wait_for_log(running, "The manifest does not match this server")
        assert "ERROR agentcore_mcp.server" in log
        later = post(url, "tools/list")
        assert [t["name"] for t in later.json()["result"]["tools"]] == ["echo", "extra"]


def test_a_stale_manifest_is_ignored_with_a_warning(bench_manifest: Path, tmp_path: Path) -> None:
    server_spec = "tests.support.user_app:mcp"
    with run_container(tmp_path, server_spec, bench_manifest) as running:
        r = post(f"{running.base_url}/mcp", "tools/list")
        assert [t["name"] for t in r.json()["result"]["tools"]] == ["shout"]
        assert "startup manifest not used" in running.log()
        assert "recorded for server spec" in running.log()


def test_a_server_that_fails_to_load_after_listening_exits_6(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    write_manifest(ENV_APP, manifest)
    port = free_port()
    env = server_env(port, manifest, ENV_TOOLS_APP_FAIL="1", ENV_TOOLS_APP_IMPORT_DELAY="1.5")
    proc, log_path = spawn_container(ENV_APP, env, tmp_path / "failing.log")
    try:
        wait_for_port(port, proc, log_path)
        waiting = post(f"http://127.0.0.1:{port}/mcp", "tools/call", {"name": "echo"})
        assert waiting.status_code == 503
        assert "failed to load" in waiting.json()["error"]["message"]
        assert proc.wait(timeout=30) == 6
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ENV_TOOLS_APP_FAIL is set" in log_path.read_text()


def test_manifest_round_trips(bench_manifest: Path) -> None:
    manifest = load_manifest(bench_manifest, BENCH_APP)
    again = StartupManifest.from_json(manifest.to_json())
    assert again == manifest


def test_sigterm_while_loading_exits_at_once(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    write_manifest(ENV_APP, manifest)
    port = free_port()
    env = server_env(port, manifest, ENV_TOOLS_APP_IMPORT_DELAY="20")
    proc, log_path = spawn_container(ENV_APP, env, tmp_path / "sigterm.log")
    try:
        wait_for_port(port, proc, log_path)
        assert post(f"http://127.0.0.1:{port}/mcp", "tools/list").status_code == 200
        started = time.monotonic()
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - started < 10, "did not wait for the 20 s import"
        log = log_path.read_text(errors="replace")
        # A clean stop: no traceback from the cancelled load (it once raised
        # InvalidStateError and uvicorn said "Application shutdown failed").
        assert "Traceback" not in log and "shutdown failed" not in log, log[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("with_manifest", [True, False], ids=["manifest", "plain"])
def test_the_server_loads_with_the_collector_paused_then_back_on(
    tmp_path: Path, with_manifest: bool
) -> None:
    """Both start paths load the server with the cyclic collector off (about 11% of a cold
    import), freeze what the load built (the collector's first run would otherwise
    examine all of it, ~40 ms) and turn it back on before the first call is answered."""
    manifest = None
    if with_manifest:
        manifest = tmp_path / "manifest.json"
        write_manifest(GC_APP, manifest)
    with run_container(tmp_path, GC_APP, manifest) as running:
        r = post(f"{running.base_url}/mcp", "tools/call", {"name": "collector", "arguments": {}})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["content"][0]["text"] == "False True True"
