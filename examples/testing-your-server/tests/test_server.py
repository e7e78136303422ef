"""The server as deployed: through the local AgentCore's data plane, with auth.

`agentcore_deployment` is the project's server (pyproject's [tool.agentcore-mcp]) with
SigV4; `agentcore_client` is an official mcp client connected to it.
"""

import pytest
from mcp import Client

from agentcore_mcp.testing import Deployment

pytestmark = pytest.mark.anyio


def text(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def test_normalize_date_over_sigv4(agentcore_client: Client) -> None:
    result = await agentcore_client.call_tool("normalize_date", {"text": "March 5, 2024"})
    assert not result.is_error, text(result)
    assert text(result) == "2024-03-05"


async def test_a_text_without_a_date_is_an_error(agentcore_client: Client) -> None:
    result = await agentcore_client.call_tool("normalize_date", {"text": "no date in here"})
    assert result.is_error
    assert "normalize_date" in text(result)


async def test_greet_uses_the_default_greeting(agentcore_client: Client) -> None:
    result = await agentcore_client.call_tool("greet", {"name": "Ada"})
    assert text(result) == "Hello, Ada!"


def test_the_deployment_lists_both_tools(agentcore_deployment: Deployment) -> None:
    assert agentcore_deployment.auth == "sigv4"
    assert sorted(agentcore_deployment.tools) == ["greet", "normalize_date"]


async def test_oauth_deployment_with_a_secret(oauth_deployment: Deployment) -> None:
    assert oauth_deployment.auth == "oauth"
    async with oauth_deployment.connect() as client:  # a Cognito access token, renewed
        result = await client.call_tool("greet", {"name": "Ada"})
        assert text(result) == "Bonjour, Ada!"
        result = await client.call_tool("normalize_date", {"text": "5 Mar 2024"})
        assert text(result) == "2024-03-05"


def test_sync_helpers(oauth_deployment: Deployment) -> None:
    """Without an event loop: each call opens a runtime session and stops it."""
    result = oauth_deployment.call_tool("normalize_date", {"text": "2024/03/05"})
    assert text(result) == "2024-03-05"
