"""Cold start as AgentCore runs it: spawn -> first `tools/call` answer, kit against SDK.

    uv run python bench/run_cold_call.py [--rounds 9] [--local-rounds 7] [--json] [--no-bytecode]

On AgentCore every new session is a new microVM started from the code zip with nothing
cached. This script reproduces that start for three servers built from the same files:

- `kit`: the deployer's own zip (`deploy.artifact.codezip.build_zip` of `bench/servers/coldproj`,
  one `echo` tool, the same as `tests/support/bench_app.py`), started by its `main.py`;
- `sdk`: the same unpacked packages, started by a script serving the same `MCPServer`
  with the official SDK's `streamable_http_app(stateless_http=True, json_response=True)`
  under uvicorn (what a user zipping the SDK alone deploys);
- `floor`: the same packages, uvicorn and a raw ASGI callable sending the SDK's reply
  bytes (no MCP work at all).

Each start is a fresh hard-linked copy of the unpacked zip (new folders, so no
`__pycache__` a previous start wrote can be found), run by the base interpreter
(`sys._base_executable`) as `python -I -S -B`: no site-packages of any environment, no
PYTHON* variables, no bytecode written; `main.py` puts its own folder on `sys.path`. So
the process sees the zip and the standard library only. Bytecode is used when the zip
carries it (`--no-bytecode` strips it from the kit's copy, to measure without it).

Two client patterns, timed from just before the spawn to the last answer's last byte,
the client retrying the connection every 2 ms until the port opens:

- `call`: the first request is `tools/call` (a stateless client that knows the tool);
- `handshake`: `initialize`, `notifications/initialized`, `tools/list`, `tools/call`
  on one keep-alive connection (what the official client does).

Rounds are interleaved (each round runs every server and pattern, the order rotating),
one round discarded; medians and ratios to the SDK's median. The kit's and the SDK's
`tools/call` answers are compared byte for byte on every run. Exit 1 when the kit's ratio
misses TARGET in either pattern or through the local AgentCore. Every loop is bounded
(at most 50 rounds; 60 s per start).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _harness import BENCH, REPO, free_port, log, machine, source_revision

TARGET = 0.5
PROJECT = BENCH / "servers" / "coldproj"
SERVERS = ("floor", "sdk", "kit")
PATTERNS = ("call", "handshake")
START_TIMEOUT_S = 60.0
VERSION = "2025-11-25"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"

SDK_MAIN = """\
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import uvicorn
from coldbench.server import mcp
from mcp.server.transport_security import TransportSecuritySettings
# As a user deploying it to AgentCore must: the platform sends its own Host header.
security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
app = mcp.streamable_http_app(stateless_http=True, json_response=True, transport_security=security)
uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ["PORT"]),
            log_level="warning")
"""

FLOOR_MAIN = """\
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import uvicorn
BODY = {body!r}
START = {{"type": "http.response.start", "status": 200, "headers": [
    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]}}
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send(START)
    await send({{"type": "http.response.body", "body": BODY}})
uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning",
            lifespan="off")
"""

# The SDK's answer to the `tools/call` below, byte for byte (bench/servers/_common.py).
ECHO_ANSWER = (
    b'{"jsonrpc":"2.0","id":4,"result":{"content":[{"text":"hello","type":"text"}],'
    b'"isError":false,"structuredContent":{"result":"hello"}}}'
)
CLIENT_INFO = {"name": "cold-bench", "version": "1"}


def _requests(pattern: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    call = {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hello"}},
    }
    versioned = {"mcp-protocol-version": VERSION}
    if pattern == "call":
        return [(call, versioned)]
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
    }
    return [
        (init, {}),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, versioned),
        ({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, versioned),
        (call, versioned),
    ]


def _connect(port: int, proc: subprocess.Popen[bytes]) -> http.client.HTTPConnection:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:  # bounded: START_TIMEOUT_S, or the process exiting
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT_S)
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listened within {START_TIMEOUT_S} s") from None
            time.sleep(0.002)
            continue
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=START_TIMEOUT_S)
        conn.sock = sock
        return conn


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process so far (Linux /proc; 0.0 elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_and_ask(argv: list[str], cwd: Path, pattern: str) -> tuple[float, float, bytes]:
    """Seconds from spawn to the last answer, the server's CPU seconds by then (less
    sensitive than the wall clock to other work on the machine), the last answer."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port), "LANG": "C.UTF-8"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        conn = _connect(port, proc)
        body = b""
        for message, headers in _requests(pattern):
            conn.request(
                "POST",
                "/mcp",
                body=json.dumps(message).encode(),
                headers={
                    "content-type": "application/json",
                    "accept": "application/json, text/event-stream",
                    **headers,
                },
            )
            response = conn.getresponse()
            body = response.read()
            if response.status not in (200, 202):
                method = message.get("method")
                raise RuntimeError(f"{argv[-1]}: {method} -> {response.status} {body!r}")
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        conn.close()
        return elapsed, cpu, body
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=15)
        if proc.returncode not in (0, -15) and err:
            log(err.decode(errors="replace")[-2000:])


def clean_copy(pristine: Path, into: Path) -> Path:
    """New folders, files hard-linked: nothing a previous start could have written."""
    shutil.copytree(pristine, into, copy_function=os.link)
    return into


def pycache_count(root: Path) -> int:
    return sum(1 for _ in root.rglob("__pycache__"))


def build_trees(tmp: Path, bytecode: bool) -> dict[str, Path]:
    """The deployer's zip unpacked (kit), and the same files with the SDK's and the
    floor's start scripts; the SDK's and the floor's trees carry no bytecode (a user's
    own zip of `pip install --target` output has none)."""
    sys.path.insert(0, str(REPO / "src"))
    from agentcore_mcp.deploy.artifact.codezip import build_zip, zip_inputs
    from agentcore_mcp.deploy.config import load_config

    built = build_zip(
        zip_inputs(load_config(PROJECT, target="local")), tmp / "build", lambda m: log(f"  {m}")
    )
    kit = tmp / "kit"
    with zipfile.ZipFile(built.path) as z:
        z.extractall(kit)
        carried = sum(1 for n in z.namelist() if n.endswith(".pyc"))
    log(f"deployer's zip: {built.size / 1e6:.1f} MB, {carried} .pyc files")
    if not bytecode:
        for cache in list(kit.rglob("__pycache__")):
            shutil.rmtree(cache)
    plain = tmp / "plain"
    shutil.copytree(kit, plain, copy_function=os.link, ignore=shutil.ignore_patterns("__pycache__"))
    (plain / "main.py").unlink()
    (plain / "sdk_main.py").write_text(SDK_MAIN)
    (plain / "floor_main.py").write_text(FLOOR_MAIN.format(body=ECHO_ANSWER))
    return {"kit": kit, "plain": plain}


def run(rounds: int, bytecode: bool, tmp: Path) -> dict[str, Any]:
    load_at_start = os.getloadavg()
    trees = build_trees(tmp, bytecode)
    python = getattr(sys, "_base_executable", sys.executable)
    base = [python, "-I", "-S", "-B"]
    commands = {
        "floor": (trees["plain"], [*base, "floor_main.py"]),
        "sdk": (trees["plain"], [*base, "sdk_main.py"]),
        "kit": (trees["kit"], [*base, "main.py"]),
    }
    pycaches = {name: pycache_count(tree) for name, tree in trees.items()}
    times: dict[str, dict[str, list[float]]] = {s: {p: [] for p in PATTERNS} for s in SERVERS}
    cpus: dict[str, dict[str, list[float]]] = {s: {p: [] for p in PATTERNS} for s in SERVERS}
    runs = 0
    for index in range(rounds + 1):
        order = [(s, p) for s in SERVERS for p in PATTERNS]
        shift = index % len(order)
        for server, pattern in order[shift:] + order[:shift]:
            tree, argv = commands[server]
            runs += 1
            cwd = clean_copy(tree, tmp / "runs" / f"{runs}")
            elapsed, cpu, body = start_and_ask(argv, cwd, pattern)
            if body != ECHO_ANSWER:
                raise RuntimeError(f"{server} answered {body!r}, not {ECHO_ANSWER!r}")
            if pycache_count(cwd) != pycaches["kit" if server == "kit" else "plain"]:
                raise RuntimeError(f"{server} wrote bytecode into its copy")
            shutil.rmtree(cwd)
            if index:  # the first round warms the page cache
                times[server][pattern].append(elapsed)
                cpus[server][pattern].append(cpu)
        log(
            f"round {index}{' (discarded)' if not index else ''}: "
            + ", ".join(
                f"{s}/{p} {times[s][p][-1] * 1000:.0f} ms" if index else f"{s}/{p}"
                for s in SERVERS
                for p in PATTERNS
            )
        )
    medians = {s: {p: statistics.median(times[s][p]) for p in PATTERNS} for s in SERVERS}
    ratios = {s: {p: medians[s][p] / medians["sdk"][p] for p in PATTERNS} for s in SERVERS}
    cpu_medians = {s: {p: statistics.median(cpus[s][p]) for p in PATTERNS} for s in SERVERS}
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "revision": source_revision(),
        "machine": machine(),
        "python": python,
        "rounds": rounds,
        "kit_bytecode": bytecode,
        "median_ms": {s: {p: round(v * 1000, 1) for p, v in d.items()} for s, d in medians.items()},
        "ratio_to_sdk": {s: {p: round(v, 3) for p, v in d.items()} for s, d in ratios.items()},
        "server_cpu_median_ms": {
            s: {p: round(v * 1000, 1) for p, v in d.items()} for s, d in cpu_medians.items()
        },
        "server_cpu_ratio_to_sdk": {
            s: {p: round(cpu_medians[s][p] / cpu_medians["sdk"][p], 3) for p in PATTERNS}
            for s in SERVERS
        },
        "runs_ms": {
            s: {p: [round(v * 1000, 1) for v in times[s][p]] for p in PATTERNS} for s in SERVERS
        },
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "target": TARGET,
        "met": all(ratios["kit"][p] <= TARGET for p in PATTERNS),
    }


def _zip_tree(root: Path, skip: tuple[str, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            if name not in skip:
                out.write(path, name)
    return buffer.getvalue()


def instance_cpu_seconds(unpacked: Path) -> float | None:
    """CPU so far of the one live process running in `unpacked` (a runtime's unpacked
    zip in the local AgentCore's home): the instance answering the session. None if
    there is not exactly one (Linux /proc; bounded by the number of processes)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = Path(os.readlink(f"/proc/{entry}/cwd"))
        except OSError:
            continue
        if cwd == unpacked or unpacked in cwd.parents:
            found.append(int(entry))
    return cpu_seconds(found[0]) if len(found) == 1 else None


def run_local(rounds: int, trees: dict[str, Path], tmp: Path) -> dict[str, Any]:
    """A new session's first `tools/call` through the local AgentCore (instances see their
    zip and the standard library only): the deployer's zip against an SDK-only zip."""
    import httpx2
    from botocore.credentials import ReadOnlyCredentials

    from agentcore_mcp.auth import SigV4Signer
    from tests.support.local import CREDS, REGION, run_local_agentcore

    signer = SigV4Signer(
        ReadOnlyCredentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"], None),
        REGION,
    )
    zips = {
        "kit": (_zip_tree(trees["kit"], ()), "main.py"),
        "sdk": (_zip_tree(trees["plain"], ("floor_main.py",)), "sdk_main.py"),
    }
    call = json.dumps(_requests("call")[0][0]).encode()
    (tmp / "local").mkdir()
    times: dict[str, list[float]] = {"kit": [], "sdk": []}
    cpus: dict[str, list[float]] = {"kit": [], "sdk": []}
    unpacked: dict[str, Path] = {}
    with run_local_agentcore(
        tmp / "local", extra_args=("--startup-timeout", "60"), host_path=False
    ) as handle:
        control = handle.client("bedrock-agentcore-control")
        data = handle.client("bedrock-agentcore")
        arns = {}
        for kind, (body, entry) in zips.items():
            key = f"code/cold-{kind}.zip"
            handle.client("s3").put_object(Bucket=handle.bucket, Key=key, Body=body)
            created = control.create_agent_runtime(
                agentRuntimeName=f"cold_{kind}",
                agentRuntimeArtifact={
                    "codeConfiguration": {
                        "code": {"s3": {"bucket": handle.bucket, "prefix": key}},
                        "runtime": f"PYTHON_3_{sys.version_info.minor}",
                        "entryPoint": [entry],
                    }
                },
                roleArn=handle.role_arn,
                networkConfiguration={"networkMode": "PUBLIC"},
                protocolConfiguration={"serverProtocol": "MCP"},
            )
            got = handle.wait_status(created["agentRuntimeId"], timeout=120)
            if got["status"] != "READY":
                raise RuntimeError(f"{kind}: {got['status']} {got.get('failureReason', '')}")
            arns[kind] = got["agentRuntimeArn"]
            unpacked[kind] = handle.home / "artifacts" / created["agentRuntimeId"]
        with httpx2.Client(timeout=120) as client:
            for n in range(rounds + 1):
                for kind in ("kit", "sdk") if n % 2 else ("sdk", "kit"):
                    session = f"cold-call-{uuid.uuid4()}"
                    request = client.build_request(
                        "POST",
                        f"{handle.url}/runtimes/{quote(arns[kind], safe='')}/invocations",
                        content=call,
                        headers={
                            "content-type": "application/json",
                            "accept": "application/json, text/event-stream",
                            "mcp-protocol-version": VERSION,
                            SESSION_HEADER: session,
                        },
                    )
                    signer.sign_in_place(request)
                    began = time.perf_counter()
                    response = client.send(request)
                    elapsed = time.perf_counter() - began
                    if response.content != ECHO_ANSWER:
                        raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
                    cpu = instance_cpu_seconds(unpacked[kind])
                    data.stop_runtime_session(agentRuntimeArn=arns[kind], runtimeSessionId=session)
                    if n:  # the first round warms the page cache
                        times[kind].append(elapsed)
                        if cpu is not None:
                            cpus[kind].append(cpu)
                if n:
                    kit, sdk = times["kit"][-1] * 1000, times["sdk"][-1] * 1000
                    log(f"local round {n}: kit {kit:.0f} ms, sdk {sdk:.0f} ms")
    medians = {k: statistics.median(v) for k, v in times.items()}
    cpu_medians = {k: statistics.median(v) for k, v in cpus.items() if v}
    return {
        "rounds": rounds,
        "instance_cpu_median_ms": {k: round(v * 1000, 1) for k, v in cpu_medians.items()},
        "instance_cpu_ratio_kit_to_sdk": (
            round(cpu_medians["kit"] / cpu_medians["sdk"], 3) if len(cpu_medians) == 2 else None
        ),
        "zip_mb": {k: round(len(v[0]) / 1e6, 1) for k, v in zips.items()},
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "ratio_kit_to_sdk": round(medians["kit"] / medians["sdk"], 3),
        "runs_ms": {k: [round(x * 1000, 1) for x in v] for k, v in times.items()},
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| spawn -> answer | kit (deployer's zip) | SDK | raw ASGI floor |",
        "|---|---|---|---|",
    ]
    label = {
        "call": "first request is `tools/call`",
        "handshake": "`initialize`, `tools/list`, `tools/call`",
    }
    for p in PATTERNS:
        cells = [
            f"{result['ratio_to_sdk'][s][p]:.2f}x ({result['median_ms'][s][p]:.0f} ms)"
            for s in ("kit", "sdk", "floor")
        ]
        lines.append(f"| {label[p]} | " + " | ".join(cells) + " |")
    local = result.get("local")
    if local:
        lines.append(
            f"| new session through the local AgentCore (`tools/call`) | "
            f"{local['ratio_kit_to_sdk']:.2f}x ({local['median_ms']['kit']:.0f} ms) | "
            f"1.00x ({local['median_ms']['sdk']:.0f} ms) | |"
        )
        if local.get("instance_cpu_ratio_kit_to_sdk") is not None:
            cpu = local["instance_cpu_median_ms"]
            lines.append(
                f"| its instance's CPU by the answer | "
                f"{local['instance_cpu_ratio_kit_to_sdk']:.2f}x ({cpu['kit']:.0f} ms) | "
                f"1.00x ({cpu['sdk']:.0f} ms) | |"
            )
    lines.append("")
    lines.append(
        "server CPU by the answer: "
        + "; ".join(
            f"{p}: kit {result['server_cpu_ratio_to_sdk']['kit'][p]:.2f}x "
            f"({result['server_cpu_median_ms']['kit'][p]:.0f} / "
            f"{result['server_cpu_median_ms']['sdk'][p]:.0f} ms)"
            for p in PATTERNS
        )
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="strip the bytecode the kit's zip carries"
    )
    parser.add_argument(
        "--local-rounds",
        type=int,
        default=7,
        help="rounds through the local AgentCore (0: skip that part)",
    )
    args = parser.parse_args()
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be 1-50")
    with tempfile.TemporaryDirectory(prefix="cold-call-") as tmp:
        result = run(args.rounds, not args.no_bytecode, Path(tmp))
        if args.local_rounds:
            trees = {"kit": Path(tmp) / "kit", "plain": Path(tmp) / "plain"}
            result["local"] = run_local(min(args.local_rounds, 50), trees, Path(tmp))
            result["met"] = result["met"] and result["local"]["ratio_kit_to_sdk"] <= TARGET
    log(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
