from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
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

REPO = Path(__file__).resolve().parents[1]


def _sandbox_home_and_cwd() -> Path:
    """Run the suite, and every process it starts, with an empty HOME (and, from the
    session fixture below, in an empty folder).

    A user runs `uv run agentcore-mcp deploy` and then `uv run pytest` in one clone: the
    first writes ./deployment_config.json and starts a local AgentCore in
    ~/.agentcore-mcp/local. No test may read either (nor ~/.aws, nor a client's config),
    so each test process works in a fresh folder of its own, with HOME a fresh folder
    too. Package caches stay where they are (they hold downloads, not state); the
    deployer's dependency cache is the suite's own, in .pytest_cache (gitignored). The
    repository goes on PYTHONPATH so a server spec such as `tests.support.user_app:mcp`
    imports from any folder.
    """
    real_home = Path.home()
    xdg_cache = Path(os.environ.get("XDG_CACHE_HOME") or real_home / ".cache")
    os.environ.setdefault("UV_CACHE_DIR", str(xdg_cache / "uv"))
    os.environ.setdefault("UV_PYTHON_INSTALL_DIR", str(real_home / ".local/share/uv/python"))
    os.environ.setdefault("npm_config_cache", str(real_home / ".npm"))
    deps_cache = REPO / ".pytest_cache" / "agentcore-mcp"
    deps_cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("AGENTCORE_MCP_CACHE", str(deps_cache))
    for key in ("AGENTCORE_MCP_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ.pop(key, None)
    sandbox = Path(tempfile.mkdtemp(prefix="agentcore-mcp-tests-"))
    atexit.register(shutil.rmtree, sandbox, ignore_errors=True)
    (sandbox / "home").mkdir()
    (sandbox / "cwd").mkdir()
    os.environ["HOME"] = str(sandbox / "home")
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return sandbox


SANDBOX = _sandbox_home_and_cwd()


@pytest.fixture(scope="session", autouse=True)
def _in_the_sandbox_folder() -> Iterator[None]:
    """Tests (and what they start) run in SANDBOX/cwd. Changed here, not at import: pytest
    and xdist's workers find pyproject.toml and the test paths from the folder they start in."""
    before = Path.cwd()
    os.chdir(SANDBOX / "cwd")
    yield
    os.chdir(before)


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
