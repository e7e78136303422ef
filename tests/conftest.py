from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import RunningProcess, run_mcp_server

# The suite starts hundreds of Python processes (servers, instances, CLIs, the local
# AgentCore), each importing the same modules. With PYTHONDONTWRITEBYTECODE set (some
# images set it), none would keep its bytecode and each would compile mcp, boto3 and moto
# from source again: up to 0.8 CPU-s more per process. The suite's processes keep it
# (in the venv and in __pycache__ directories, which git ignores).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# Seconds each test file took (setup, call and teardown of its tests; the Node peers'
# `npm ci` included), from a clean clone: `uv run pytest --record-file-seconds` updates
# the files it ran.
FILE_SECONDS = Path(__file__).with_name("file_seconds.json")
# A file not in the table yet: a guess from its marks.
UNKNOWN_SLOW_SECONDS = 20.0
UNKNOWN_SECONDS = 2.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-file-seconds",
        action="store_true",
        help=f"write each test file's seconds in this run to {FILE_SECONDS.name}",
    )


def _known_seconds() -> dict[str, float]:
    try:
        table = json.loads(FILE_SECONDS.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in table.items()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (with `--no-loadscope-reorder`, xdist hands out files in
    this order, each to the next free worker).

    With `--dist loadfile` a worker takes a whole file; a long file handed out last runs
    alone at the end while the other workers idle. Longest first keeps them all busy to
    the end. The lengths come from `file_seconds.json`; a file not in it is guessed
    from its marks.
    """
    known = _known_seconds()
    root = config.rootpath
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def seconds(path: Path) -> float:
        name = path.relative_to(root).as_posix()
        if name in known:
            return known[name]
        return UNKNOWN_SLOW_SECONDS if path in slow_files else UNKNOWN_SECONDS

    cost = {path: seconds(path) for path in {item.path for item in items}}
    items.sort(key=lambda item: -cost[item.path])  # stable: a file's tests keep their order


class _FileSeconds:
    """Adds up each file's test phases as the reports come in (on xdist's controller)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration

    def pytest_sessionfinish(self) -> None:
        # Merged: a run of some files updates theirs and keeps the others'.
        table = _known_seconds() | {name: round(s, 1) for name, s in self.seconds.items()}
        FILE_SECONDS.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--record-file-seconds") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_FileSeconds(config.rootpath), "file-seconds")


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
