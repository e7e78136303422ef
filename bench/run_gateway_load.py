"""Load through the local AgentCore's data plane: many sessions, many calls, nothing lost.

    uv run python bench/run_gateway_load.py [--calls 10000] [--sessions 50] [--json]

Starts the local AgentCore with throttling off (`--rate-limit 0`) and room for every
session (`--max-active-sessions`), deploys the sample server from a code zip, starts SESSIONS
sessions (one call each, not counted), then makes CALLS SigV4-signed `tools/call echo`
calls spread evenly over them: one asyncio task per session, each sending its share one
after another on its own keep-alive connection, so SESSIONS calls are in flight at once.
Every answer is checked (HTTP 200, the echoed text). Reports throughput, p50, p99 and
max, and the number of failed calls; exit 1 when any call failed. Signing runs in the
driver (75 us a call) on the same two cores, so throughput is a floor.
Every loop is bounded: at most 100,000 calls, 200 sessions and 600 s of measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
from _harness import add_repo_to_path, log, machine, source_revision
from load import ECHO_TEXT, ERA_2025, expect_echo, jsonrpc_from_body, mcp_request, percentile

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
MAX_SECONDS = 600.0


async def drive(url: str, signer: Any, sessions: int, calls: int) -> dict[str, Any]:
    base = mcp_request(url, "tools/call", ERA_2025)
    headers = dict(base.headers)
    ids = [f"bench-load-session-{i:04d}-{'0' * 24}" for i in range(sessions)]
    share = [calls // sessions + (1 if i < calls % sessions else 0) for i in range(sessions)]
    latencies: list[float] = []
    failures: list[str] = []
    # One client (one connection) per session: httpx2's pool scans every connection on
    # every request, which made the driver, not the gateway, the bottleneck at 50.
    clients = {s: httpx2.AsyncClient(timeout=120.0) for s in ids}
    try:

        async def one(session: str) -> float:
            client = clients[session]
            request = client.build_request(
                "POST", url, content=base.body, headers={**headers, SESSION_HEADER: session}
            )
            signer.sign_in_place(request)
            began = time.perf_counter()
            response = await client.send(request)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
            expect_echo(
                jsonrpc_from_body(response.headers.get("content-type", ""), response.content)
            )
            return elapsed

        log(f"starting {sessions} sessions (one call each, not counted)")
        began = time.perf_counter()
        await asyncio.gather(*(one(s) for s in ids))
        log(f"  all sessions up in {time.perf_counter() - began:.1f} s")

        deadline = time.perf_counter() + MAX_SECONDS

        async def worker(session: str, count: int) -> None:
            for _ in range(count):
                if time.perf_counter() > deadline:
                    failures.append("time limit reached")
                    return
                try:
                    latencies.append(await one(session))
                except Exception as exc:  # counted and reported, never hidden
                    failures.append(f"{type(exc).__name__}: {exc}")

        log(f"measuring: {calls} calls over {sessions} sessions")
        began = time.perf_counter()
        await asyncio.gather(*(worker(s, n) for s, n in zip(ids, share, strict=True)))
        elapsed = time.perf_counter() - began
    finally:
        for client in clients.values():
            await client.aclose()
    ordered = sorted(latencies)
    return {
        "calls": calls,
        "sessions": sessions,
        "ok": len(latencies),
        "failed": len(failures),
        "first_failures": failures[:5],
        "seconds": round(elapsed, 2),
        "throughput_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(percentile(ordered, 99) * 1000, 2) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


def run(calls: int, sessions: int, tmp: Path) -> dict[str, Any]:
    add_repo_to_path()
    from botocore.credentials import ReadOnlyCredentials

    from agentcore_mcp.auth import SigV4Signer
    from tests.support.local import CREDS, REGION, run_local_agentcore

    signer = SigV4Signer(
        ReadOnlyCredentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"], None),
        REGION,
    )
    extra = (
        "--rate-limit", "0", "--max-active-sessions", str(sessions + 4), "--startup-timeout", "120"
    )  # fmt: skip
    log("starting the local AgentCore")
    with run_local_agentcore(tmp, extra_args=extra) as handle:
        runtime = handle.create_runtime("bench_load")
        if runtime.get("status") != "READY":
            raise RuntimeError(f"runtime not READY: {runtime}")
        arn = str(runtime["agentRuntimeArn"])
        url = f"{handle.url}/runtimes/{quote(arn, safe='')}/invocations?qualifier=DEFAULT"
        figures = asyncio.run(drive(url, signer, sessions, calls))
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "machine": machine(),
        "echo_text": ECHO_TEXT,
        **figures,
    }


def render(doc: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{doc['calls']} tools/call echo over {doc['sessions']} sessions, throttling off",
            f"  ok {doc['ok']}, failed {doc['failed']} in {doc['seconds']} s: "
            f"{doc['throughput_per_s']:.0f} calls/s",
            f"  latency p50 {doc['p50_ms']} ms, p99 {doc['p99_ms']} ms, max {doc['max_ms']} ms",
            *(f"  failure: {f}" for f in doc["first_failures"]),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, 200))
    calls = max(sessions, min(args.calls, 100_000))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        try:
            doc = run(calls, sessions, Path(tmp))
        except Exception as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(render(doc), file=sys.stderr)
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(render(doc))
    return 1 if doc["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
