from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.procs import RunningProcess, run_mcp_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, the rest after, each group in its usual order.

    With `--dist loadfile` a worker takes whole files in collection order, so a long
    file collected last runs alone at the end while the other workers idle. Starting
    the long ones first lets the short ones fill in around them.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


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
