from agentcore_mcp.cli import main

main()
