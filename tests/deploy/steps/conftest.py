from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.local import LocalAgentCoreHandle, run_local_agentcore


@pytest.fixture(scope="session")
def steps_agentcore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    """One real local AgentCore (moto behind it) for every step module a worker runs: each
    test names its own deployment, so they share it without seeing each other's resources.
    Instances see their zip and the standard library only, as on AWS."""
    with run_local_agentcore(tmp_path_factory.mktemp("steps-local"), host_path=False) as handle:
        yield handle


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "deployment_config.json"
