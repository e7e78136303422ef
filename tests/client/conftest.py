from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client._runtimes import Deployed, deployed_runtimes


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """One local AgentCore per module, with a SigV4 and an OAuth runtime of the sample."""
    with deployed_runtimes(tmp_path_factory.mktemp("local")) as d:
        yield d
