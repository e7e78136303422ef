"""The deployer's figures: a full deploy, a no-change rerun, a one-line change, and a new
session's first answer with and without the startup manifest in the zip.

    uv run python bench/run_deploy.py [--trials 5] [--json]

Everything runs against a local AgentCore this script starts (tests.support.local), with
the deployer as a user runs it: `agentcore-mcp deploy` as a subprocess, in a copy of the
test project `tests/deploy/projects/tabletool` (a user's server with a third-party
dependency). The full deploy starts from an empty dependency cache (AGENTCORE_MCP_CACHE;
uv's own wheel cache is left warm, as on any developer machine). Targets (issue 9): rerun
<= 0.1x the full deploy with no write call, one-line change <= 0.4x, first answer with
the manifest <= 0.5x of without. Exit status 1 when a target is missed or a step fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _harness import PYTHON, REPO, log, machine, source_revision

from tests.support.local import run_local_agentcore

PROJECT = REPO / "tests" / "deploy" / "projects" / "tabletool"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"},
    },
}


def deploy_cli(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-m", "agentcore_mcp", "deploy", *args, "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"deploy {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return elapsed, doc


def cli_startup(env: dict[str, str], cwd: Path) -> float:
    """Median wall time of `agentcore-mcp deploy --help`: the interpreter and CLI imports
    every command pays before it does anything."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "-m", "agentcore_mcp", "deploy", "--help"],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=120,
            check=True,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def first_answer(client: Any, arn: str) -> float:
    """Seconds from sending `initialize` on a new session to its answer (instance start)."""
    session = f"bench-first-answer-{uuid.uuid4().hex}"
    started = time.perf_counter()
    out = client.invoke_agent_runtime(
        agentRuntimeArn=arn,
        runtimeSessionId=session,
        payload=json.dumps(INITIALIZE).encode(),
        contentType="application/json",
        accept="application/json, text/event-stream",
    )
    body = out["response"].read()
    elapsed = time.perf_counter() - started
    if b"serverInfo" not in body:
        raise SystemExit(f"initialize on {arn} did not answer: {body[:300]!r}")
    client.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="new sessions per variant")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    opts = parser.parse_args()
    trials = max(1, min(opts.trials, 20))
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp_name:
        tmp = Path(tmp_name)
        project = tmp / "tabletool"
        shutil.copytree(PROJECT, project)
        (tmp / "local").mkdir()
        # The deployer's zips carry everything: instances see their zip and the stdlib only.
        with run_local_agentcore(tmp / "local", host_path=False) as local:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env["AGENTCORE_MCP_CACHE"] = str(tmp / "cache")  # empty: the first deploy installs
            common = ["--local-home", str(local.home)]
            startup = cli_startup(env, project)
            log(f"CLI startup {startup:.2f} s")
            log("full deploy (empty dependency cache)")
            full, first = deploy_cli(common, project, env)
            log(f"  {full:.2f} s")
            log("rerun, nothing changed")
            rerun, second = deploy_cli(common, project, env)
            log(f"  {rerun:.2f} s, writes {second['writes']}")
            server = project / "tabletool" / "server.py"
            server.write_text(server.read_text().replace('tablefmt="plain"', 'tablefmt="simple"'))
            log("one-line tool change")
            change, third = deploy_cli(common, project, env)
            log(f"  {change:.2f} s, steps {third['steps']}")
            log("the same server without a startup manifest, for the first-answer figure")
            _, bare = deploy_cli(
                [*common, "--name", "tabletool_bare", "--no-manifest"], project, env
            )
            data = local.client("bedrock-agentcore")
            arns = {
                "with_manifest": third["deployment"]["runtime"]["arn"],
                "without_manifest": bare["deployment"]["runtime"]["arn"],
            }
            samples: dict[str, list[float]] = {k: [] for k in arns}
            for _ in range(trials):  # alternate, so drift on the machine hits both alike
                for variant, arn in arns.items():
                    samples[variant].append(first_answer(data, arn))
            medians = {k: statistics.median(v) for k, v in samples.items()}
            log(f"  first answer medians: {medians}")
    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "revision": source_revision(),
        "machine": machine(),
        "full_deploy_s": round(full, 3),
        "rerun_s": round(rerun, 3),
        "rerun_ratio": round(rerun / full, 3),
        "rerun_writes": second["writes"],
        "one_line_change_s": round(change, 3),
        "one_line_change_ratio": round(change / full, 3),
        "one_line_change_steps": third["steps"],
        "cli_startup_s": round(startup, 3),
        # deploy()'s own wall time, from --json: without the interpreter and CLI imports
        "library_s": {
            "full": first["seconds"],
            "rerun": second["seconds"],
            "one_line_change": third["seconds"],
        },
        "rerun_ratio_after_startup": round((rerun - startup) / (full - startup), 3),
        "one_line_change_ratio_after_startup": round((change - startup) / (full - startup), 3),
        "first_answer_with_manifest_s": round(medians["with_manifest"], 3),
        "first_answer_without_manifest_s": round(medians["without_manifest"], 3),
        "first_answer_ratio": round(medians["with_manifest"] / medians["without_manifest"], 3),
        "first_answer_samples": {k: [round(x, 3) for x in v] for k, v in samples.items()},
    }
    targets = {
        "rerun_ratio <= 0.1": figures["rerun_ratio"] <= 0.1,
        "rerun makes no write call": not second["writes"],
        "one_line_change_ratio <= 0.4": figures["one_line_change_ratio"] <= 0.4,
        "first_answer_ratio <= 0.5": figures["first_answer_ratio"] <= 0.5,
    }
    figures["targets"] = targets
    out = REPO / "bench" / "results" / "deploy-latest.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    if opts.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"full deploy          {full:7.2f} s   1.00x")
        print(
            f"rerun, no change     {rerun:7.2f} s   {figures['rerun_ratio']:.3f}x   "
            f"writes: {len(second['writes'])}"
        )
        print(f"one-line change      {change:7.2f} s   {figures['one_line_change_ratio']:.3f}x")
        print(
            f"first answer, new session: {medians['with_manifest'] * 1000:.0f} ms with the "
            f"manifest, {medians['without_manifest'] * 1000:.0f} ms without "
            f"({figures['first_answer_ratio']:.3f}x)"
        )
        print(
            f"CLI startup          {startup:7.2f} s   (ratios without it: rerun "
            f"{figures['rerun_ratio_after_startup']:.3f}x, one-line change "
            f"{figures['one_line_change_ratio_after_startup']:.3f}x)"
        )
        lib = figures["library_s"]
        print(
            f"deploy() alone       {lib['full']:.2f} / {lib['rerun']:.2f} / "
            f"{lib['one_line_change']:.2f} s (full / rerun / one-line change)"
        )
        for name, ok in targets.items():
            print(f"  {'met ' if ok else 'MISSED'} {name}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
