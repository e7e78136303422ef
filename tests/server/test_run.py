"""`serve(server)` from a user's own script: the startup line platforms and tests wait for."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from tests.support.procs import free_port, run_process

SCRIPT = (
    "from agentcore_mcp.server import serve; from tests.support.user_app import mcp; serve(mcp)"
)


def test_serve_announces_address_and_a_real_start_time(tmp_path: Path) -> None:
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port)}
    with run_process([sys.executable, "-c", SCRIPT], port=port, tmp_path=tmp_path, env=env) as p:
        deadline = time.monotonic() + 10
        while "listening on" not in p.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = next(ln for ln in p.log().splitlines() if "listening on" in ln)
    assert f"http://127.0.0.1:{port}/mcp" in line
    found = re.search(r"ready in (-?\d+) ms", line)
    assert found is not None and int(found.group(1)) > 0, line
