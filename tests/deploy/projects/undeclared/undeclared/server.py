"""A server importing a package its project never declared (boto3)."""

import boto3
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("undeclared")


@mcp.tool()
def regions() -> str:
    """The regions boto3 knows for S3."""
    return ",".join(boto3.session.Session().get_available_regions("s3")[:3])
