"""The control plane's patterns and enums are botocore's model's, not copies of it; so are
the rule book's (`runtime_rules`), which the deployer applies too."""

from __future__ import annotations

import botocore.session
import pytest

from agentcore_mcp import runtime_rules
from agentcore_mcp.local.control import validation

MODEL = botocore.session.get_session().get_service_model("bedrock-agentcore-control")


@pytest.mark.parametrize(
    ("rule", "shape"),
    [
        ("ENDPOINT_NAME_RE", "EndpointName"),
        ("RUNTIME_ID_RE", "AgentRuntimeId"),
        ("ROLE_ARN_RE", "RoleArn"),
        ("BUCKET_RE", "S3LocationBucketString"),
        ("CONTAINER_URI_RE", "RuntimeContainerUri"),
        ("DISCOVERY_URL_RE", "DiscoveryUrl"),
    ],
)
def test_patterns_are_the_models(rule: str, shape: str) -> None:
    assert getattr(validation, rule).pattern == MODEL.shape_for(shape).metadata["pattern"]


@pytest.mark.parametrize("shape", ["AgentRuntimeName", "HeaderName"])
def test_the_rule_books_patterns_are_the_models(shape: str) -> None:
    assert runtime_rules.pattern(shape).pattern == MODEL.shape_for(shape).metadata["pattern"]
    limits = MODEL.shape_for("RequestHeaderAllowlist").metadata
    assert runtime_rules.length("RequestHeaderAllowlist") == (limits["min"], limits["max"])


def test_enums_are_the_models() -> None:
    assert tuple(MODEL.shape_for("AgentManagedRuntimeType").enum) == validation.MANAGED_RUNTIMES
    assert "NODE_22" in validation.MANAGED_RUNTIMES
    assert tuple(MODEL.shape_for("ServerProtocol").enum) == validation.SERVER_PROTOCOLS


def test_the_one_hand_written_pattern_keeps_slashes_out() -> None:
    # The model's `[A-Za-z0-9_.-:]+` is a character range in a regex engine ('.' to ':'),
    # which would admit '/'; the guide lists letters, digits, '_', '.', '-' and ':'.
    assert validation.CLAIM_NAME_RE.fullmatch("cognito:groups")
    assert not validation.CLAIM_NAME_RE.fullmatch("a/b")
