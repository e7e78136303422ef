"""The publish step on its own, over a real local AgentCore (moto's SSM): the two
parameters a client on another machine reads, tagged; unchanged means no write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import Event
from agentcore_mcp.deploy.errors import DeployError
from agentcore_mcp.deploy.state import CognitoRecord, RuntimeRecord
from agentcore_mcp.deploy.steps import publish
from tests.support.deploy import step_context, writes_of
from tests.support.local import ACCOUNT, REGION, LocalAgentCoreHandle


def _runtime(name: str, suffix: str = "AbCdE12345") -> RuntimeRecord:
    """What the runtime step records (publish reads only the record)."""
    arn = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/{name}-{suffix}"
    return RuntimeRecord(
        id=f"{name}-{suffix}", arn=arn, name=name, invocation_url=f"http://x/{suffix}"
    )


def _parameter(handle: LocalAgentCoreHandle, name: str) -> tuple[str, int, dict[str, str]]:
    ssm = handle.client("ssm")
    got = ssm.get_parameter(Name=name)["Parameter"]
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return got["Value"], got["Version"], {t["Key"]: t["Value"] for t in tags}


def test_writes_the_deployment_document_and_the_arn_tagged(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "pub_fresh"
    ctx = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    ctx.record.runtime = _runtime(name)
    ctx.record.cognito = CognitoRecord(
        pool_id=f"{REGION}_Pool1",
        pool_name=f"agentcore-mcp-{name}",
        client_id="client1",
        discovery_url="https://idp/.well-known/openid-configuration",
        user_secret_id=f"agentcore-mcp/{name}/cognito-user",
    )
    changed, writes = writes_of(ctx, lambda: publish.apply(ctx))
    assert changed is True and writes == ["ssm.PutParameter", "ssm.PutParameter"]
    value, version, tags = _parameter(steps_agentcore, f"/agentcore-mcp/{name}/deployment")
    assert json.loads(value) == {
        "runtime_arn": ctx.record.runtime.arn,
        "invocation_url": "http://x/AbCdE12345",
        "auth": "oauth",
        "region": REGION,
        "discovery_url": "https://idp/.well-known/openid-configuration",
        "client_id": "client1",
        "user_secret_id": f"agentcore-mcp/{name}/cognito-user",
    }
    assert version == 1 and tags == ctx.tags
    arn_value, _, arn_tags = _parameter(steps_agentcore, f"/agentcore-mcp/{name}/agent_arn")
    assert arn_value == ctx.record.runtime.arn and arn_tags == ctx.tags
    assert ctx.record.publish is not None
    assert ctx.record.publish.parameter == f"/agentcore-mcp/{name}/deployment"


def test_a_rerun_writes_nothing_and_a_new_runtime_overwrites_keeping_the_tags(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "pub_rerun"
    first = step_context(steps_agentcore, state_path, name=name)
    first.record.runtime = _runtime(name)
    publish.apply(first)
    again = step_context(steps_agentcore, state_path, name=name)  # runtime as recorded
    assert writes_of(again, lambda: publish.apply(again)) == (False, [])
    moved = step_context(steps_agentcore, state_path, name=name)
    moved.record.runtime = _runtime(name, "ZyXwV98765")
    changed, writes = writes_of(moved, lambda: publish.apply(moved))
    assert changed is True and writes == ["ssm.PutParameter", "ssm.PutParameter"]
    value, version, tags = _parameter(steps_agentcore, f"/agentcore-mcp/{name}/agent_arn")
    assert value.endswith("ZyXwV98765") and version == 2 and tags == first.tags


def test_without_a_runtime_it_says_to_run_deploy_and_writes_nothing(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    ctx = step_context(steps_agentcore, state_path, name="pub_early")
    with pytest.raises(DeployError, match="publish needs the runtime step first: run deploy"):
        writes_of(ctx, lambda: publish.apply(ctx))
    assert [op for op, write in ctx.target.calls.calls if write] == []
    with pytest.raises(ClientError) as absent:
        steps_agentcore.client("ssm").get_parameter(Name="/agentcore-mcp/pub_early/deployment")
    assert absent.value.response["Error"]["Code"] == "ParameterNotFound"


def test_destroy_deletes_its_parameters_and_leaves_one_it_did_not_make(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "pub_destroy"
    ctx = step_context(steps_agentcore, state_path, name=name)
    ctx.record.runtime = _runtime(name)
    publish.apply(ctx)
    ssm = steps_agentcore.client("ssm")
    arn_parameter = f"/agentcore-mcp/{name}/agent_arn"
    ssm.delete_parameter(Name=arn_parameter)
    ssm.put_parameter(Name=arn_parameter, Value="made by hand", Type="String")
    events: list[Event] = []
    gone = step_context(steps_agentcore, state_path, name=name, events=events)
    changed, writes = writes_of(gone, lambda: publish.destroy(gone))
    assert changed is True and writes == ["ssm.DeleteParameter"]
    with pytest.raises(ClientError):
        ssm.get_parameter(Name=f"/agentcore-mcp/{name}/deployment")
    assert ssm.get_parameter(Name=arn_parameter)["Parameter"]["Value"] == "made by hand"
    warnings = [e.message for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("left SSM parameter arn:aws:ssm:")
    assert arn_parameter in warnings[0] and "untagged" in warnings[0]
