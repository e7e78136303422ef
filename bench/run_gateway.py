"""The latency the local AgentCore adds to one tool call.

    uv run python bench/run_gateway.py [--requests 300] [--json]

Median and p99 of one `tools/call echo` through the local AgentCore (SigV4-signed
`POST /runtimes/{arn}/invocations`, a fixed runtime session id, the sample server
deployed from a code zip) against the same call made directly to a separately started
`agentcore-mcp serve` sample server. Requests are sequential (one in flight), on one
keep-alive connection per path, alternating gateway and direct so that drift on the
machine hits both equally. Signing happens before the clock starts: the figure is the
gateway's own cost (routing, SigV4 verification, session lookup, proxying), not the
client's. No target: the script reports figures and exits 0 (1 if a call fails).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
from _harness import (
    PYTHON,
    ServerSpec,
    add_repo_to_path,
    cpu_snapshot,
    foreign_cpu_share,
    log,
    machine,
    serving,
    source_revision,
    wait_quiet,
)
from load import ERA_2025, expect_echo, jsonrpc_from_body, mcp_request, percentile

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
# AgentCore requires 33-256 characters.
SESSION_ID = "bench-gateway-session-00000000000000000001"
MAX_REQUESTS = 5_000


@dataclass(slots=True)
class Timings:
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.seconds)
        return {
            "n": len(ordered),
            "median_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(percentile(ordered, 99) * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
            "min_ms": round(ordered[0] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3),
        }


def timed_call(client: httpx2.Client, request: httpx2.Request) -> float:
    """Send a prepared request and read the whole answer; check it after the clock stops."""
    started = time.perf_counter()
    response = client.send(request)
    response.read()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    expect_echo(jsonrpc_from_body(response.headers.get("content-type", ""), response.content))
    return elapsed


def run(requests: int, warmup: int, tmp: Path, wait_quiet_s: float = 0.0) -> dict[str, Any]:
    add_repo_to_path()
    from botocore.credentials import ReadOnlyCredentials

    from agentcore_mcp.auth import SigV4Signer
    from tests.support.local import CREDS, REGION, run_local_agentcore

    signer = SigV4Signer(
        ReadOnlyCredentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"], None),
        REGION,
    )
    direct_spec = ServerSpec(
        "direct-sample",
        (PYTHON, "-m", "agentcore_mcp", "serve", "--host", "127.0.0.1", "--port", "{port}"),
    )
    log("starting the local AgentCore and the direct sample server")
    with (
        run_local_agentcore(tmp, extra_args=("--startup-timeout", "30")) as handle,
        serving(direct_spec, tmp) as direct,
        httpx2.Client(timeout=60.0) as gateway_client,
        httpx2.Client(timeout=60.0) as direct_client,
    ):
        log("deploying the sample server from a code zip (create_runtime)")
        runtime = handle.create_runtime("bench_gateway")
        if runtime.get("status") != "READY":
            raise RuntimeError(f"runtime not READY: {runtime}")
        arn = str(runtime["agentRuntimeArn"])
        gateway_url = f"{handle.url}/runtimes/{quote(arn, safe='')}/invocations?qualifier=DEFAULT"
        base = mcp_request(direct.url, "tools/call", ERA_2025)
        headers = dict(base.headers)

        def gateway_request() -> httpx2.Request:
            request = gateway_client.build_request(
                "POST",
                gateway_url,
                content=base.body,
                headers={**headers, SESSION_HEADER: SESSION_ID},
            )
            signer.sign_in_place(request)
            return request

        def direct_request() -> httpx2.Request:
            return direct_client.build_request(
                "POST",
                direct.url,
                content=base.body,
                headers={**headers, SESSION_HEADER: SESSION_ID},
            )

        paths: dict[str, tuple[httpx2.Client, Callable[[], httpx2.Request]]] = {
            "gateway": (gateway_client, gateway_request),
            "direct": (direct_client, direct_request),
        }
        first: dict[str, float] = {}
        log(f"warm-up: {warmup} calls each (the first gateway call starts the session)")
        for name, (client, build) in paths.items():
            first[name] = timed_call(client, build())
            for _ in range(max(0, warmup - 1)):
                timed_call(client, build())
        timings = {name: Timings() for name in paths}
        log(f"measuring: {requests} sequential calls each, alternating")
        ours = (handle.process.proc.pid, direct.proc.pid)
        if wait_quiet_s > 0:
            wait_quiet(wait_quiet_s)
        before = cpu_snapshot(*ours)
        for _ in range(requests):
            for name, (client, build) in paths.items():
                timings[name].seconds.append(timed_call(client, build()))
        other = foreign_cpu_share(before, cpu_snapshot(*ours))

    gateway = timings["gateway"].summary()
    direct_summary = timings["direct"].summary()
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "machine": machine(),
        "requests": requests,
        "warmup": warmup,
        "session_id": SESSION_ID,
        "gateway": gateway,
        "direct": direct_summary,
        "first_call_ms": {k: round(v * 1000, 1) for k, v in first.items()},
        "other_cpu_pct": None if other is None else round(other * 100, 1),
        "added_ms": {
            "median": round(gateway["median_ms"] - direct_summary["median_ms"], 3),
            "p99": round(gateway["p99_ms"] - direct_summary["p99_ms"], 3),
            "mean": round(gateway["mean_ms"] - direct_summary["mean_ms"], 3),
        },
    }


def render(doc: dict[str, Any]) -> str:
    rows = [
        f"one tools/call echo, {doc['requests']} sequential calls each "
        f"(after {doc['warmup']} warm-up calls), fixed session id",
        f"  {'path':<10} {'median ms':>10} {'p99 ms':>9} {'mean ms':>9} {'max ms':>9}",
    ]
    for name in ("direct", "gateway"):
        s = doc[name]
        rows.append(
            f"  {name:<10} {s['median_ms']:>10.2f} {s['p99_ms']:>9.2f} "
            f"{s['mean_ms']:>9.2f} {s['max_ms']:>9.2f}"
        )
    added = doc["added_ms"]
    rows.append(
        f"  {'added':<10} {added['median']:>10.2f} {added['p99']:>9.2f} "
        f"{added['mean']:>9.2f}   (gateway minus direct)"
    )
    first = doc["first_call_ms"]
    rows.append(
        f"  first call: gateway {first['gateway']:.0f} ms (starts the session's "
        f"instance), direct {first['direct']:.0f} ms"
    )
    other = doc["other_cpu_pct"]
    if other is not None:
        rows.append(f"  other processes used {other:.0f}% of the CPUs meanwhile")
        if other > 10:
            rows.append("  WARNING: the machine was busy; the figures are unreliable")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="calls per path (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="discarded calls per path first")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for an idle machine before measuring (shared machines)",
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    requests = max(1, min(args.requests, MAX_REQUESTS))
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        try:
            doc = run(
                requests,
                max(1, min(args.warmup, 1000)),
                Path(tmp),
                max(0.0, min(args.wait_quiet, 600.0)),
            )
        except Exception as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    table = render(doc)
    if args.json:
        print(table, file=sys.stderr)
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
