"""Large-body figures for issue 8: peak RSS and other callers' latency under big bodies.

Each scenario starts a fresh `agentcore-mcp serve` (the sample server) on 127.0.0.1, so
the server's peak RSS (VmHWM) belongs to that scenario alone:

- `amplify-99MB`: a 99 MB `echo` call whose ignored `junk` argument holds 33 million
  empty arrays. Figure: the server's peak RSS against the body's size (target: <= 4x).
- `amplify-50MB-latency` and `echo-50MB-latency`: small `ping` calls, one after another
  on one keep-alive connection, while a 50 MB body (the amplifying one; a legitimate
  echo) is sent and handled. Figure: the pings' p99 (target: < 100 ms).
- `echo-99MB`: a legitimate 99 MB echo. Figure: it answers 200 with the text back.

`--src DIR` runs the server from another source tree (e.g. a `git worktree` of an older
commit) to get "before" figures. Every loop is bounded in count and time.

    uv run python bench/run_hardening.py [--json] [--src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
from _harness import (
    PYTHON,
    REPO,
    ServerSpec,
    log,
    machine,
    serving,
    source_revision,
    vm_hwm_kib,
)

HEADERS = {"content-type": "application/json", "accept": "application/json"}
PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
MAX_PINGS = 5000
SCENARIO_SECONDS = 120.0


def echo_body(size: int, *, amplify: bool) -> tuple[bytes, str]:
    """An `echo` call of about `size` bytes: junk of `[],` in an ignored argument, or text."""
    head = b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":'
    if amplify:
        count = (size - 200) // 3
        return head + b'{"text":"hi","junk":[' + b"[]," * count + b"[]]}}}", "hi"
    text = "legit text " * ((size - 200) // 11)
    return head + b'{"text":"' + text.encode() + b'"}}}', text


def post(client: httpx2.Client, url: str, body: bytes) -> tuple[int, Any, float]:
    t0 = time.perf_counter()
    response = client.post(url, content=body, headers=HEADERS)
    elapsed = time.perf_counter() - t0
    try:
        doc = response.json()
    except ValueError:
        doc = response.text[:200]
    return response.status_code, doc, elapsed


def summary(status: int, doc: Any, expected_text: str | None) -> str:
    if isinstance(doc, dict) and "error" in doc:
        return f"{status} {doc['error'].get('code')}: {str(doc['error'].get('message'))[:80]}"
    if isinstance(doc, dict) and "result" in doc:
        text = doc["result"]["content"][0]["text"]
        return f"{status} result, text {'matches' if text == expected_text else 'DIFFERS'}"
    return f"{status} {str(doc)[:80]}"


def one_big(spec: ServerSpec, log_dir: Path, size: int, *, amplify: bool) -> dict[str, Any]:
    body, text = echo_body(size, amplify=amplify)
    with serving(spec, log_dir) as running, httpx2.Client(timeout=SCENARIO_SECONDS) as client:
        post(client, running.url, PING)
        base_kib = vm_hwm_kib(running.proc.pid)
        try:
            status, doc, elapsed = post(client, running.url, body)
            outcome = summary(status, doc, text)
        except httpx2.HTTPError as exc:
            elapsed, outcome = float("nan"), f"failed: {exc!r}"
        alive = running.proc.poll() is None
        peak_kib = vm_hwm_kib(running.proc.pid) if alive else 0
        after = post(client, running.url, PING)[0] if alive else 0
    return {
        "body_mb": round(len(body) / 1e6, 1),
        "outcome": outcome,
        "seconds": round(elapsed, 2),
        "rss_before_mb": round(base_kib / 1024, 1),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "peak_rss_x_body": round(peak_kib * 1024 / len(body), 2),
        "serves_after": after == 200,
    }


def latency_under(spec: ServerSpec, log_dir: Path, size: int, *, amplify: bool) -> dict[str, Any]:
    body, text = echo_body(size, amplify=amplify)
    big: dict[str, Any] = {}
    with serving(spec, log_dir) as running, httpx2.Client(timeout=SCENARIO_SECONDS) as pinger:
        for _ in range(20):  # warm the connection and the fast path
            post(pinger, running.url, PING)

        def send_big() -> None:
            with httpx2.Client(timeout=SCENARIO_SECONDS) as client:
                try:
                    status, doc, elapsed = post(client, running.url, body)
                    big.update(outcome=summary(status, doc, text), seconds=round(elapsed, 2))
                except httpx2.HTTPError as exc:
                    big.update(outcome=f"failed: {exc!r}")

        sender = threading.Thread(target=send_big, daemon=True)
        latencies: list[float] = []
        deadline = time.monotonic() + SCENARIO_SECONDS
        sender.start()
        while sender.is_alive() and len(latencies) < MAX_PINGS and time.monotonic() < deadline:
            status, _, elapsed = post(pinger, running.url, PING)
            if status == 200:
                latencies.append(elapsed)
            time.sleep(0.005)
        sender.join(SCENARIO_SECONDS)
    latencies.sort()
    return {
        "body_mb": round(len(body) / 1e6, 1),
        "big_call": big,
        "pings": len(latencies),
        "ping_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "ping_p99_ms": (
            round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1)
            if latencies
            else None
        ),
        "ping_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    parser.add_argument("--src", type=Path, help="serve from this source tree's src/")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    args = parser.parse_args()
    src = (args.src or REPO).resolve()
    env = {"PYTHONPATH": f"{src / 'src'}{os.pathsep}{src}"}
    spec = ServerSpec(
        "ours",
        (PYTHON, "-m", "agentcore_mcp", "serve", "--host", "127.0.0.1", "--port", "{port}"),
        tuple(env.items()),
    )
    log_dir = REPO / "bench" / "results" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine(),
        "source": source_revision() if args.src is None else str(src),
    }
    scenarios = [
        ("amplify-99MB", lambda: one_big(spec, log_dir, 99_000_000, amplify=True)),
        (
            "amplify-50MB-latency",
            lambda: latency_under(spec, log_dir, 50_000_000, amplify=True),
        ),
        ("echo-50MB-latency", lambda: latency_under(spec, log_dir, 50_000_000, amplify=False)),
        ("echo-99MB", lambda: one_big(spec, log_dir, 99_000_000, amplify=False)),
    ]
    for name, run in scenarios:
        if args.only and name not in args.only:
            continue
        log(f"{name} ...")
        results[name] = run()
        log(f"{name}: {json.dumps(results[name])}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
