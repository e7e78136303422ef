"""A server whose tool list depends on the environment, and whose import can be made slow
or fail: what a startup manifest cannot see, for tests/server/test_startup_manifest.py."""

import os
import time

from mcp.server.mcpserver import MCPServer

time.sleep(float(os.environ.get("ENV_TOOLS_APP_IMPORT_DELAY", "0")))
if os.environ.get("ENV_TOOLS_APP_FAIL"):
    raise RuntimeError("ENV_TOOLS_APP_FAIL is set")

mcp = MCPServer("env-tools-app")


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if os.environ.get("ENV_TOOLS_APP_EXTRA"):

    @mcp.tool()
    def extra() -> str:
        """Only there when ENV_TOOLS_APP_EXTRA is set."""
        return "extra"
