"""The SDK internals `sdk_compat` wraps exist in the installed `mcp`, and do their job.

When an `mcp` upgrade removes or renames one, `test_installed_sdk_has_every_internal`
fails naming it, the installed version and the versions these were checked against:
update `sdk_compat` (and `CHECKED_MCP_VERSIONS`) for the new release.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.runner import ServerRunner

from agentcore_mcp.server import sdk_compat


def _server() -> MCPServer:
    server = MCPServer("compat")

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.prompt()
    def greet() -> str:
        return "hi"

    return server


def test_internals_were_checked_against_mcp_2_3() -> None:
    assert sdk_compat.CHECKED_MCP_VERSIONS == ("2.3.0",)
    assert set(sdk_compat.FAST_PATH_INTERNALS) <= {i.name for i in sdk_compat.INTERNALS}


def test_installed_sdk_has_every_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sdk_compat.HIDE_ENV, raising=False)
    installed = importlib.metadata.version("mcp")
    missing = sdk_compat.missing_internals(_server())
    assert not missing, (
        f"mcp {installed} lacks SDK internals agentcore-mcp uses: {', '.join(missing)}. "
        f"sdk_compat was checked against mcp {', '.join(sdk_compat.CHECKED_MCP_VERSIONS)}; "
        "adapt src/agentcore_mcp/server/sdk_compat.py to this release (until then the fast "
        "path falls back to the SDK's own transport)."
    )
    if installed not in sdk_compat.CHECKED_MCP_VERSIONS:
        pytest.fail(
            f"mcp {installed} has every internal, but sdk_compat was only checked against "
            f"{', '.join(sdk_compat.CHECKED_MCP_VERSIONS)}: run tests/server (the equivalence "
            "corpus above all) and add the version to CHECKED_MCP_VERSIONS"
        )


def test_an_internal_really_missing_is_reported() -> None:
    """A server object without the attribute (as a future SDK would build it)."""
    server = _server()
    assert sdk_compat.fast_path_missing(server) == ()
    del server._tool_manager
    assert sdk_compat.fast_path_missing(server) == ("MCPServer._tool_manager",)


def test_hide_switch_reports_present_internals_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server()
    monkeypatch.setenv(sdk_compat.HIDE_ENV, "ServerRunner._serialize")
    assert sdk_compat.fast_path_missing(server) == ("ServerRunner._serialize",)
    monkeypatch.setenv(sdk_compat.HIDE_ENV, "all")
    assert sdk_compat.missing_internals(server) == tuple(i.name for i in sdk_compat.INTERNALS)
    with pytest.raises(sdk_compat.SdkCompatError, match=r"MCPServer\._lowlevel_server.*2\.3\.0"):
        sdk_compat.lowlevel_server(server)


def test_accessors_reach_the_sdk_objects() -> None:
    server = _server()
    low = sdk_compat.lowlevel_server(server)
    assert isinstance(low, Server) and low.name == "compat"
    plain = Server("plain")
    assert sdk_compat.lowlevel_server(plain) is plain
    get_tool, list_tools = sdk_compat.tool_lookups(server)
    tool = get_tool("echo")
    assert tool is not None and tool is sdk_compat.get_tool(server, "echo")
    assert get_tool("nope") is None
    assert [t.name for t in list_tools()] == ["echo"]
    assert sdk_compat.registered_tools(server) == list_tools()
    prompt = sdk_compat.get_prompt(server, "greet")
    assert prompt is not None and prompt.name == "greet"
    assert any(isinstance(m, sdk_compat.otel_middleware_type()) for m in low.middleware)


def test_serializer_stamps_the_modern_era() -> None:
    from mcp.server.connection import Connection
    from mcp_types import ListToolsResult

    low = sdk_compat.lowlevel_server(_server())
    for version, stamped in (("2025-11-25", False), ("2026-07-28", True)):
        runner = ServerRunner(low, Connection.from_envelope(version, None, None), None)
        dumped = sdk_compat.serializer(runner)("tools/list", version, ListToolsResult(tools=[]))
        assert isinstance(dumped, dict)
        assert ("_meta" in dumped) is stamped, (version, dumped)


def test_modern_sse_ping_interval_is_set() -> None:
    from mcp.server import _streamable_http_modern as modern

    before = modern._SSE_PING_INTERVAL
    try:
        assert sdk_compat.set_modern_sse_ping_interval(3.5)
        assert modern._SSE_PING_INTERVAL == 3.5
    finally:
        modern._SSE_PING_INTERVAL = before
