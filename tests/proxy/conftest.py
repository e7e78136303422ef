from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client._runtimes import Deployed, deployed_runtimes

IDLE_SECONDS = 60
SCALE = 0.05  # the local AgentCore's clock: idleRuntimeSessionTimeout 60 s lasts 3 s


@pytest.fixture(scope="package")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """One local AgentCore for the proxy tests with a scaled lifecycle clock, and both runtimes."""
    with deployed_runtimes(
        tmp_path_factory.mktemp("local"),
        extra_args=("--startup-timeout", "20", "--lifecycle-scale", str(SCALE)),
        lifecycle={"idleRuntimeSessionTimeout": IDLE_SECONDS, "maxLifetime": 28800},
    ) as d:
        yield d
