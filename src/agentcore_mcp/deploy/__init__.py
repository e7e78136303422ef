"""The deployer: `agentcore-mcp deploy` and its companion commands as library calls.

```python
from agentcore_mcp.deploy import deploy, load_config

result = deploy(load_config(server_spec="myproject.server:mcp", name="my_server"))
print(result.record.runtime.arn, result.tools)
```

Names load on first use (boto3 is imported only when a deployment runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_mcp.lazy import lazy_exports

if TYPE_CHECKING:
    from agentcore_mcp.deploy.config import ConfigError, DeployConfig, load_config
    from agentcore_mcp.deploy.dev import DevLoop
    from agentcore_mcp.deploy.logs import log_lines
    from agentcore_mcp.deploy.plan import deploy
    from agentcore_mcp.deploy.roles import role_get_policy, role_put_policy, role_show
    from agentcore_mcp.deploy.state import load_state, runtime_target
    from agentcore_mcp.deploy.status import live_status, update_token

__all__ = [
    "ConfigError",
    "DeployConfig",
    "DevLoop",
    "deploy",
    "destroy",
    "live_status",
    "load_config",
    "load_state",
    "log_lines",
    "role_get_policy",
    "role_put_policy",
    "role_show",
    "runtime_target",
    "update_token",
]

_HOMES = {
    "ConfigError": "agentcore_mcp.deploy.config",
    "DeployConfig": "agentcore_mcp.deploy.config",
    "load_config": "agentcore_mcp.deploy.config",
    "DevLoop": "agentcore_mcp.deploy.dev",
    "live_status": "agentcore_mcp.deploy.status",
    "update_token": "agentcore_mcp.deploy.status",
    "log_lines": "agentcore_mcp.deploy.logs",
    "role_get_policy": "agentcore_mcp.deploy.roles",
    "role_put_policy": "agentcore_mcp.deploy.roles",
    "role_show": "agentcore_mcp.deploy.roles",
    "deploy": "agentcore_mcp.deploy.plan",
    "destroy": "agentcore_mcp.deploy.teardown",
    "load_state": "agentcore_mcp.deploy.state",
    "runtime_target": "agentcore_mcp.deploy.state",
}


__getattr__ = lazy_exports(__name__, _HOMES)
