// The seed's client.ts: the official MCP TypeScript SDK to a runtime with SigV4 auth.
// Signs each request over its exact body with the AWS SDK for JavaScript's SigV4 signer
// and the default credential chain (env, profiles, SSO, instance roles).
//
//   npx tsx client.ts --arn arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/x-AbCdEf1234 [--debug]
import { Sha256 } from "@aws-crypto/sha256-js";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SignatureV4 } from "@smithy/signature-v4";

import { debug, exercise, invocationUrl, plainHeaders, regionOf, runtimeSessionHeader, show } from "./common.js";

const url = invocationUrl();
const signer = new SignatureV4({
  service: "bedrock-agentcore",
  region: regionOf(url),
  credentials: defaultProvider(),
  sha256: Sha256,
  applyChecksum: false,
});

async function signedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const target = new URL(input instanceof Request ? input.url : input.toString());
  const headers = plainHeaders(init?.headers);
  headers.host = target.host;
  const body = typeof init?.body === "string" ? init.body : undefined;
  const query: Record<string, string> = {};
  target.searchParams.forEach((v, k) => (query[k] = v));
  const signed = await signer.sign({
    method: init?.method ?? "GET",
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port ? Number(target.port) : undefined,
    path: target.pathname,
    query,
    headers,
    body,
  });
  const sent = signed.headers as Record<string, string>;
  if (debug) {
    console.error(`> ${init?.method ?? "GET"} ${target}`);
    show(">", sent);
    if (body) console.error(`> ${body}`);
  }
  const { host: _host, ...withoutHost } = sent;
  const response = await fetch(target, { ...init, headers: withoutHost });
  if (debug) {
    console.error(`< ${response.status} ${response.statusText}`);
    show("<", plainHeaders(response.headers));
  }
  return response;
}

const transport = new StreamableHTTPClientTransport(url, {
  fetch: signedFetch,
  requestInit: { headers: runtimeSessionHeader },
});
const client = new Client({ name: "agentcore-mcp-ts-sigv4", version: "1.0.0" });
await client.connect(transport);
try {
  await exercise(client);
} finally {
  await client.close();
}
