"""A user's own MCP server, deployed by the deployer tests."""
