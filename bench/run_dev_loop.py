"""`agentcore-mcp dev`'s figure: save -> the first call answered by the new code.

    uv run python bench/run_dev_loop.py [--rounds 1] [--json]

A local AgentCore this script starts (tests.support.local), a copy of the test project
`tests/deploy/projects/tabletool` (a user's server with a third-party dependency), and,
as a user runs them, `agentcore-mcp dev` and `agentcore-mcp proxy --port` (what
Inspector goes through) as subprocesses. A client holds one MCP session through the
proxy and calls the tool in a loop (20 ms apart).

Each round makes three saves of the tool's module: a change, a broken save (an import
error), and a fix. Each is measured from the file's write:
- a change or a fix: to the first answer of the new code (the proxy re-initializes when
  dev ends the session on the old version, as any client would on a 404);
- the broken save: to dev printing the error with its file and line; the old code's
  answers are checked to go on meanwhile.
Target (issue 21): the median of the three <= 1 s. Exit status 1 when missed.

The baseline, in the same run: after dev stops, a change saved and served the way it was
before dev (`agentcore-mcp deploy`, then `agentcore-mcp tools call --remote`, a new
session), measured from the write to that answer (`--baseline N` saves, default 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from _harness import PYTHON, REPO, log, machine, source_revision

from tests.support.local import CREDS, REGION, run_local_agentcore
from tests.support.procs import free_port

PROJECT = REPO / "tests" / "deploy" / "projects" / "tabletool"
TOOL = "tabletool/server.py"
TARGET_SECONDS = 1.0
CALL_GAP = 0.02
WAIT = 300.0
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _rpc(client: httpx2.Client, url: str, method: str, params: dict[str, Any], rid: int) -> Any:
    body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
    response = client.post(url, json=body, headers=HEADERS)
    text = response.text
    if text.startswith(("event:", "data:", ":")):
        text = next(ln[5:] for ln in text.splitlines() if ln.startswith("data:"))
    return json.loads(text)


def _answer(client: httpx2.Client, url: str, rid: int) -> str:
    doc = _rpc(client, url, "tools/call", {"name": "table", "arguments": {"rows": [["a"]]}}, rid)
    result = doc.get("result") or {}
    return "".join(c.get("text", "") for c in result.get("content", [])) or json.dumps(doc)


def _wait_output(path: Path, pattern: str, after: int, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + WAIT
    for _ in range(int(WAIT / 0.01) + 1):
        found = re.compile(pattern).search(path.read_text(errors="replace"), after)
        if found:
            return found.end()
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise SystemExit(f"no {pattern!r} in dev's output:\n{path.read_text(errors='replace')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--baseline", type=int, default=1, help="saves served the old way (deploy, tools call)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dev-"))
    project = tmp / "tabletool"
    shutil.copytree(PROJECT, project)
    source = project / TOOL
    original = source.read_text()
    state = tmp / "state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "400"})
    saves: list[dict[str, Any]] = []
    baseline: list[float] = []
    (tmp / "local").mkdir()
    with run_local_agentcore(tmp / "local", host_path=False) as handle:
        dev_log = tmp / "dev.log"
        with dev_log.open("wb") as out:
            dev = subprocess.Popen(
                [PYTHON, "-m", "agentcore_mcp", "dev", "--state", str(state),
                 "--local-home", str(handle.home)],
                cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        proxy: subprocess.Popen[bytes] | None = None
        try:
            seen = _wait_output(dev_log, r"watching .*Ctrl-C stops", 0, dev)
            port = free_port()
            proxy = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "agentcore_mcp",
                    "proxy",
                    "--port",
                    str(port),
                    "--state",
                    str(state),
                ],
                cwd=project,
                env={**env, **CREDS, "AWS_REGION": REGION},
                stdout=subprocess.DEVNULL,
                stderr=(tmp / "proxy.log").open("wb"),
                stdin=subprocess.DEVNULL,
            )
            log("dev is watching; starting the client through the proxy")
            url = f"http://127.0.0.1:{port}/mcp"
            with httpx2.Client(timeout=60, trust_env=False) as client:
                for _ in range(300):
                    try:
                        init = {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "bench", "version": "0"}}  # fmt: skip
                        _rpc(client, url, "initialize", init, 0)
                        break
                    except httpx2.HTTPError:
                        time.sleep(0.1)
                rid = 1
                for round_no in range(args.rounds):
                    for kind in ("change", "broken", "fix"):
                        marker = f"v{round_no}-{kind}"
                        if kind == "broken":
                            body = original + "\nimport no_such_module_here\n"
                        else:
                            body = original.replace(
                                'return tabulate(rows, tablefmt="plain")',
                                f'return "{marker} " + tabulate(rows, tablefmt="plain")',
                            )
                        before = _answer(client, url, rid)
                        started = time.perf_counter()
                        source.write_text(body)
                        if kind == "broken":
                            seen = _wait_output(
                                dev_log, r"server\.py:\d+: ModuleNotFoundError", seen, dev
                            )
                            took = time.perf_counter() - started
                            rid += 1
                            still = _answer(client, url, rid)
                            if still != before:
                                raise SystemExit(f"broken save changed the answer: {still!r}")
                        else:
                            for _ in range(int(WAIT / CALL_GAP)):
                                rid += 1
                                if _answer(client, url, rid).startswith(marker):
                                    break
                                time.sleep(CALL_GAP)
                            took = time.perf_counter() - started
                            seen = _wait_output(dev_log, r"serving version \d+", seen, dev)
                        time.sleep(0.3)  # dev prints its line after the answer can come
                        reported = re.findall(r"\((\d+\.\d+) s: ([^)]*)\)", dev_log.read_text())
                        saves.append(
                            {
                                "kind": kind,
                                "seconds": round(took, 3),
                                "dev_seconds": float(reported[-1][0]) if reported else None,
                                "dev_phases": reported[-1][1] if reported else None,
                            }
                        )
                        log(f"{kind}: {took:.3f} s")
                        time.sleep(0.5)  # let the reload's tail (log lines) settle
            # The baseline, on the same machine in the same run: what a user did before
            # dev, `deploy` after the save, then `tools call --remote` (a new session).
            dev.terminate()
            dev.wait(timeout=60)
            user_env = {**env, **CREDS, "AWS_REGION": REGION}
            for index in range(args.baseline):
                marker = f"b{index}"
                body = original.replace(
                    'return tabulate(rows, tablefmt="plain")',
                    f'return "{marker} " + tabulate(rows, tablefmt="plain")',
                )
                started = time.perf_counter()
                source.write_text(body)
                subprocess.run(
                    [PYTHON, "-m", "agentcore_mcp", "deploy", "--state", str(state),
                     "--local-home", str(handle.home)],
                    cwd=project, env=env, check=True, capture_output=True, timeout=900,
                )  # fmt: skip
                called = subprocess.run(
                    [PYTHON, "-m", "agentcore_mcp", "tools", "call", "table", "--args",
                     '{"rows": [["a"]]}', "--remote", "--state", str(state)],
                    cwd=project, env=user_env, capture_output=True, text=True, timeout=300,
                )  # fmt: skip
                took = time.perf_counter() - started
                if marker not in called.stdout:
                    raise SystemExit(
                        f"baseline: no {marker!r} in {called.stdout!r} {called.stderr}"
                    )
                baseline.append(round(took, 3))
                log(f"baseline (deploy + tools call): {took:.3f} s")
        finally:
            for proc in (proxy, dev):
                if proc is None:
                    continue
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    median = statistics.median(s["seconds"] for s in saves)
    figures = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "revision": source_revision(),
        "machine": machine(),
        "saves": saves,
        "median_seconds": round(median, 3),
        "baseline_seconds": baseline,
        "ratio_to_baseline": round(median / statistics.median(baseline), 3) if baseline else None,
        "target_seconds": TARGET_SECONDS,
        "met": median <= TARGET_SECONDS,
    }
    out = REPO / "bench" / "results" / "dev-loop-latest.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for s in saves:
            print(
                f"{s['kind']:7} {s['seconds']:.3f} s (dev: {s['dev_seconds']} s: {s['dev_phases']})"
            )
        print(f"median {median:.3f} s (target <= {TARGET_SECONDS} s)")
        if baseline:
            print(
                f"before dev (deploy, then tools call --remote): {statistics.median(baseline):.3f}"
                f" s; dev is {median / statistics.median(baseline):.3f}x"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
