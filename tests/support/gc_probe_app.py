"""A server that says whether the cyclic garbage collector ran while it was imported.

`collector` answers "<enabled at import> <enabled now>": the kit loads a server with
the collector off (`run.collector_paused`) and turns it back on once loaded.
"""

import gc

from mcp.server.mcpserver import MCPServer

ENABLED_AT_IMPORT = gc.isenabled()

mcp = MCPServer("gc-probe")


@mcp.tool()
def collector() -> str:
    """Whether the collector was on while this module was imported, and is on now."""
    return f"{ENABLED_AT_IMPORT} {gc.isenabled()}"
