"""The CLI's exit codes: `agentcore_mcp.exit_codes`, which the server shares."""

from agentcore_mcp.exit_codes import ExitCode

__all__ = ["ExitCode"]
