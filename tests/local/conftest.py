from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local import LocalAgentCoreHandle, run_local_agentcore


@pytest.fixture(scope="module")
def local_agentcore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    """One local AgentCore process per test module, with a role and a code bucket."""
    with run_local_agentcore(
        tmp_path_factory.mktemp("local"), extra_args=("--startup-timeout", "20")
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def sigv4_runtime(local_agentcore: LocalAgentCoreHandle) -> dict[str, object]:
    """The sample server deployed from a code zip, with SigV4 inbound auth, READY."""
    got = local_agentcore.create_runtime("sample_sigv4")
    assert got["status"] == "READY", got
    return got
