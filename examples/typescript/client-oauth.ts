// The seed's client-oauth.ts: the official MCP TypeScript SDK to a runtime with a JWT
// authorizer, sending a Cognito *access* token as the bearer (an ID token carries aud and
// no client_id, and is refused when the runtime checks allowedClients).
//
// The token comes from the environment, never from argv:
//   AGENTCORE_BEARER_TOKEN=$(...) npx tsx client-oauth.ts --arn arn:aws:...:runtime/x-AbCdEf1234
// For a long-lived client, `agentcore-mcp proxy --port 8765 --oauth` renews it for you.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { debug, exercise, invocationUrl, plainHeaders, runtimeSessionHeader, show } from "./common.js";

const token = process.env.AGENTCORE_BEARER_TOKEN;
if (!token) {
  console.error("set AGENTCORE_BEARER_TOKEN to a Cognito access token");
  process.exit(2);
}
const url = invocationUrl();

async function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (debug) {
    console.error(`> ${init?.method ?? "GET"} ${input instanceof Request ? input.url : input}`);
    show(">", plainHeaders(init?.headers));
  }
  const response = await fetch(input, init);
  if (debug) {
    console.error(`< ${response.status} ${response.statusText}`);
    show("<", plainHeaders(response.headers));
  }
  return response;
}

const transport = new StreamableHTTPClientTransport(url, {
  fetch: tracedFetch,
  requestInit: { headers: { ...runtimeSessionHeader, Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "agentcore-mcp-ts-oauth", version: "1.0.0" });
await client.connect(transport);
try {
  await exercise(client);
} finally {
  await client.close();
}
