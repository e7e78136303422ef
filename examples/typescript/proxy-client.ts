// The official MCP TypeScript SDK through `agentcore-mcp proxy`: no AWS code at all.
//   npx tsx proxy-client.ts --url http://127.0.0.1:8765/mcp        (proxy --port 8765)
//   npx tsx proxy-client.ts --stdio agentcore-mcp proxy --stdio     (the SDK launches it)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { arg, exercise } from "./common.js";

const stdio = process.argv.indexOf("--stdio");
const transport =
  stdio >= 0
    ? new StdioClientTransport({
        command: process.argv[stdio + 1],
        args: process.argv.slice(stdio + 2),
        env: process.env as Record<string, string>,
        stderr: "inherit",
      })
    : new StreamableHTTPClientTransport(new URL(arg("--url") ?? "http://127.0.0.1:8765/mcp"));
const client = new Client({ name: "agentcore-mcp-ts-proxy", version: "1.0.0" });
await client.connect(transport);
try {
  await exercise(client);
} finally {
  await client.close();
}
