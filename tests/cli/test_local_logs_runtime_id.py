"""`local logs RUNTIME_ID` names a file under --home/logs: only a runtime id is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.local_cli import local_cli


@pytest.mark.parametrize(
    "runtime", ["../../secret", "../logs/../../secret", "/tmp/secret", "x-AbCdEf1234/../../secret"]
)
def test_a_path_is_a_usage_error_and_reads_nothing(tmp_path: Path, runtime: str) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (tmp_path / "secret.log").write_text("TOP SECRET LINE\n")
    done = local_cli(home, "logs", runtime, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TOP SECRET" not in done.stdout + done.stderr
    assert "is not a runtime id" in done.stderr
    assert "local status" in done.stderr  # says where to find the real ids


def test_a_runtime_id_still_prints_its_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "mcp_server-AbCdEf1234.log").write_text("[session] hello\n")
    done = local_cli(home, "logs", "mcp_server-AbCdEf1234", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[session] hello\n"
