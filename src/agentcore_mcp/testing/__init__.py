"""Testing a server as deployed: a local AgentCore per test session, deployments made with
the real deployer, and connected `mcp` clients; `plugin` holds the pytest fixtures
(`agentcore_*`, docs/testing.md).

Names load on first use: pytest imports the plugin in every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.lazy import lazy_exports

if TYPE_CHECKING:
    from agentcore_mcp.testing.deployments import Deployment, DeploymentFactory
    from agentcore_mcp.testing.local import (
        LocalAgentCore,
        LocalAgentCoreError,
        running_local_agentcore,
        start_local_agentcore,
        stop_local_agentcore,
    )

__all__ = [
    "Deployment",
    "DeploymentFactory",
    "LocalAgentCore",
    "LocalAgentCoreError",
    "running_local_agentcore",
    "start_local_agentcore",
    "stop_local_agentcore",
]

_HOMES = {
    "Deployment": "agentcore_mcp.testing.deployments",
    "DeploymentFactory": "agentcore_mcp.testing.deployments",
    "LocalAgentCore": "agentcore_mcp.testing.local",
    "LocalAgentCoreError": "agentcore_mcp.testing.local",
    "running_local_agentcore": "agentcore_mcp.testing.local",
    "start_local_agentcore": "agentcore_mcp.testing.local",
    "stop_local_agentcore": "agentcore_mcp.testing.local",
}

__getattr__ = lazy_exports(__name__, _HOMES)
