"""agentcore-mcp: build, run locally, deploy and connect to MCP servers on AgentCore Runtime."""

__version__ = "0.1.0"
