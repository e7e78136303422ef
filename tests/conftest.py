from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.procs import RunningProcess, run_mcp_server


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """The sample server as a real process, shared by a test module."""
    with run_mcp_server(
        tmp_path_factory.mktemp("server"), env={"MCP_SSE_KEEPALIVE_SECONDS": "0.2"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def mcp_url(sample_server: RunningProcess) -> str:
    return f"{sample_server.base_url}/mcp"
