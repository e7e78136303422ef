"""A new session's first answer through the local AgentCore, with and without a manifest.

    uv run python bench/run_session_start.py [--rounds 7] [--json]

Deploys the same code zip twice: the deployer's entry point serving the sample server
(`serve_spec`), once with the startup manifest the deployer puts in every zip it builds
(`.agentcore-mcp/manifest.json`, written here with `write_manifest`) and once without.
Each round starts one new session on each runtime, alternating which goes first: the
time from sending a SigV4-signed `ping` with a new session id to its answer (the
instance's spawn, readiness and the call), then StopRuntimeSession. Median of ROUNDS
after one discarded round. Target: with / without <= 0.35. Exit 1 if missed.
Every loop is bounded (at most 50 rounds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
from _harness import add_repo_to_path, log, machine, source_revision

TARGET = 0.35
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
ENTRY = """\
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, ".agentcore-mcp/manifest.json")
if os.path.exists(MANIFEST):
    os.environ.setdefault("MCP_STARTUP_MANIFEST", MANIFEST)
from agentcore_mcp.server.run import serve_spec
sys.exit(serve_spec(None))
"""
PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()


def run(rounds: int, tmp: Path) -> dict[str, Any]:
    add_repo_to_path()
    from botocore.credentials import ReadOnlyCredentials

    from agentcore_mcp.auth import SigV4Signer
    from tests.support.local import (
        CREDS,
        REGION,
        kit_files,
        run_local_agentcore,
        with_startup_manifest,
    )

    signer = SigV4Signer(
        ReadOnlyCredentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"], None),
        REGION,
    )
    # Both zips carry their own copy of the kit, as the deployer's do.
    plain = {"main.py": ENTRY, **kit_files()}
    stage = tmp / "stage"
    with_manifest = with_startup_manifest(plain, stage)
    with run_local_agentcore(tmp, extra_args=("--startup-timeout", "60")) as handle:
        log("deploying the two runtimes")
        arns = {
            "with": handle.create_runtime("start_with_manifest", with_manifest)["agentRuntimeArn"],
            "without": handle.create_runtime("start_without_manifest", plain)["agentRuntimeArn"],
        }
        data = handle.client("bedrock-agentcore")
        times: dict[str, list[float]] = {"with": [], "without": []}
        with httpx2.Client(timeout=120) as client:

            def first_answer(kind: str) -> float:
                arn = arns[kind]
                session = f"bench-start-{uuid.uuid4()}"
                request = client.build_request(
                    "POST",
                    f"{handle.url}/runtimes/{quote(arn, safe='')}/invocations",
                    content=PING,
                    headers={
                        "content-type": "application/json",
                        "accept": "application/json, text/event-stream",
                        SESSION_HEADER: session,
                    },
                )
                signer.sign_in_place(request)
                began = time.perf_counter()
                response = client.send(request)
                elapsed = time.perf_counter() - began
                if response.status_code != 200 or response.json().get("result") != {}:
                    raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
                data.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session)
                return elapsed

            for n in range(rounds + 1):
                order = ("with", "without") if n % 2 else ("without", "with")
                for kind in order:
                    seconds = first_answer(kind)
                    if n:  # the first round warms the page cache and is discarded
                        times[kind].append(seconds)
                log(
                    f"  round {n}: "
                    + ", ".join(f"{k} {times[k][-1] * 1000:.0f} ms" for k in times if times[k])
                )
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["with"] / medians["without"]
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "machine": machine(),
        "rounds": rounds,
        "first_answer_ms": {k: [round(x * 1000, 1) for x in v] for k, v in times.items()},
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "ratio": round(ratio, 3),
        "target": TARGET,
        "met": ratio <= TARGET,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        doc = run(max(1, min(args.rounds, 50)), Path(tmp))
    m = doc["median_ms"]
    table = (
        f"new session's first answer (ping), median of {doc['rounds']}: with manifest "
        f"{m['with']:.0f} ms, without {m['without']:.0f} ms: {doc['ratio']:.2f}x "
        f"(target <= {TARGET}: {'met' if doc['met'] else 'MISSED'})"
    )
    if args.json:
        print(table, file=sys.stderr)
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(table)
    return 0 if doc["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
