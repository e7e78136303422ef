"""The primed interpreter (local/primed.py): a runtime tagged for `dev` runs its next
version in a process that imported the dependency layer in advance, and that process
sees exactly the new version's files; a dependency change starts a fresh one.

Hand-made zips whose stand-in "dependency layer" is a tiny `uvicorn` package (a name the
primer imports), served by a standard-library HTTP server: real processes, no deployer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentcore_mcp.local.primed import PRIMED_LINE
from agentcore_mcp.local.spares import WARM_SPARE_TAG
from tests.support.local import LocalAgentCoreHandle, run_local_agentcore

# Instances start and stop for real: seconds by nature.
pytestmark = pytest.mark.slow

MAIN = """\
import http.server, os
import uvicorn
import uvicorn.late
try:
    import httpx2
    seen = "host-packages-visible"
except ImportError:
    seen = "host-packages-absent"
print("MARK", uvicorn.MARK, uvicorn.late.__file__, seen, os.environ.get("NOTE"), flush=True)
if os.environ.get("NOTE") == "crash":
    raise SystemExit("crashing on purpose")
server = http.server.HTTPServer(
    (os.environ["HOST"], int(os.environ["PORT"])), http.server.BaseHTTPRequestHandler
)
server.serve_forever()
"""


def _files(version: int, dependency: str) -> dict[str, str]:
    return {
        "main.py": MAIN + f"# version {version}\n",  # differs in each version
        "uvicorn/__init__.py": f"MARK = {dependency!r}\n",
        "uvicorn/late.py": "",  # imported only once the instance runs
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    # host_path=False: instances see their zip and the standard library only, as deployed
    with run_local_agentcore(tmp_path_factory.mktemp("local"), host_path=False) as handle:
        yield handle


def _primer(handle: LocalAgentCoreHandle, runtime_id: str, timeout: float = 60) -> dict[str, Any]:
    """The runtime's waiting primer (bounded wait: it imports the layer first)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        primer: dict[str, Any] | None = handle.status()["primed_interpreters"].get(runtime_id)
        if primer is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert primer is not None, handle.status()
    return primer


def _update(
    handle: LocalAgentCoreHandle, runtime_id: str, files: dict[str, str], note: str
) -> dict[str, Any]:
    control = handle.client("bedrock-agentcore-control")
    got = control.get_agent_runtime(agentRuntimeId=runtime_id)
    artifact = got["agentRuntimeArtifact"]
    artifact["codeConfiguration"]["code"]["s3"]["prefix"] = handle.upload(files)
    control.update_agent_runtime(
        agentRuntimeId=runtime_id,
        agentRuntimeArtifact=artifact,
        roleArn=got["roleArn"],
        networkConfiguration={"networkMode": "PUBLIC"},
        protocolConfiguration={"serverProtocol": "HTTP"},
        environmentVariables={"NOTE": note},
    )
    return handle.wait_status(runtime_id)


def _probe_lines(handle: LocalAgentCoreHandle, runtime_id: str, version: int) -> list[str]:
    tag = f"[probe-{version}-"
    return [ln for ln in handle.log(runtime_id).splitlines() if ln.startswith(tag)]


def _mark(lines: list[str]) -> list[str]:
    found = [ln.split("] ", 1)[1].split() for ln in lines if "] MARK " in ln]
    assert len(found) == 1, lines
    return found[0][1:]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_next_version_runs_primed_on_its_own_files_and_a_dependency_change_reprimes(
    local: LocalAgentCoreHandle,
) -> None:
    created = local.create_runtime("primed_rt", _files(1, "layer-a"), tags={WARM_SPARE_TAG: "true"})
    rid = created["agentRuntimeId"]
    assert created["status"] == "READY", created
    artifacts = local.home / "artifacts" / rid

    first = _primer(local, rid)
    assert first["version"] == "1"
    assert _update(local, rid, _files(2, "layer-a"), "two")["status"] == "READY"
    lines = _probe_lines(local, rid, 2)
    assert any(PRIMED_LINE in ln for ln in lines), lines
    # its own version's files (a submodule imported late comes from the new tree), no
    # package of the host's environment, and the runtime's environment
    mark, late, seen, note = _mark(lines)
    assert mark == "layer-a"
    assert late == str((artifacts / "2" / "uvicorn" / "late.py").resolve())
    assert seen == "host-packages-absent"
    assert note == "two"

    # The layer changed (a file the primer imported is no longer the same file): the
    # primer is not used, and a new one starts from the new version's tree.
    second = _primer(local, rid)
    assert second["version"] == "2"
    assert _update(local, rid, _files(3, "layer-b"), "three")["status"] == "READY"
    lines = _probe_lines(local, rid, 3)
    assert not any(PRIMED_LINE in ln for ln in lines), lines
    assert _mark(lines)[0] == "layer-b"
    assert _gone(second["pid"])
    third = _primer(local, rid)
    assert third["version"] == "3"
    assert third["pid"] != second["pid"]
    assert _update(local, rid, _files(4, "layer-b"), "four")["status"] == "READY"
    lines = _probe_lines(local, rid, 4)
    assert any(PRIMED_LINE in ln for ln in lines), lines
    assert _mark(lines)[:2] == [
        "layer-b",
        str((artifacts / "4" / "uvicorn" / "late.py").resolve()),
    ]

    # A version that fails to start in a primer fails as before (the last good version
    # stays) and a primer is there again for the next save.
    failed = _update(local, rid, _files(5, "layer-b"), "crash")
    assert failed["status"] == "UPDATE_FAILED", failed
    assert "crashing on purpose" in failed["failureReason"], failed["failureReason"]
    assert any(PRIMED_LINE in ln for ln in _probe_lines(local, rid, 5))
    assert not (artifacts / "5").exists()
    again = _primer(local, rid)
    assert again["version"] == "4"

    # dev stopped (the tag is gone): the next start is a plain one and the primer goes.
    control = local.client("bedrock-agentcore-control")
    arn = created["agentRuntimeArn"]
    control.untag_resource(resourceArn=arn, tagKeys=[WARM_SPARE_TAG])
    assert _update(local, rid, _files(6, "layer-b"), "six")["status"] == "READY"
    assert not any(PRIMED_LINE in ln for ln in _probe_lines(local, rid, 6))
    assert _gone(again["pid"])
    assert rid not in local.status()["primed_interpreters"]

    # Deleting the runtime stops its primer.
    control.tag_resource(resourceArn=arn, tags={WARM_SPARE_TAG: "true"})
    assert _update(local, rid, _files(7, "layer-b"), "seven")["status"] == "READY"
    last = _primer(local, rid)
    control.delete_agent_runtime(agentRuntimeId=rid)
    assert _gone(last["pid"])


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        if not _alive(pid) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return not _alive(pid)


def test_an_untagged_runtime_has_no_primer(local: LocalAgentCoreHandle) -> None:
    created = local.create_runtime("plain_primed_rt", _files(1, "layer-a"))
    rid = created["agentRuntimeId"]
    assert created["status"] == "READY", created
    assert _update(local, rid, _files(2, "layer-a"), "two")["status"] == "READY"
    assert not any(PRIMED_LINE in ln for ln in _probe_lines(local, rid, 2))
    assert rid not in local.status()["primed_interpreters"]
