"""RuntimeRegistry, validation and the trust-policy check on their own (no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from agentcore_mcp.local.control import (
    CodeArtifact,
    ContainerArtifact,
    ProtocolSettings,
    RuntimeNotFound,
    RuntimeNotReady,
    RuntimeRegistry,
)
from agentcore_mcp.local.control.errors import ValidationError
from agentcore_mcp.local.control.roles import trust_allows_agentcore
from agentcore_mcp.local.control.validation import parse_runtime_config

REGION, ACCOUNT = "eu-west-1", "111122223333"


def request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agentRuntimeArtifact": {
            "containerConfiguration": {
                "containerUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/tools@sha256:abc"
            }
        },
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/Agent",
    }
    body.update(overrides)
    return body


def test_protocol_defaults_follow_the_protocol() -> None:
    assert (
        ProtocolSettings().server_protocol,
        ProtocolSettings().port,
        ProtocolSettings().path,
    ) == ("HTTP", 8080, "/invocations")
    assert (ProtocolSettings("MCP").port, ProtocolSettings("MCP").path) == (8000, "/mcp")
    assert (ProtocolSettings("A2A").port, ProtocolSettings("A2A").path) == (9000, "/")
    assert ProtocolSettings("MCP", 9001, "/x").port == 9001


def test_parse_builds_the_frozen_config() -> None:
    config = parse_runtime_config(
        request(
            agentRuntimeArtifact={
                "codeConfiguration": {
                    "code": {
                        "s3": {"bucket": "code-bucket", "prefix": "a/b.zip", "versionId": "v123"}
                    },
                    "runtime": "NODE_22",
                    "entryPoint": ["index.js", "--flag"],
                }
            },
            protocolConfiguration={"serverProtocol": "MCP"},
            authorizerConfiguration={
                "customJWTAuthorizer": {
                    "discoveryUrl": "http://127.0.0.1:9/pool/.well-known/openid-configuration",
                    "allowedAudience": ["aud"],
                }
            },
            environmentVariables={"A": "1"},
            lifecycleConfiguration={"idleRuntimeSessionTimeout": 120},
        )
    )
    assert config.artifact == CodeArtifact(
        "code-bucket", "a/b.zip", "v123", "NODE_22", ("index.js", "--flag")
    )
    assert config.authorizer is not None and config.authorizer["allowedAudience"] == ["aud"]
    assert (config.idle_timeout_seconds, config.max_lifetime_seconds) == (120, 28800)
    assert config.network_mode == "PUBLIC" and config.request_header_allowlist == ()
    assert dict(config.environment) == {"A": "1"}
    with pytest.raises(TypeError):
        config.environment["B"] = "2"  # type: ignore[index]
    assert config.raw["lifecycleConfiguration"] == {
        "idleRuntimeSessionTimeout": 120,
        "maxLifetime": 28800,
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"protocolConfiguration": {"serverProtocol": "MCP", "port": 7999}},
            "protocolConfiguration.port",
        ),
        (
            {"protocolConfiguration": {"serverProtocol": "MCP", "path": "mcp"}},
            "protocolConfiguration.path",
        ),
        (
            {"lifecycleConfiguration": {"idleRuntimeSessionTimeout": 59}},
            "lifecycleConfiguration.idleRuntimeSessionTimeout",
        ),
        (
            {"requestHeaderConfiguration": {"requestHeaderAllowlist": []}},
            "requestHeaderConfiguration.requestHeaderAllowlist",
        ),
        ({"agentRuntimeArtifact": {}}, "agentRuntimeArtifact"),
        (
            {"networkConfiguration": {"networkMode": "VPC"}},
            "networkConfiguration.networkModeConfig",
        ),
        ({"roleArn": None}, "roleArn"),
    ],
)
def test_validation_names_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_runtime_config(request(**overrides))
    assert excinfo.value.field == field
    assert excinfo.value.fields()["fieldList"][0]["name"] == field


def test_trust_policy_forms() -> None:
    good = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Principal": {"Service": ["bedrock-agentcore.amazonaws.com"]},
            }
        ]
    }
    assert trust_allows_agentcore(good)
    assert trust_allows_agentcore(json.dumps(good))
    assert trust_allows_agentcore(quote(json.dumps(good)))
    deny = {"Statement": [{**good["Statement"][0], "Effect": "Deny"}]}
    assert not trust_allows_agentcore(deny)
    other = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            }
        ]
    }
    assert not trust_allows_agentcore(other)
    wrong_action = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
            }
        ]
    }
    assert not trust_allows_agentcore(wrong_action)


def test_resolve_invocation_rules(tmp_path: Path) -> None:
    registry = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    rt = registry.create_runtime("tools", parse_runtime_config(request()))
    with pytest.raises(RuntimeNotReady) as creating:
        registry.resolve_invocation(rt.arn, None)
    assert creating.value.status == "CREATING" and "Poll GetAgentRuntime" in str(creating.value)
    registry.finish_version(rt.runtime_id, 1, None)

    resolved = registry.resolve_invocation(rt.arn, None)
    assert isinstance(resolved.config.artifact, ContainerArtifact)
    assert (resolved.name, resolved.version, resolved.endpoint_name) == ("tools", "1", "DEFAULT")
    assert registry.resolve_invocation(rt.runtime_id, "1").endpoint_name == "1"

    other_account = rt.arn.replace(ACCOUNT, "999999999999")
    for target, qualifier, fragment in [
        (other_account, None, "this local AgentCore serves"),
        (rt.arn, "prod", "no endpoint 'prod'"),
        (rt.arn, "4", "no version 4"),
        ("tools-AAAAAAAAAA", None, "No agent runtime"),
        ("arn:aws:bedrock-agentcore:eu-west-1:111122223333:agent/x", None, "not an agent runtime"),
    ]:
        with pytest.raises(RuntimeNotFound, match=fragment):
            registry.resolve_invocation(target, qualifier)

    registry.add_version(rt.runtime_id, parse_runtime_config(request(description="v2")))
    assert registry.resolve_invocation(rt.arn, None).version == "1"  # UPDATING: still v1
    registry.finish_version(rt.runtime_id, 2, "broken")
    assert registry.resolve_invocation(rt.arn, None).version == "1"
    with pytest.raises(RuntimeNotReady) as failed:
        registry.resolve_invocation(rt.arn, "2")
    assert failed.value.status == "UPDATE_FAILED" and failed.value.failure_reason == "broken"

    [summary] = registry.runtimes()
    assert (summary.status, summary.latest_version, summary.failure_reason) == (
        "UPDATE_FAILED",
        "2",
        "broken",
    )
    [default] = summary.endpoints
    assert (default.name, default.live_version, default.target_version) == ("DEFAULT", "1", "2")

    reloaded = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    assert reloaded.resolve_invocation(rt.arn, None).config == resolved.config
    assert [s.status for s in reloaded.runtimes()] == ["UPDATE_FAILED"]


def test_a_state_file_of_another_region_or_account_is_refused(tmp_path: Path) -> None:
    from agentcore_mcp.local.control.errors import RegistryLoadError

    registry = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    rt = registry.create_runtime("tools", parse_runtime_config(request()))
    registry.finish_version(rt.runtime_id, 1, None)
    saved = (tmp_path / "runtimes.json").read_text()
    with pytest.raises(RegistryLoadError, match="region 'eu-west-1', not 'us-east-1'") as region:
        RuntimeRegistry(region="us-east-1", account_id=ACCOUNT, persist_dir=tmp_path)
    assert "another --home" in str(region.value)
    with pytest.raises(RegistryLoadError, match="account"):
        RuntimeRegistry(region=REGION, account_id="999999999999", persist_dir=tmp_path)
    # Refused, not rewritten: the saved runtimes are still there for the right settings.
    assert (tmp_path / "runtimes.json").read_text() == saved
    again = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    assert [r.runtime_id for r in again.runtimes()] == [rt.runtime_id]
