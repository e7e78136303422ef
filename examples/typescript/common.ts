// Shared by the examples: where the runtime is, and how to print the HTTP exchange.
import { randomUUID } from "node:crypto";

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export const debug = process.argv.includes("--debug");

/** The data plane URL: --url, or --arn with AWS_ENDPOINT_URL / the region's endpoint. */
export function invocationUrl(): URL {
  const url = arg("--url");
  if (url) return new URL(url);
  const arn = arg("--arn") ?? process.env.AGENT_ARN;
  if (!arn) throw new Error("pass --url <invocation URL> or --arn <runtime ARN>");
  const region = arn.split(":")[3];
  const endpoint =
    process.env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE ??
    process.env.AWS_ENDPOINT_URL ??
    `https://bedrock-agentcore.${region}.amazonaws.com`;
  const qualifier = arg("--qualifier") ?? "DEFAULT";
  return new URL(
    `${endpoint.replace(/\/$/, "")}/runtimes/${encodeURIComponent(arn)}/invocations?qualifier=${qualifier}`,
  );
}

export function regionOf(url: URL): string {
  const match = decodeURIComponent(url.pathname).match(/arn:aws[a-z-]*:bedrock-agentcore:([a-z0-9-]+):/);
  const region = arg("--region") ?? match?.[1] ?? process.env.AWS_REGION;
  if (!region) throw new Error("cannot tell the region: pass --region");
  return region;
}

/** One runtime session per run: every request reaches the same microVM. */
export const runtimeSessionHeader = {
  "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": `ts-example-${randomUUID()}`,
};

const SECRET = new Set(["authorization", "x-amz-security-token", "cookie"]);

export function show(prefix: string, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) {
    const value = SECRET.has(k.toLowerCase()) ? `${v.split(" ")[0]} <redacted>` : v;
    console.error(`${prefix} ${k}: ${value}`);
  }
}

export function plainHeaders(init?: HeadersInit): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/** What every example prints on stdout: the tools, an echo, and a call with progress. */
export async function exercise(client: {
  listTools: () => Promise<{ tools: { name: string }[] }>;
  callTool: (p: any, s?: any, o?: any) => Promise<any>;
}): Promise<void> {
  const tools = await client.listTools();
  const echo = await client.callTool({ name: "echo", arguments: { text: "hello from TypeScript" } });
  const progress: number[] = [];
  const long = await client.callTool(
    { name: "long_task", arguments: { steps: 2, interval_seconds: 0.2 } },
    undefined,
    {
      // AgentCore allows 15 minutes synchronous; the SDK's default is 60 s.
      timeout: 15 * 60 * 1000,
      resetTimeoutOnProgress: true,
      onprogress: (p: { progress: number }) => progress.push(p.progress),
    },
  );
  console.log(
    JSON.stringify({
      tools: tools.tools.map((t) => t.name),
      echo: echo.content?.[0]?.text,
      progress,
      long: long.isError ? "error" : "ok",
    }),
  );
}
