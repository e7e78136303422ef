"""`local start -d --persist` across a restart, and `local logs RUNTIME --follow`.

Every local AgentCore here is started and stopped with the CLI (`start -d` / `stop`) and
reached with boto3 on its loopback port, as a user does.

What a restart keeps (docs/local-agentcore.md, control/persistence.py): with `--persist`,
the control plane's runtimes, versions and endpoints (home/state/runtimes.json). What it
does not keep: the embedded AWS (moto), so the execution role and the code bucket are
gone. Unpacked code artifacts stay on disk (home/artifacts/ID/VERSION), which is why a
restored runtime still serves without the role or the bucket.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.local import CREDS, LocalAgentCoreHandle
from tests.support.local_cli import (
    LineReader,
    background_local,
    cli_env,
    local_argv,
    local_cli,
)
from tests.support.mcp_messages import body_messages, encoded, final_message, tool_call
from tests.support.procs import free_port, wait_for_file

pytestmark = pytest.mark.slow  # local AgentCores stopped and restarted

RELEASE_MAIN = """\
import os
from mcp.server.mcpserver import MCPServer
from agentcore_mcp.server import serve

mcp = MCPServer("release")

@mcp.tool()
def release() -> str:
    return os.environ["RELEASE"]

serve(mcp)
"""

CHATTY_MAIN = """\
from mcp.server.mcpserver import MCPServer
from agentcore_mcp.server import serve

mcp = MCPServer("chatty")

@mcp.tool()
def say(text: str) -> str:
    print("said:", text, flush=True)
    return text

serve(mcp)
"""

# Records its pid, then never listens: the runtime stays CREATING for 10 s, then the
# program exits on its own (so a probe left behind by a bug does not outlive the test).
SLOW_MAIN = """\
import os, sys, time
from pathlib import Path

Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
time.sleep(10)
sys.exit(0)
"""

CODE_ARTIFACT = {"runtime": "PYTHON_3_11", "entryPoint": ["main.py"]}


def strip_meta(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "ResponseMetadata"}


def artifact(handle: LocalAgentCoreHandle, key: str) -> dict[str, Any]:
    return {
        "codeConfiguration": {
            "code": {"s3": {"bucket": handle.bucket, "prefix": key}},
            **CODE_ARTIFACT,
        }
    }


def version_fields(handle: LocalAgentCoreHandle, key: str, release: str) -> dict[str, Any]:
    """The request fields CreateAgentRuntime and UpdateAgentRuntime share."""
    return {
        "agentRuntimeArtifact": artifact(handle, key),
        "roleArn": handle.role_arn,
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "protocolConfiguration": {"serverProtocol": "MCP"},
        "environmentVariables": {"RELEASE": release},
    }


def wait_endpoint(control: Any, runtime_id: str, name: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got: dict[str, Any] = control.get_agent_runtime_endpoint(
            agentRuntimeId=runtime_id, endpointName=name
        )
        if not got["status"].endswith("ING") or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def snapshot(handle: LocalAgentCoreHandle, runtime_id: str) -> dict[str, Any]:
    """Everything the control plane says about a runtime, as boto3 parses it."""
    control = handle.client("bedrock-agentcore-control")
    listed = [
        r
        for r in control.list_agent_runtimes()["agentRuntimes"]
        if r["agentRuntimeId"] == runtime_id
    ]
    versions = control.list_agent_runtime_versions(agentRuntimeId=runtime_id)["agentRuntimes"]
    return {
        "runtime": strip_meta(control.get_agent_runtime(agentRuntimeId=runtime_id)),
        "listed": listed,
        "versions": versions,
        "each_version": {
            v["agentRuntimeVersion"]: strip_meta(
                control.get_agent_runtime(
                    agentRuntimeId=runtime_id, agentRuntimeVersion=v["agentRuntimeVersion"]
                )
            )
            for v in versions
        },
        "endpoints": sorted(
            control.list_agent_runtime_endpoints(agentRuntimeId=runtime_id)["runtimeEndpoints"],
            key=lambda e: e["name"],
        ),
    }


def call_tool(
    handle: LocalAgentCoreHandle,
    arn: str,
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    qualifier: str = "DEFAULT",
    session: str | None = None,
) -> dict[str, Any]:
    """An MCP tools/call through the data plane, SigV4-signed by boto3; the JSON-RPC reply."""
    extra = {"runtimeSessionId": session} if session else {}
    out = handle.client("bedrock-agentcore").invoke_agent_runtime(
        agentRuntimeArn=arn,
        qualifier=qualifier,
        payload=encoded(tool_call(name, arguments or {})),
        contentType="application/json",
        accept="application/json, text/event-stream",
        mcpProtocolVersion="2025-06-18",
        **extra,
    )
    assert out["statusCode"] == 200
    return final_message(body_messages(out["response"].read(), out["contentType"]))


def tool_text(reply: dict[str, Any]) -> str:
    assert "result" in reply, reply
    return str(reply["result"]["content"][0]["text"])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def walk_keys(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield str(k)
            yield from walk_keys(v)
    elif isinstance(doc, list):
        for item in doc:
            yield from walk_keys(item)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def end_stray_probe(pid: int) -> None:
    """SIGKILL the slow probe (by pid, only if it is still SLOW_MAIN's `main.py`)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"main.py" in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --- --persist across a restart -------------------------------------------------------


@dataclass
class Restored:
    handle: LocalAgentCoreHandle  # the second start, with --persist, on the same home
    runtime_id: str
    arn: str
    before: dict[str, Any]  # snapshot() just before `stop`
    status_before: list[dict[str, Any]]  # `local status --json` runtimes before `stop`
    state_text: str  # home/state/runtimes.json after `stop`
    state_mode: int
    state_dir_mode: int
    client_token: str


@pytest.fixture(scope="class")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restored]:
    """A runtime with versions 1 and 2 and a custom endpoint pinned to 1, saved by one
    `start -d --persist`, then `stop`, then `start -d --persist` again on the same home."""
    home = tmp_path_factory.mktemp("persist") / "home"
    port = free_port()
    client_token = f"persist-client-token-{uuid.uuid4().hex}"
    with background_local(home, port, "--persist") as first:
        first.provision()
        control = first.client("bedrock-agentcore-control")
        key1 = first.upload({"main.py": RELEASE_MAIN})
        created = control.create_agent_runtime(
            agentRuntimeName="persisted",
            clientToken=client_token,
            description="kept across restarts",
            **version_fields(first, key1, "one"),
        )
        runtime_id, arn = created["agentRuntimeId"], created["agentRuntimeArn"]
        assert first.wait_status(runtime_id)["status"] == "READY"
        key2 = first.upload({"main.py": RELEASE_MAIN})
        control.update_agent_runtime(
            agentRuntimeId=runtime_id, **version_fields(first, key2, "two")
        )
        v2 = first.wait_status(runtime_id)
        assert (v2["status"], v2["agentRuntimeVersion"]) == ("READY", "2"), v2
        control.create_agent_runtime_endpoint(
            agentRuntimeId=runtime_id, name="pinned", agentRuntimeVersion="1"
        )
        assert wait_endpoint(control, runtime_id, "pinned")["status"] == "READY"
        assert tool_text(call_tool(first, arn, "release", qualifier="pinned")) == "one"
        before = snapshot(first, runtime_id)
        status = local_cli(home, "status", "--json")
        assert status.returncode == 0, status.stderr
        status_before = json.loads(status.stdout)["runtimes"]

    state = home / "state" / "runtimes.json"
    saved = Restored(
        handle=first,
        runtime_id=runtime_id,
        arn=arn,
        before=before,
        status_before=status_before,
        state_text=state.read_text(),
        state_mode=stat.S_IMODE(state.stat().st_mode),
        state_dir_mode=stat.S_IMODE(state.parent.stat().st_mode),
        client_token=client_token,
    )
    with background_local(home, port, "--persist") as second:
        saved.handle = second
        yield saved


class TestRestartWithPersist:
    """One saved runtime, restored by a second `start -d --persist` (class-scoped)."""

    def test_persist_brings_runtimes_back_after_a_restart(self, restored: Restored) -> None:
        r = restored
        after = snapshot(r.handle, r.runtime_id)
        # Ids, ARNs, names, versions, status, endpoints and every timestamp: as they were.
        assert after == r.before
        runtime = after["runtime"]
        assert (runtime["agentRuntimeId"], runtime["agentRuntimeArn"]) == (r.runtime_id, r.arn)
        assert runtime["agentRuntimeName"] == "persisted"
        assert (runtime["status"], runtime["agentRuntimeVersion"]) == ("READY", "2")
        assert runtime["environmentVariables"] == {"RELEASE": "two"}
        assert after["each_version"]["1"]["description"] == "kept across restarts"
        assert [v["agentRuntimeVersion"] for v in after["versions"]] == ["2", "1"]
        assert after["each_version"]["1"]["environmentVariables"] == {"RELEASE": "one"}
        endpoints = {e["name"]: e for e in after["endpoints"]}
        assert {
            n: (e["status"], e["liveVersion"], e["targetVersion"]) for n, e in endpoints.items()
        } == {
            "DEFAULT": ("READY", "2", "2"),
            "pinned": ("READY", "1", "1"),
        }
        assert endpoints["DEFAULT"]["createdAt"] == runtime["createdAt"]

        status = local_cli(r.handle.home, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["runtimes"] == r.status_before

        # The embedded AWS starts empty: the execution role and the code bucket are gone...
        with pytest.raises(ClientError) as no_role:
            r.handle.client("iam").get_role(RoleName="AgentCoreRuntimeRole")
        assert error_of(no_role)[1] == "NoSuchEntity"
        with pytest.raises(ClientError) as no_bucket:
            r.handle.client("s3").head_bucket(Bucket=r.handle.bucket)
        assert error_of(no_bucket)[0] == 404

        # ...yet both endpoints still serve: the unpacked zips are on disk under home/artifacts,
        # and the instance gets STS credentials for the (now missing) role all the same.
        assert tool_text(call_tool(r.handle, r.arn, "release")) == "two"
        assert tool_text(call_tool(r.handle, r.arn, "release", qualifier="pinned")) == "one"

        # UpdateAgentRuntime re-checks the role, so the INTERRUPTED-style "update with the same
        # configuration" needs the role recreated first, and the zip uploaded again.
        control = r.handle.client("bedrock-agentcore-control")
        role_arn = runtime["roleArn"]
        r.handle.role_arn = role_arn
        same = version_fields(r.handle, "code/none.zip", "three")
        with pytest.raises(ClientError) as refused:
            control.update_agent_runtime(agentRuntimeId=r.runtime_id, **same)
        code, kind, message = error_of(refused)
        assert (code, kind) == (400, "ValidationException")
        assert "does not exist in IAM" in message and role_arn in message
        assert control.get_agent_runtime(agentRuntimeId=r.runtime_id)["agentRuntimeVersion"] == "2"

        r.handle.provision()  # same role name, so the same ARN, and the bucket again
        assert r.handle.role_arn == role_arn
        key = r.handle.upload({"main.py": RELEASE_MAIN})
        control.update_agent_runtime(
            agentRuntimeId=r.runtime_id, **version_fields(r.handle, key, "three")
        )
        v3 = r.handle.wait_status(r.runtime_id)
        assert (v3["status"], v3["agentRuntimeVersion"]) == ("READY", "3"), v3
        assert tool_text(call_tool(r.handle, r.arn, "release")) == "three"

    def test_persisted_state_file_is_private_and_holds_no_secrets(self, restored: Restored) -> None:
        r = restored
        assert r.state_mode == 0o600
        assert r.state_dir_mode == 0o700
        rewritten = r.handle.home / "state" / "runtimes.json"  # saved again on load
        assert stat.S_IMODE(rewritten.stat().st_mode) == 0o600
        doc = json.loads(r.state_text)
        assert doc["format"] == "agentcore-mcp/local-control/1"
        assert [rt["runtimeId"] for rt in doc["runtimes"]] == [r.runtime_id]
        # Environment values are configuration the user gave: stored (documented).
        assert '"RELEASE": "two"' in r.state_text
        # Never stored: the starter's credentials, the client token, STS credentials, any token.
        for secret in (CREDS["AWS_SECRET_ACCESS_KEY"], CREDS["AWS_ACCESS_KEY_ID"], r.client_token):
            assert secret not in r.state_text
        assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{12,}", r.state_text)
        keys = {k.lower() for k in walk_keys(doc)}
        assert not {k for k in keys if "token" in k or "secret" in k or "credential" in k}

    def test_restored_runtime_without_its_unpacked_artifact_fails_clearly(
        self,
        restored: Restored,
    ) -> None:
        r = restored
        unpacked = r.handle.home / "artifacts" / r.runtime_id / "1"
        assert (unpacked / ".unpacked").exists()
        # What a user clearing disk space between restarts does (or a home copied without it).
        shutil.rmtree(unpacked)
        # ... and the zip is not in the embedded S3 either (an earlier test of this class
        # may have uploaded the same content again).
        s3 = r.handle.client("s3")
        listed = s3.list_object_versions(Bucket=r.handle.bucket)
        for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=r.handle.bucket, Key=item["Key"], VersionId=item["VersionId"])
        # An MCP invocation: the platform's error comes back as a JSON-RPC error (-32010,
        # the runtime's own failure), saying what to do, not as a bare HTTP 500.
        answer = call_tool(r.handle, r.arn, "release", qualifier="1")
        error = answer["error"]
        assert error["code"] == -32010, answer
        detail = error["data"]["detail"]
        assert "s3://" in detail and "NoSuchKey" in detail, detail
        assert "upload the zip again" in detail, detail
        assert "Traceback" not in (r.handle.home / "local.log").read_text(errors="replace")


# --- a stop and restart while a runtime is CREATING, and a start without --persist ----


def test_interrupted_creation_stop_and_a_start_without_persist(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    pid_file = tmp_path / "slow.pid"
    pid: int | None = None
    try:
        with background_local(home, port, "--persist") as first:
            first.provision()
            key = first.upload({"main.py": SLOW_MAIN})
            fields = version_fields(first, key, "slow")
            fields["environmentVariables"]["PID_FILE"] = str(pid_file)
            control = first.client("bedrock-agentcore-control")
            created = control.create_agent_runtime(agentRuntimeName="interrupted", **fields)
            runtime_id, arn = created["agentRuntimeId"], created["agentRuntimeArn"]
            pid_text = wait_for_file(pid_file, 20)  # its probe is running, not listening
            assert pid_text is not None, f"{pid_file} did not appear within 20 s"
            pid = int(pid_text)
            assert control.get_agent_runtime(agentRuntimeId=runtime_id)["status"] == "CREATING"
        # `local stop` while the runtime is CREATING leaves no probe process behind.
        deadline = time.monotonic() + 3
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(pid), f"probe pid {pid} outlived `local stop`"
        state = home / "state" / "runtimes.json"
        saved = state.read_bytes()
        [version] = json.loads(saved)["runtimes"][0]["versions"]
        assert version["status"] == "CREATING"  # saved as it was; fixed up on load

        # Without --persist: nothing is read, and the saved state is left untouched.
        with background_local(home, port) as plain:
            control = plain.client("bedrock-agentcore-control")
            assert control.list_agent_runtimes()["agentRuntimes"] == []
            with pytest.raises(ClientError) as missing:
                control.get_agent_runtime(agentRuntimeId=runtime_id)
            assert error_of(missing)[1] == "ResourceNotFoundException"
            status = local_cli(home, "status", "--json")
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)["runtimes"] == []
        assert state.read_bytes() == saved

        # With --persist again: the creation that was cut short is CREATE_FAILED, INTERRUPTED.
        with background_local(home, port, "--persist") as again:
            control = again.client("bedrock-agentcore-control")
            got = control.get_agent_runtime(agentRuntimeId=runtime_id)
            assert got["status"] == "CREATE_FAILED"
            assert got["failureReason"].startswith("interrupted by a local AgentCore restart")
            [endpoint] = control.list_agent_runtime_endpoints(agentRuntimeId=runtime_id)[
                "runtimeEndpoints"
            ]
            assert (endpoint["name"], endpoint["status"]) == ("DEFAULT", "CREATE_FAILED")
            assert "liveVersion" not in endpoint
            # An MCP runtime refuses in the contract's JSON-RPC form: 200 and -32006.
            not_ready = call_tool(again, arn, "release")
            assert not_ready["error"]["code"] == -32006, not_ready
            message = not_ready["error"]["data"]["detail"]
            assert "CREATE_FAILED" in message and "interrupted" in message
            # The reason says "call UpdateAgentRuntime with the same configuration", but the
            # role it names is gone with the embedded IAM: that call is refused until the
            # role is recreated.
            again.role_arn = got["roleArn"]
            with pytest.raises(ClientError) as refused:
                control.update_agent_runtime(agentRuntimeId=runtime_id, **fields)
            assert "does not exist in IAM" in error_of(refused)[2]
        [version] = json.loads(state.read_text())["runtimes"][0]["versions"]
        assert version["status"] == "CREATE_FAILED"
        assert version["failureReason"].startswith("interrupted by a local AgentCore restart")
    finally:
        if pid is not None:
            end_stray_probe(pid)


# --- logs --follow ---------------------------------------------------------------------


@dataclass
class Chatty:
    handle: LocalAgentCoreHandle
    runtime_id: str
    arn: str


@pytest.fixture(scope="class")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chatty]:
    """A background local AgentCore (no --persist) with a READY runtime that prints."""
    home = tmp_path_factory.mktemp("logs") / "home"
    with background_local(home, free_port()) as local:
        local.provision()
        got = local.create_runtime("chatty", {"main.py": CHATTY_MAIN})
        assert got["status"] == "READY", got
        yield Chatty(local, got["agentRuntimeId"], got["agentRuntimeArn"])


def new_session(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"  # 33..256 characters, as AgentCore requires


def tag(session: str, version: str = "1") -> str:
    """How an instance's lines are tagged in the runtime's log (local/instances.py)."""
    return f"[{session[:12]} v{version} pid "


def say_until_followed(c: Chatty, follow: LineReader, session: str, timeout: float) -> str:
    """Have `session` print fresh markers until `follow` shows one; that line.

    The first line a follower prints may be one it read before it started following, so
    a caller that needs a line written while following should print one more after this.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        marker = f"m-{uuid.uuid4().hex[:10]}"
        assert tool_text(call_tool(c.handle, c.arn, "say", {"text": marker}, session=session))
        seen = follow.wait_for(tag(session), f"said: {marker}", timeout=2)
        if seen is not None:
            return seen
    raise AssertionError(f"`logs --follow` printed nothing of {session}: {follow.lines}")


class TestLogsFollow:
    """One background local AgentCore with a chatty runtime (class-scoped)."""

    def test_logs_follow_existing_and_new_lines_tagged_by_session(self, chatty: Chatty) -> None:
        c = chatty
        home = c.handle.home
        first, second = new_session("alpha"), new_session("bravo")
        follow = LineReader(local_argv(home, "logs", c.runtime_id, "--follow"), cli_env())
        try:
            line1 = say_until_followed(c, follow, first, timeout=20)
            # Written after the follower printed line1: only its follow loop can show this one.
            marker = f"m2-{uuid.uuid4().hex[:8]}"
            call_tool(c.handle, c.arn, "say", {"text": marker}, session=second)
            line2 = follow.wait_for(tag(second), f"said: {marker}", timeout=10)
            assert line2 is not None, follow.lines
            assert (
                line2 == f"{tag(second)}{line2.split(' pid ')[1].split(']')[0]}] said: {marker}\n"
            )
            assert any(line.startswith("[probe-1-") for line in follow.lines)  # the probe's run
            assert any("listening on" in line for line in follow.lines if tag(second) in line)

            # Ctrl-C ends it as it ends `tail -f`: killed by SIGINT (a shell says 130).
            code, took = follow.stop(signal.SIGINT, timeout=30)
            assert code == -signal.SIGINT, (code, took)
            assert "Traceback" not in follow.stderr()
        finally:
            follow.close()

        # Without --follow: the same lines, in the same order, and then it exits.
        plain = local_cli(home, "logs", c.runtime_id)
        assert plain.returncode == 0, plain.stderr
        lines = plain.stdout.splitlines(keepends=True)
        assert line1 in lines and line2 in lines
        assert lines[: len(follow.lines)] == follow.lines

        # A follower started now shows the lines already written at once, before any new
        # one; and SIGTERM ends it as promptly, with the signal's status.
        follow = LineReader(local_argv(home, "logs", c.runtime_id, "--follow"), cli_env())
        try:
            assert follow.wait_for("[probe-1-", timeout=5) is not None, follow.lines
            say_until_followed(c, follow, first, timeout=20)
            code, took = follow.stop(signal.SIGTERM, timeout=30)
            assert code == -signal.SIGTERM, (code, took)
        finally:
            follow.close()
