"""Runtime tags in the registry: kept across a restart with --persist, gone with the
runtime, and only for ARNs of this region and account (the API end to end is in
tests/deploy/test_ownership.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcore_mcp.local.control.errors import ResourceNotFoundError, ValidationError
from agentcore_mcp.local.control.registry import RuntimeRegistry
from agentcore_mcp.local.control.validation import check_tags, parse_runtime_config
from tests.local.control.test_registry import ACCOUNT, REGION, request


def test_tags_survive_a_restart_and_go_with_the_runtime(tmp_path: Path) -> None:
    registry = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    rt = registry.create_runtime("tools", parse_runtime_config(request()), {"team": "a"})
    registry.tag(rt.arn, {"env": "dev"})
    reloaded = RuntimeRegistry(region=REGION, account_id=ACCOUNT, persist_dir=tmp_path)
    assert reloaded.tags_of(rt.arn) == {"team": "a", "env": "dev"}
    reloaded.untag(rt.arn, ["team"])
    assert reloaded.tags_of(rt.arn) == {"env": "dev"}
    for foreign in (
        rt.arn.replace(ACCOUNT, "999999999999"),
        rt.arn.replace(REGION, "us-east-1"),
        rt.arn.replace("tools-", "other-"),
    ):
        with pytest.raises(ResourceNotFoundError):
            reloaded.tag(foreign, {"x": "y"})
    reloaded.begin_delete(rt.runtime_id)
    reloaded.remove_runtime(rt.runtime_id)
    with pytest.raises(ResourceNotFoundError):
        reloaded.tags_of(rt.arn)


def test_tag_maps_follow_the_model() -> None:
    assert check_tags({"agentcore-mcp:deployment": "local/us-east-1/x"}) == {
        "agentcore-mcp:deployment": "local/us-east-1/x"
    }
    for bad in (
        {"aws:created-by": "me"},
        {"": "empty key"},
        {"k" * 129: "long key"},
        {"k": "v" * 257},
        {"semi;colon": "v"},
        {f"k{i}": "v" for i in range(51)},
        ["not", "a", "map"],
    ):
        with pytest.raises(ValidationError):
            check_tags(bad)


def test_more_than_fifty_tags_on_a_runtime_are_refused(tmp_path: Path) -> None:
    registry = RuntimeRegistry(region=REGION, account_id=ACCOUNT)
    rt = registry.create_runtime("tools", parse_runtime_config(request()))
    registry.tag(rt.arn, {f"k{i}": "v" for i in range(50)})
    with pytest.raises(ValidationError, match="at most 50"):
        registry.tag(rt.arn, {"one-more": "v"})
    assert len(registry.tags_of(rt.arn)) == 50
