"""Drive `agentcore-mcp proxy --stdio` as a real process: the official client, or raw lines."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.procs import REPO, terminate


def proxy_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentcore_mcp", "proxy", "--stdio", *args]


@asynccontextmanager
async def stdio_proxy_client(
    env: Mapping[str, str], errlog: Path, *args: str, mode: str = "legacy"
) -> AsyncIterator[Client]:
    """The official client over the proxy; `mode` is `mcp.Client`'s, whose "legacy" is the
    handshake era."""
    argv = proxy_argv(*args)
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(env), cwd=REPO)
    with errlog.open("a") as err:
        async with Client(
            stdio_client(params, errlog=err),
            mode=mode,  # type: ignore[arg-type]
            read_timeout_seconds=120,
        ) as client:
            yield client


class RawStdio:
    """Newline-delimited JSON-RPC over the proxy's stdin/stdout, each read bounded."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, doc: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(doc).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, request_id: int, method: str, params: dict[str, Any] | None = None,
                timeout: float = 60) -> dict[str, Any]:  # fmt: skip
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        while True:
            doc: dict[str, Any] = json.loads(self.lines.get(timeout=timeout))
            if doc.get("id") == request_id:
                return doc


@contextmanager
def raw_proxy(env: Mapping[str, str], errlog: Path, *args: str) -> Iterator[RawStdio]:
    with errlog.open("ab") as err:
        proc = subprocess.Popen(
            proxy_argv(*args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=dict(env),
            cwd=str(REPO),
        )
    try:
        yield RawStdio(proc)
    finally:
        if proc.stdin:
            proc.stdin.close()
        terminate(proc, grace=5)
