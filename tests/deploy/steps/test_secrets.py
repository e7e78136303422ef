"""The secrets step on its own, over a real local AgentCore (moto's Secrets Manager):
one secret per --secret NAME, tagged, its ARN recorded; a rerun with no value keeps it
and writes nothing; a removed one is scheduled for deletion (restorable), not deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.errors import DeployError
from agentcore_mcp.deploy.steps import secrets
from tests.support.deploy import step_context, writes_of
from tests.support.local import LocalAgentCoreHandle


def _tags(handle: LocalAgentCoreHandle, secret_id: str) -> dict[str, str]:
    found = handle.client("secretsmanager").describe_secret(SecretId=secret_id)
    return {t["Key"]: t["Value"] for t in found.get("Tags", [])}


def test_stores_each_secret_tagged_and_records_only_its_arn(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    ctx = step_context(
        steps_agentcore,
        state_path,
        name="sec_fresh",
        secrets=("API_KEY", "DB_URL"),
        secret_values={"API_KEY": "sk-one", "DB_URL": "postgres://two"},
    )
    changed, writes = writes_of(ctx, lambda: secrets.apply(ctx))
    assert changed is True
    assert writes == ["secretsmanager.CreateSecret", "secretsmanager.CreateSecret"]
    sm = steps_agentcore.client("secretsmanager")
    for var, value in (("API_KEY", "sk-one"), ("DB_URL", "postgres://two")):
        arn = ctx.record.secrets[var]
        got = sm.describe_secret(SecretId=arn)
        assert got["Name"] == f"agentcore-mcp/sec_fresh/{var}"
        assert sm.get_secret_value(SecretId=arn)["SecretString"] == value
        assert _tags(steps_agentcore, arn) == ctx.tags
    state_text = state_path.read_text()
    assert "sk-one" not in state_text and "postgres://two" not in state_text
    assert ctx.record.secrets["API_KEY"] in state_text


def test_a_rerun_without_values_or_with_the_same_ones_writes_nothing(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    flags = {"name": "sec_rerun", "secrets": ("TOKEN",)}
    first = step_context(steps_agentcore, state_path, secret_values={"TOKEN": "t1"}, **flags)
    secrets.apply(first)
    for value in (None, "t1"):
        again = step_context(steps_agentcore, state_path, secret_values={"TOKEN": value}, **flags)
        assert writes_of(again, lambda ctx=again: secrets.apply(ctx)) == (False, []), value
        assert again.record.secrets == first.record.secrets
    changed = step_context(steps_agentcore, state_path, secret_values={"TOKEN": "t2"}, **flags)
    assert writes_of(changed, lambda: secrets.apply(changed)) == (
        True,
        ["secretsmanager.PutSecretValue"],
    )
    sm = steps_agentcore.client("secretsmanager")
    assert sm.get_secret_value(SecretId=first.record.secrets["TOKEN"])["SecretString"] == "t2"


def test_a_removed_secret_is_scheduled_for_deletion_and_restored_when_added_again(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "sec_removed"
    first = step_context(
        steps_agentcore, state_path, name=name, secrets=("OLD",), secret_values={"OLD": "keep-me"}
    )
    secrets.apply(first)
    arn = first.record.secrets["OLD"]
    # What desired_config makes of --remove-secret OLD: a config without it.
    removed = step_context(steps_agentcore, state_path, name=name)
    changed, writes = writes_of(removed, lambda: secrets.apply(removed))
    assert changed is True and writes == ["secretsmanager.DeleteSecret"]
    assert removed.record.secrets == {}
    [scheduled] = removed.scheduled_deletions
    assert scheduled["arn"] == arn
    assert scheduled["restore"].startswith(f"aws secretsmanager restore-secret --secret-id {arn}")
    sm = steps_agentcore.client("secretsmanager")
    assert sm.describe_secret(SecretId=arn).get("DeletedDate")  # scheduled, not gone
    # Added again with no value: restored, the stored value kept.
    back = step_context(steps_agentcore, state_path, name=name, secrets=("OLD",))
    changed, writes = writes_of(back, lambda: secrets.apply(back))
    assert changed is True and writes == ["secretsmanager.RestoreSecret"]
    assert back.record.secrets == {"OLD": arn}
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "keep-me"


def test_a_new_secret_without_a_value_is_refused_and_nothing_is_made(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    ctx = step_context(steps_agentcore, state_path, name="sec_novalue", secrets=("MISSING",))
    with pytest.raises(DeployError) as refused:
        writes_of(ctx, lambda: secrets.apply(ctx))
    assert "secret MISSING: no value to store" in str(refused.value)
    assert "export it" in str(refused.value)
    assert [op for op, write in ctx.target.calls.calls if write] == []
    with pytest.raises(ClientError) as absent:
        steps_agentcore.client("secretsmanager").describe_secret(
            SecretId="agentcore-mcp/sec_novalue/MISSING"
        )
    assert absent.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert ctx.record.secrets == {}


def test_destroy_leaves_a_secret_in_its_prefix_that_it_did_not_make(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "sec_destroy"
    ctx = step_context(
        steps_agentcore, state_path, name=name, secrets=("MINE",), secret_values={"MINE": "m"}
    )
    secrets.apply(ctx)
    sm = steps_agentcore.client("secretsmanager")
    handmade = sm.create_secret(Name=f"agentcore-mcp/{name}/HANDMADE", SecretString="h")["ARN"]
    gone = step_context(steps_agentcore, state_path, name=name, force_delete_secrets=True)
    changed, writes = writes_of(gone, lambda: secrets.destroy(gone))
    assert changed is True and writes == ["secretsmanager.DeleteSecret"]
    with pytest.raises(ClientError):
        sm.describe_secret(SecretId=ctx.record.secrets["MINE"])  # deleted at once (forced)
    assert sm.get_secret_value(SecretId=handmade)["SecretString"] == "h"
    assert gone.record.secrets == {}
