from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.local import LocalAgentCoreHandle, run_local_agentcore


@pytest.fixture(scope="module")
def local_agentcore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    """One real local AgentCore per test module (starting one costs seconds)."""
    # Deployer's zips carry everything: instances see the zip and the stdlib only.
    with run_local_agentcore(tmp_path_factory.mktemp("local"), host_path=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")
