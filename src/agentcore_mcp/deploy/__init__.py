"""The deployer: `agentcore-mcp deploy` and its companion commands as library calls."""
