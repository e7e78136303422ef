"""The pytest plugin (entry point `pytest11`): `agentcore_*` fixtures that test a
project's own server as deployed, with auth, on a local AgentCore. docs/testing.md.

| fixture | scope | what |
|---|---|---|
| `agentcore_local` | session | a local AgentCore: fresh home, free port, boto3 settings |
| `agentcore_deploy` | session | a factory: `agentcore_deploy("pkg.server:mcp", auth=...)` |
| `agentcore_deployment` | session | the project's `[tool.agentcore-mcp] server`, SigV4 |
| `agentcore_client` | function | an entered `mcp.Client` for `agentcore_deployment` (async) |

pytest loads this module in every run where agentcore-mcp is installed, so it imports
nothing but pytest here: the local AgentCore, the deployer and the `mcp` SDK load inside
the fixtures, and only a test that asks for one pays for it. Under pytest-xdist each
worker is its own session: its own local AgentCore, home and port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mcp import Client

    from agentcore_mcp.testing.deployments import Deployment, DeploymentFactory
    from agentcore_mcp.testing.local import LocalAgentCore


# What the fixtures import beyond the server kit: the [testing] extra's modules.
_TESTING_MODULES = ("boto3", "botocore", "moto", "joserfc", "httpx2", "typer")


def _require_testing_extra() -> None:
    """The plugin loads wherever agentcore-mcp is, even the server kit alone; a fixture
    used without [testing] fails in one line that says what to install."""
    from agentcore_mcp.extras import missing_modules

    missing = missing_modules(*_TESTING_MODULES)
    if missing:
        pytest.fail(
            f"the agentcore_* fixtures need agentcore-mcp[testing] ({', '.join(missing)} "
            "not installed): uv add --dev 'agentcore-mcp[testing]' "
            "(or pip install 'agentcore-mcp[testing]')",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def agentcore_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCore]:
    """A local AgentCore for the session (for each xdist worker): a fresh home under
    pytest's tmp folder, a free loopback port; stopped, with its instances, at the end."""
    _require_testing_extra()
    from agentcore_mcp.testing.local import running_local_agentcore

    home = tmp_path_factory.mktemp("agentcore-local") / "home"
    with running_local_agentcore(home) as local:
        yield local


@pytest.fixture(scope="session")
def agentcore_deploy(
    agentcore_local: LocalAgentCore,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[DeploymentFactory]:
    """Deploy a server spec of the project (pytest's rootdir) with the real deployer:
    `agentcore_deploy("pkg.server:mcp", auth="oauth", env={...}, secrets={...})` returns
    a `Deployment`. Every deployment is destroyed at the end of the session (or earlier
    with `deployment.destroy()`)."""
    from agentcore_mcp.testing.deployments import DeploymentFactory

    state = tmp_path_factory.mktemp("agentcore-deploy") / "deployment_config.json"
    factory = DeploymentFactory(agentcore_local, pytestconfig.rootpath, state)
    try:
        yield factory
    finally:
        factory.destroy_all()


@pytest.fixture(scope="session")
def agentcore_deployment(agentcore_deploy: DeploymentFactory) -> Deployment:
    """The project's server (`server` in `[tool.agentcore-mcp]` of its pyproject.toml),
    deployed once for the session with SigV4. Override this fixture to choose another
    server, OAuth, env or secrets: `agentcore_client` connects to whatever it returns."""
    return agentcore_deploy()


@pytest.fixture
async def agentcore_client(agentcore_deployment: Deployment) -> AsyncIterator[Client]:
    """An entered official `mcp.Client` for `agentcore_deployment`, with its auth, on a
    runtime session of its own that is stopped (StopRuntimeSession) after the test. Async:
    the test runs under anyio's pytest plugin (`@pytest.mark.anyio`)."""
    async with agentcore_deployment.connect() as client:
        yield client
