"""A server that says whether the cyclic garbage collector ran while it was imported.

`collector` answers "<enabled at import> <enabled now> <objects frozen>": the kit loads
a server with the collector off (`run.collector_paused`), then freezes what the load
built and turns the collector back on.
"""

import gc

from mcp.server.mcpserver import MCPServer

ENABLED_AT_IMPORT = gc.isenabled()

mcp = MCPServer("gc-probe")


@mcp.tool()
def collector() -> str:
    """Whether the collector was on while this module was imported, is on now, and
    leaves the objects the load built out of its runs."""
    return f"{ENABLED_AT_IMPORT} {gc.isenabled()} {gc.get_freeze_count() > 0}"
