from __future__ import annotations

import pytest

from tests.support.local import LocalAgentCoreHandle, local_agentcore_fixture

# One local AgentCore process per test module, with a role and a code bucket.
local_agentcore = local_agentcore_fixture("local", "--startup-timeout", "20")


@pytest.fixture(scope="module")
def sigv4_runtime(local_agentcore: LocalAgentCoreHandle) -> dict[str, object]:
    """The sample server deployed from a code zip, with SigV4 inbound auth, READY."""
    got = local_agentcore.create_runtime("sample_sigv4")
    assert got["status"] == "READY", got
    return got
