"""Where the local AgentCore keeps its state, logs and credentials by default.

Standard library only: the deployer and the CLI ask for it without importing the local
AgentCore itself (0.2 s, and an extra they may not have).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HOME_ENV", "default_home"]

HOME_ENV = "AGENTCORE_MCP_HOME"


def default_home() -> Path:
    """`$AGENTCORE_MCP_HOME/local`, else `~/.agentcore-mcp/local`.

    An empty AGENTCORE_MCP_HOME counts as unset, as an empty AWS_PROFILE does for the AWS
    SDKs: `export AGENTCORE_MCP_HOME=` must not move the home to `./local` of whatever
    directory a command runs in.
    """
    base = os.environ.get(HOME_ENV) or str(Path.home() / ".agentcore-mcp")
    return Path(base) / "local"
