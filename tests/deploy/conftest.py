from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.local import LocalAgentCoreHandle, run_local_agentcore


@pytest.fixture(scope="session")
def local_agentcore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    """One real local AgentCore per test process, shared by the deploy modules it runs
    (starting one costs seconds). Each module names its own deployments and compares
    listings taken within the module, so what earlier modules left does not matter."""
    # Deployer's zips carry everything: instances see the zip and the stdlib only.
    with run_local_agentcore(tmp_path_factory.mktemp("local"), host_path=False) as handle:
        yield handle


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")
