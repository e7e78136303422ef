"""Two tools: one reads dates with python-dateutil (a third-party package), one greets
with a greeting the deployment provides (an env var or a secret)."""

import os

from dateutil import parser
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("datetools")


@mcp.tool()
def normalize_date(text: str) -> str:
    """Read a date written any common way ("March 5, 2024", "5 Mar 2024") and answer it
    as ISO 8601 (2024-03-05). A text that holds no date is an error."""
    return parser.parse(text).date().isoformat()


@mcp.tool()
def greet(name: str) -> str:
    """Greet `name` with the deployment's GREETING (default Hello)."""
    return f"{os.environ.get('GREETING', 'Hello')}, {name}!"
