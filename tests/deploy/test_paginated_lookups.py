"""The deployer's look-ups by name read every page (botocore's paginators), on moto.

A Cognito user pool with more app clients than one ListUserPoolClients page (60) still
finds the deployment's client: before, only the first page was read, so a rerun made a
second client of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentcore_mcp.deploy.ownership import find_pool
from agentcore_mcp.deploy.steps.cognito import find_client
from tests.support.moto import run_moto


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with run_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server.client("cognito-idp")


def test_the_client_past_the_first_page_is_found(idp: Any) -> None:
    pool_id = idp.create_user_pool(PoolName="many-clients")["UserPool"]["Id"]
    made = {}
    for n in range(65):  # one page is 60
        name = f"client-{n:02d}"
        made[name] = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name)[
            "UserPoolClient"
        ]["ClientId"]
    first_page = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
    past = [n for n in made if n not in {c["ClientName"] for c in first_page["UserPoolClients"]}]
    assert past and first_page.get("NextToken"), "moto answered every client in one page"
    for name in past:
        assert find_client(idp, pool_id, name) == made[name]
    assert find_client(idp, pool_id, "client-00") == made["client-00"]
    assert find_client(idp, pool_id, "nobody") is None
    assert find_pool(idp, "many-clients") == pool_id
