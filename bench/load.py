"""Load driver: a fixed MCP POST, replayed on keep-alive connections for a fixed time.

`wrk` (1 thread, a generated Lua script) when it is installed, otherwise a Python
asyncio generator on raw sockets (keep-alive, HTTP/1.1, Content-Length and chunked
bodies). Both report requests/s, p50/p99 latency, non-2xx responses and socket errors.
Every target must be a loopback URL (http://127.0.0.1:PORT/...).

As a script, for ad-hoc runs against a server you started yourself:

    uv run python bench/load.py --url http://127.0.0.1:8000/mcp [--method tools/list]
        [--era 2026-07-28] [--duration 5] [--connections 16] [--tool wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2

LoadTool = Literal["wrk", "python"]

ERA_2025 = "2025-11-25"
ERA_2026 = "2026-07-28"
ECHO_TEXT = "hello"
ACCEPT = "application/json, text/event-stream"
# Bounds on every load loop, whatever the caller asks for.
MAX_DURATION_S = 120.0
MAX_COUNT = 1_000_000


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """One HTTP POST, sent unchanged over and over."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"benchmark traffic goes to http://127.0.0.1:PORT only: {self.url}")

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def wire_bytes(self) -> bytes:
        """The request exactly as the Python driver writes it (keep-alive)."""
        lines = [f"POST {self.target} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"content-length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def mcp_request(
    base_url: str,
    method: Literal["tools/call", "tools/list"],
    era: str = ERA_2025,
    *,
    text: str = ECHO_TEXT,
    request_id: int = 1,
) -> LoadRequest:
    """The benchmark's JSON-RPC POST: `tools/call echo` or `tools/list`, in either era.

    2025 eras carry `mcp-protocol-version` (a stateless server needs no initialize). The
    2026-07-28 era also carries `mcp-method` / `mcp-name` and the per-request `_meta`
    (protocol version, client capabilities, client info) that replaces initialize.
    """
    params: dict[str, Any] = {}
    headers = [
        ("content-type", "application/json"),
        ("accept", ACCEPT),
        ("mcp-protocol-version", era),
    ]
    if method == "tools/call":
        params = {"name": "echo", "arguments": {"text": text}}
    if era >= "2026":
        headers.append(("mcp-method", method))
        if method == "tools/call":
            headers.append(("mcp-name", "echo"))
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "agentcore-mcp-bench", "version": "0"},
        }
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params:
        message["params"] = params
    body = json.dumps(message, separators=(",", ":")).encode()
    return LoadRequest(url=base_url, body=body, headers=tuple(headers))


# --- checking one real answer ------------------------------------------------------------


class VerificationError(Exception):
    """The server's answer to the benchmark request is not the expected one."""


def jsonrpc_from_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The JSON-RPC message in a JSON body or in the last `data:` event of an SSE body."""
    text = body.decode("utf-8")
    if content_type.startswith("text/event-stream"):
        datas = [ln[5:].strip() for ln in text.splitlines() if ln.startswith("data:")]
        if not datas:
            raise VerificationError(f"SSE body without a data event: {text[:200]!r}")
        text = datas[-1]
    message = json.loads(text)
    if not isinstance(message, dict):
        raise VerificationError(f"not a JSON-RPC message: {text[:200]!r}")
    return message


Check = Callable[[dict[str, Any]], None]


def expect_echo(message: dict[str, Any]) -> None:
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise VerificationError(f"tools/call echo did not succeed: {message}")
    content = result.get("content")
    if not content or content[0].get("text") != ECHO_TEXT:
        raise VerificationError(f"tools/call echo returned the wrong content: {message}")


def expect_tools(message: dict[str, Any]) -> None:
    result = message.get("result")
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list) or "echo" not in {t.get("name") for t in tools}:
        raise VerificationError(f"tools/list does not list echo: {message}")


def verify(request: LoadRequest, check: Check, *, content_type: str | None = None) -> str:
    """Send the benchmark request once and check the answer; return its content type.

    `content_type` (e.g. "text/event-stream") is the media type the answer must have, so a
    scenario that compares SSE responses really gets SSE from every server.
    """
    response = httpx2.post(
        request.url, content=request.body, headers=list(request.headers), timeout=30.0
    )
    got_type = str(response.headers.get("content-type", ""))
    if response.status_code != 200:
        raise VerificationError(f"HTTP {response.status_code}: {response.text[:300]}")
    if content_type is not None and not got_type.startswith(content_type):
        raise VerificationError(f"answered {got_type!r}, the scenario needs {content_type!r}")
    message = jsonrpc_from_body(got_type, response.content)
    if message.get("id") != json.loads(request.body).get("id"):
        raise VerificationError(f"reply id does not match the request: {message}")
    check(message)
    return got_type


# --- results -------------------------------------------------------------------------------


@dataclass(slots=True)
class LoadResult:
    tool: LoadTool
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    connections: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class LoadSummary:
    """Median req/s over runs, with the latencies of the median run."""

    runs: list[LoadResult] = field(default_factory=list)

    @property
    def median(self) -> LoadResult:
        ordered = sorted(self.runs, key=lambda r: r.rps)
        return ordered[(len(ordered) - 1) // 2] if len(ordered) % 2 else _mid(ordered)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        m = self.median
        return {
            "rps": round(m.rps, 1),
            "p50_ms": round(m.p50_ms, 3),
            "p99_ms": round(m.p99_ms, 3),
            "errors": self.errors,
            "runs": [r.to_dict() for r in self.runs],
        }


def _mid(ordered: list[LoadResult]) -> LoadResult:
    """For an even number of runs: the median req/s, latencies averaged over the middle two."""
    a, b = ordered[len(ordered) // 2 - 1], ordered[len(ordered) // 2]
    return LoadResult(
        tool=a.tool,
        requests=a.requests + b.requests,
        duration_s=a.duration_s + b.duration_s,
        rps=statistics.median([a.rps, b.rps]),
        p50_ms=(a.p50_ms + b.p50_ms) / 2,
        p99_ms=(a.p99_ms + b.p99_ms) / 2,
        non_2xx=a.non_2xx + b.non_2xx,
        socket_errors=a.socket_errors + b.socket_errors,
        connections=a.connections,
    )


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# --- wrk -----------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def pick_tool(preference: str = "auto") -> LoadTool:
    if preference == "wrk":
        if not wrk_available():
            raise SystemExit("--load-tool wrk: wrk is not installed (apt-get install -y wrk)")
        return "wrk"
    if preference == "python":
        return "python"
    return "wrk" if wrk_available() else "python"


def _lua_string(value: str) -> str:
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


def wrk_script(request: LoadRequest) -> str:
    """A wrk Lua script: the POST, and a machine-readable summary line at the end.

    `response()` counts every status outside 200-299 (wrk's own counter only sees >= 400).
    """
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(request.body.decode('utf-8'))}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in request.headers]
    lines.append(
        """
non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%.1f p99_us=%.1f non2xx=%d sockerr=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.connect + e.read + e.write + e.timeout))
end
threads = {}
function setup(thread) table.insert(threads, thread) end
"""
    )
    return "\n".join(lines)


_BENCH_LINE = re.compile(
    r"BENCH requests=(\d+) duration_us=(\d+) p50_us=([\d.]+) p99_us=([\d.]+) "
    r"non2xx=(\d+) sockerr=(\d+)"
)


def run_wrk(request: LoadRequest, *, connections: int, duration_s: float) -> LoadResult:
    duration_s = min(duration_s, MAX_DURATION_S)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(wrk_script(request))
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            request.url,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    match = _BENCH_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    requests, dur_us, p50, p99, non2xx, sockerr = match.groups()
    seconds = int(dur_us) / 1e6
    return LoadResult(
        tool="wrk",
        requests=int(requests),
        duration_s=seconds,
        rps=int(requests) / seconds,
        p50_ms=float(p50) / 1000,
        p99_ms=float(p99) / 1000,
        non_2xx=int(non2xx),
        socket_errors=int(sockerr),
        connections=connections,
    )


# --- the Python fallback -------------------------------------------------------------------


class _ProtocolError(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked body); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise _ProtocolError(f"bad status line {status_line!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    elif length is None:
        raise _ProtocolError("response without Content-Length or chunked encoding")
    return status


async def _python_load(
    request: LoadRequest, connections: int, duration_s: float | None, count: int | None
) -> LoadResult:
    payload = request.wire_bytes()
    latencies: list[float] = []
    non2xx = 0
    sockerr = 0
    remaining = count if count is not None else -1
    start = time.perf_counter()
    deadline = start + min(duration_s if duration_s is not None else MAX_DURATION_S, MAX_DURATION_S)

    def take() -> bool:
        nonlocal remaining
        if time.perf_counter() >= deadline:
            return False
        if remaining == 0:
            return False
        if remaining > 0:
            remaining -= 1
        return True

    async def worker() -> None:
        nonlocal non2xx, sockerr
        writer: asyncio.StreamWriter | None = None
        try:
            while take():
                if writer is None:
                    reader, writer = await asyncio.open_connection(request.host, request.port)
                t0 = time.perf_counter()
                try:
                    writer.write(payload)
                    status = await asyncio.wait_for(_read_response(reader), 10.0)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, _ProtocolError):
                    sockerr += 1
                    writer.close()
                    writer = None
                    continue
                latencies.append(time.perf_counter() - t0)
                if not 200 <= status <= 299:
                    non2xx += 1
        except OSError:
            sockerr += 1
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        tool="python",
        requests=len(latencies),
        duration_s=elapsed,
        rps=len(latencies) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        non_2xx=non2xx,
        socket_errors=sockerr,
        connections=connections,
    )


def _run_async(coro: Any) -> LoadResult:
    try:
        import uvloop

        result: LoadResult = uvloop.run(coro)
    except ImportError:
        result = asyncio.run(coro)
    return result


def run_python(request: LoadRequest, *, connections: int, duration_s: float) -> LoadResult:
    return _run_async(_python_load(request, connections, duration_s, None))


def run_count(request: LoadRequest, *, connections: int, count: int) -> LoadResult:
    """Exactly `count` requests (bounded by 120 s) with the Python driver."""
    return _run_async(_python_load(request, connections, None, min(count, MAX_COUNT)))


def run_load(
    request: LoadRequest, *, tool: LoadTool, connections: int = 16, duration_s: float = 5.0
) -> LoadResult:
    if tool == "wrk":
        return run_wrk(request, connections=connections, duration_s=duration_s)
    return run_python(request, connections=connections, duration_s=duration_s)


def main() -> int:
    parser = argparse.ArgumentParser(description="Load one MCP endpoint on 127.0.0.1.")
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/mcp")
    parser.add_argument("--method", choices=["tools/call", "tools/list"], default="tools/call")
    parser.add_argument("--era", default=ERA_2025, help=f"protocol version (or {ERA_2026})")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    request = mcp_request(args.url, args.method, args.era)
    verify(request, expect_echo if args.method == "tools/call" else expect_tools)
    tool = pick_tool(args.tool)
    summary = LoadSummary()
    for _ in range(max(1, min(args.runs, 20))):
        summary.runs.append(
            run_load(request, tool=tool, connections=args.connections, duration_s=args.duration)
        )
    json.dump({"tool": tool, **summary.to_dict()}, sys.stdout, indent=2)
    print()
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
