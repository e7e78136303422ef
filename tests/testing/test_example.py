"""examples/testing-your-server's tests catch a broken tool: a copy of the example with one
tool's answer changed fails exactly that tool's answer assertion, and its other tests pass
(so the plugin deployed the server and called it).

Run with this environment's Python, the plugin loaded through its entry point: every
dependency of the example (python-dateutil through botocore, pytest, anyio) is in it, so
no venv is built. The unchanged example is not run here: `.ci/run` runs it as a user does,
`uv run pytest` in its folder, and must pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.testing.inner import run_pytest

pytestmark = pytest.mark.slow  # a child pytest run with a deploy
# The SigV4 deployment's tests: the OAuth deployment's would double the cost and test the
# same tools; `.ci/run` runs them all, as a user does.
SELECTED = ["-k", "not oauth and not sync_helpers"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "testing-your-server"
GOOD = ".date().isoformat()"
BROKEN = '.date().strftime("%d/%m/%Y")'
CHANGED_TEST = "tests/test_server.py::test_normalize_date_over_sigv4"


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


def test_the_example_catches_a_changed_answer_and_passes_the_rest(tmp_path: Path) -> None:
    broken = copy_example(tmp_path / "broken")
    server = broken / "datetools" / "server.py"
    assert server.read_text().count(GOOD) == 1
    server.write_text(server.read_text().replace(GOOD, BROKEN))
    got = run_pytest(broken, [*SELECTED, "-rf"])
    assert got.returncode == 1, got.stdout + got.stderr
    failed = [line.split()[1].split("[")[0] for line in got.stdout.splitlines()
              if line.startswith("FAILED ")]  # fmt: skip
    # Exactly the changed tool's answer assertion, with the values it compared.
    assert failed == [CHANGED_TEST], got.stdout
    assert '>       assert text(result) == "2024-03-05"' in got.stdout, got.stdout
    assert "AssertionError: assert '05/03/2024' == '2024-03-05'" in got.stdout, got.stdout
    # The other selected tests (a tool call over SigV4, the deployment's tool list) passed.
    assert got.stdout.splitlines()[-1].startswith("1 failed, 3 passed,"), got.stdout
