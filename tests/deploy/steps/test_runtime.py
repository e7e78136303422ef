"""The runtime step on its own, over a real local AgentCore: create with the whole
configuration and the deployment's tags, wait for READY; an equal configuration means no
update (no new version); a change makes one version; a program that cannot start is
CREATE_FAILED with AgentCore's reason, and the next run updates that same runtime.

The role is the role step's; the artifact is a hand-made zip of a standard-library
server (the build step has its own tests), stored and recorded as the build step does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import DeployError, RuntimeFailedError
from agentcore_mcp.deploy.state import ArtifactRecord
from agentcore_mcp.deploy.steps import build, role, runtime
from tests.support.deploy import step_context, writes_of
from tests.support.local import ACCOUNT, REGION, LocalAgentCoreHandle, code_zip

pytestmark = pytest.mark.slow  # each created or updated version starts a real instance

LISTENS = """\
import http.server, os

class Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "Healthy"}')

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Ping).serve_forever()
"""
EXITS = "raise SystemExit('no configuration here')\n"
CONTROL = "bedrock-agentcore-control"


def _with_artifact(handle: LocalAgentCoreHandle, ctx: StepContext, main: str) -> StepContext:
    """The zip in the deployer's bucket under NAME/SHA256.zip, recorded as build records it."""
    build.ensure_bucket(ctx)
    body = code_zip({"main.py": main})
    sha = hashlib.sha256(body).hexdigest()
    key = ctx.names.artifact_key(sha)
    handle.client("s3").put_object(Bucket=ctx.names.bucket, Key=key, Body=body)
    ctx.record.artifact = ArtifactRecord(
        kind="zip",
        sha256=sha,
        bucket=ctx.names.bucket,
        key=key,
        size=len(body),
        python_runtime="PYTHON_3_11",
    )
    ctx.save()
    return ctx


def _ready_to_run(
    handle: LocalAgentCoreHandle, state: Path, main: str = LISTENS, **flags: Any
) -> StepContext:
    ctx = step_context(handle, state, **flags)
    role.apply(ctx)
    return _with_artifact(handle, ctx, main)


def _versions(handle: LocalAgentCoreHandle, runtime_id: str) -> list[str]:
    listed = handle.client(CONTROL).list_agent_runtime_versions(agentRuntimeId=runtime_id)
    return sorted(v["agentRuntimeVersion"] for v in listed["agentRuntimes"])


def test_creates_the_runtime_as_configured_and_tagged_and_waits_for_ready(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "rt_fresh"
    ctx = _ready_to_run(
        steps_agentcore,
        state_path,
        name=name,
        env={"LOG_LEVEL": "info"},
        idle_timeout=300,
        header_allowlist=("X-Tenant",),
    )
    secret_arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:agentcore-mcp/{name}/K-AbCdEf"
    ctx.record.secrets = {"API_KEY": secret_arn}  # as the secrets step records it
    changed, writes = writes_of(ctx, lambda: runtime.apply(ctx))
    assert changed is True and writes == [f"{CONTROL}.CreateAgentRuntime"]
    recorded = ctx.record.runtime
    assert recorded is not None and recorded.status == "READY" and recorded.version == "1"
    assert recorded.config_hash == runtime.config_hash(runtime.desired_configuration(ctx))
    assert recorded.arn.startswith(f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/{name}-")
    assert recorded.invocation_url.startswith(steps_agentcore.url)
    control = steps_agentcore.client(CONTROL)
    live = control.get_agent_runtime(agentRuntimeId=recorded.id)
    assert live["status"] == "READY"
    assert live["roleArn"] == ctx.record.role.arn
    assert live["protocolConfiguration"] == {"serverProtocol": "MCP"}
    assert live["environmentVariables"] == {"LOG_LEVEL": "info", "API_KEY_SECRET_ID": secret_arn}
    assert live["lifecycleConfiguration"]["idleRuntimeSessionTimeout"] == 300
    assert live["requestHeaderConfiguration"] == {"requestHeaderAllowlist": ["X-Tenant"]}
    assert "authorizerConfiguration" not in live  # SigV4: no authorizer
    code = live["agentRuntimeArtifact"]["codeConfiguration"]
    assert code["code"]["s3"] == {
        "bucket": ctx.names.bucket,
        "prefix": ctx.record.artifact.key,
    }
    assert control.list_tags_for_resource(resourceArn=recorded.arn)["tags"] == ctx.tags
    assert state_path.read_text().count(recorded.id) >= 1  # recorded as it went


def test_an_equal_configuration_writes_nothing_and_a_change_makes_one_version(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "rt_rerun"
    first = _ready_to_run(steps_agentcore, state_path, name=name, env={"A": "1"})
    runtime.apply(first)
    assert first.record.runtime is not None
    runtime_id = first.record.runtime.id

    again = step_context(steps_agentcore, state_path, name=name, env={"A": "1"})
    assert writes_of(again, lambda: runtime.apply(again)) == (False, [])
    assert _versions(steps_agentcore, runtime_id) == ["1"]

    changed_env = step_context(steps_agentcore, state_path, name=name, env={"A": "2"})
    changed, writes = writes_of(changed_env, lambda: runtime.apply(changed_env))
    assert changed is True and writes == [f"{CONTROL}.UpdateAgentRuntime"]
    assert _versions(steps_agentcore, runtime_id) == ["1", "2"]
    live = steps_agentcore.client(CONTROL).get_agent_runtime(agentRuntimeId=runtime_id)
    assert live["environmentVariables"] == {"A": "2"} and live["status"] == "READY"
    assert changed_env.record.runtime is not None
    assert (changed_env.record.runtime.id, changed_env.record.runtime.version) == (runtime_id, "2")


def test_a_program_that_cannot_start_fails_with_the_reason_and_the_next_run_updates_it(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "rt_broken"
    ctx = _ready_to_run(steps_agentcore, state_path, EXITS, name=name)
    with pytest.raises(RuntimeFailedError) as failed:
        runtime.apply(ctx)
    message = str(failed.value)
    assert "is CREATE_FAILED: " in message and "Fix the cause and run deploy again" in message
    recorded = ctx.record.runtime
    assert recorded is not None and recorded.status == "CREATE_FAILED"
    assert recorded.config_hash == ""  # not the configuration that runs: the next run updates

    fixed = _with_artifact(
        steps_agentcore, step_context(steps_agentcore, state_path, name=name), LISTENS
    )
    changed, writes = writes_of(fixed, lambda: runtime.apply(fixed))
    assert changed is True and writes == [f"{CONTROL}.UpdateAgentRuntime"]
    assert fixed.record.runtime is not None and fixed.record.runtime.id == recorded.id
    assert fixed.record.runtime.status == "READY"
    listed = steps_agentcore.client(CONTROL).list_agent_runtimes()["agentRuntimes"]
    assert [r["agentRuntimeName"] for r in listed].count(name) == 1


def test_without_role_artifact_or_cognito_it_says_which_step_comes_first(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    bare = step_context(steps_agentcore, state_path, name="rt_early")
    with pytest.raises(DeployError, match="needs the role and build steps first: run deploy"):
        runtime.apply(bare)
    oauth = _ready_to_run(steps_agentcore, state_path, name="rt_early", auth="oauth")
    with pytest.raises(DeployError, match="--oauth needs the cognito step first"):
        runtime.apply(oauth)
    control_calls = [op for op, _ in bare.target.calls.calls + oauth.target.calls.calls]
    assert not [op for op in control_calls if op.startswith(CONTROL)]
