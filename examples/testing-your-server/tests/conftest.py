"""The deployments these tests use. `agentcore_deploy`, `agentcore_deployment` and
`agentcore_client` come from agentcore-mcp's pytest plugin (docs/testing.md); nothing
here starts or stops anything by hand."""

import pytest

from agentcore_mcp.testing import Deployment, DeploymentFactory


@pytest.fixture(scope="session")
def oauth_deployment(agentcore_deploy: DeploymentFactory) -> Deployment:
    """The same server behind a Cognito user pool (OAuth), its GREETING a secret: stored in
    the local Secrets Manager, resolved by the server kit when the runtime starts."""
    return agentcore_deploy(
        "datetools.server:mcp",
        name="datetools_oauth",
        auth="oauth",
        secrets={"GREETING": "Bonjour"},
    )
