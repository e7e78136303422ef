"""The server kit: serve any `mcp` SDK server under the AgentCore Runtime contract."""

from agentcore_mcp.server.app import build_app
from agentcore_mcp.server.loader import AppLoadError, load_server
from agentcore_mcp.server.run import serve
from agentcore_mcp.server.settings import ServerSettings, SettingsError

__all__ = ["AppLoadError", "ServerSettings", "SettingsError", "build_app", "load_server", "serve"]
