"""The local AgentCore: AgentCore Runtime's control and data plane on loopback."""
