"""An instance whose loopback address another process took is not mistaken for ready.

Every local AgentCore on a host hands out addresses from the same 127.77.0.0/16. If
another process binds the address first, the instance fails to bind; connecting to the
address must not count as the instance being ready (its session's requests would reach
the other process).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcore_mcp.local.instances import Instance, InstanceSpec, StartupCrashed
from tests.support.procs import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

HOST = "127.77.250.9"
LISTEN = (
    "import os, socket, time\n"
    "s = socket.socket()\n"
    "s.bind((os.environ['HOST'], int(os.environ['PORT'])))\n"
    "s.listen()\n"
    "time.sleep(60)\n"
)


def spec(tmp_path: Path, port: int) -> InstanceSpec:
    return InstanceSpec(
        runtime_id="clash-AbCdEf1234",
        version="1",
        session_id="clash-session-0123456789-0123456789",
        argv=(sys.executable, "-c", LISTEN),
        cwd=tmp_path,
        env={"HOST": HOST, "PORT": str(port)},
        host=HOST,
        port=port,
        path="/mcp",
        log_path=tmp_path / "clash.log",
        startup_timeout=20,
    )


def test_a_foreign_listener_is_not_readiness(tmp_path: Path) -> None:
    port = free_port()
    foreign = subprocess.Popen(
        [sys.executable, "-c", LISTEN], env={"HOST": HOST, "PORT": str(port)}
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex((HOST, port)) == 0:
                    break
            assert time.monotonic() < deadline and foreign.poll() is None
            time.sleep(0.05)

        async def start() -> None:
            instance = Instance(spec(tmp_path, port))
            try:
                await instance.start()
            finally:
                await instance.stop(grace=1)

        with pytest.raises(StartupCrashed, match="exited with status 1"):
            asyncio.run(start())
        assert "Address already in use" in (tmp_path / "clash.log").read_text()
    finally:
        foreign.kill()
        foreign.wait(timeout=10)


def test_its_own_listener_is_readiness(tmp_path: Path) -> None:
    async def start() -> int | None:
        instance = Instance(spec(tmp_path, free_port()))
        try:
            await instance.start()
            return instance.pid
        finally:
            await instance.stop(grace=1)

    assert asyncio.run(start()) is not None
