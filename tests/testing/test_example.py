"""examples/testing-your-server's tests catch a broken tool: a copy of the example with one
tool's answer changed fails them, and the unchanged copy passes.

Run with this environment's Python, the plugin loaded through its entry point: every
dependency of the example (python-dateutil through botocore, pytest, anyio) is in it, so
no venv is built. `.ci/run` also runs the example as a user does, `uv run pytest` in its
folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.testing.inner import run_pytest

pytestmark = pytest.mark.slow  # two child pytest runs, each with a deploy
# The SigV4 deployment's tests: the OAuth deployment's would double the cost and test the
# same tools; `.ci/run` runs them all, as a user does.
SELECTED = ["-k", "not oauth and not sync_helpers"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "testing-your-server"
GOOD = ".date().isoformat()"
BROKEN = '.date().strftime("%d/%m/%Y")'


def copy_example(dest: Path) -> Path:
    shutil.copytree(
        EXAMPLE, dest, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache")
    )
    # The path dependency, relative to the example, points at this checkout from the copy.
    pyproject = dest / "pyproject.toml"
    relative = 'agentcore-mcp = { path = "../..", editable = true }'
    assert relative in pyproject.read_text()
    pyproject.write_text(
        pyproject.read_text().replace(relative, f'agentcore-mcp = {{ path = "{REPO}" }}')
    )
    return dest


def test_the_example_passes_and_catches_a_changed_answer(tmp_path: Path) -> None:
    good = run_pytest(copy_example(tmp_path / "good"), SELECTED)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "4 passed" in good.stdout

    broken = copy_example(tmp_path / "broken")
    server = broken / "datetools" / "server.py"
    assert server.read_text().count(GOOD) == 1
    server.write_text(server.read_text().replace(GOOD, BROKEN))
    got = run_pytest(broken, [*SELECTED, "-rf"])
    assert got.returncode == 1, got.stdout + got.stderr
    failed = {line.split()[1].split("[")[0] for line in got.stdout.splitlines()
              if line.startswith("FAILED ")}  # fmt: skip
    assert "tests/test_server.py::test_normalize_date_over_sigv4" in failed, got.stdout
    assert "error" not in got.stdout.splitlines()[-1]  # failures, not broken fixtures
