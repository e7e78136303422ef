from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.local import LocalAgentCoreHandle


@pytest.fixture(scope="session")
def steps_agentcore(local_agentcore: LocalAgentCoreHandle) -> LocalAgentCoreHandle:
    """The deploy tests' shared local AgentCore (moto behind it): each step test names its
    own deployment, so they share it without seeing each other's resources. Instances see
    their zip and the standard library only, as on AWS."""
    return local_agentcore


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "deployment_config.json"
