"""The warm spare (local/spares.py): a runtime tagged for `dev` keeps its new version's
probe instance for the next new session; every other runtime stops it, as before."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.local.spares import WARM_SPARE_TAG
from tests.support.local import LocalAgentCoreHandle, run_local_agentcore

# Instances start and stop for real: seconds by nature.
pytestmark = pytest.mark.slow

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(tmp_path_factory.mktemp("local")) as handle:
        yield handle


def _probe_pid(handle: LocalAgentCoreHandle, runtime_id: str, version: int) -> int:
    found = re.search(rf"\[probe-{version}-\S* v{version} pid (\d+)\]", handle.log(runtime_id))
    assert found, handle.log(runtime_id)
    return int(found.group(1))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        if not _alive(pid):
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return False


def _update(handle: LocalAgentCoreHandle, runtime_id: str) -> dict[str, Any]:
    control = handle.client("bedrock-agentcore-control")
    got = control.get_agent_runtime(agentRuntimeId=runtime_id)
    key = handle.upload({"main.py": "# v2\n" + _sample_main()})
    artifact = got["agentRuntimeArtifact"]
    artifact["codeConfiguration"]["code"]["s3"]["prefix"] = key
    control.update_agent_runtime(
        agentRuntimeId=runtime_id,
        agentRuntimeArtifact=artifact,
        roleArn=got["roleArn"],
        networkConfiguration={"networkMode": "PUBLIC"},
        protocolConfiguration={"serverProtocol": "MCP"},
    )
    return handle.wait_status(runtime_id)


def _sample_main() -> str:
    from tests.support.local import SAMPLE_MAIN

    return SAMPLE_MAIN


def _new_session(handle: LocalAgentCoreHandle, arn: str) -> str:
    got = handle.client("bedrock-agentcore").invoke_agent_runtime(
        agentRuntimeArn=arn,
        payload=json.dumps(INITIALIZE).encode(),
        contentType="application/json",
        accept="application/json, text/event-stream",
    )
    got["response"].read()
    session: str = got["runtimeSessionId"]
    return session


def test_an_untagged_runtime_keeps_no_spare(local: LocalAgentCoreHandle) -> None:
    created = local.create_runtime("plain_rt")
    rid = created["agentRuntimeId"]
    assert created["status"] == "READY"
    assert _gone(_probe_pid(local, rid, 1))
    assert _update(local, rid)["status"] == "READY"
    assert _gone(_probe_pid(local, rid, 2))
    assert rid not in local.status()["warm_spares"]


def test_a_tagged_runtime_hands_its_probe_to_the_next_session_and_drops_it_on_delete(
    local: LocalAgentCoreHandle,
) -> None:
    created = local.create_runtime("dev_rt", tags={WARM_SPARE_TAG: "true"})
    rid, arn = created["agentRuntimeId"], created["agentRuntimeArn"]
    assert created["status"] == "READY"
    spare = _probe_pid(local, rid, 1)
    assert _alive(spare)
    assert local.status()["warm_spares"] == {rid: "1"}

    session = _new_session(local, arn)
    sessions = {s["id"]: s for s in local.status()["sessions"]}
    assert sessions[session]["pid"] == spare  # the session took the spare
    assert rid not in local.status()["warm_spares"]
    second = _new_session(local, arn)  # the next one starts its own
    assert {s["id"]: s for s in local.status()["sessions"]}[second]["pid"] != spare

    assert _update(local, rid)["status"] == "READY"
    newer = _probe_pid(local, rid, 2)
    assert local.status()["warm_spares"] == {rid: "2"}
    local.client("bedrock-agentcore-control").delete_agent_runtime(agentRuntimeId=rid)
    assert _gone(newer), "the spare outlived its runtime"
    assert rid not in local.status()["warm_spares"]
