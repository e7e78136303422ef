"""An MCP server with two tools, tested as deployed (tests/)."""
