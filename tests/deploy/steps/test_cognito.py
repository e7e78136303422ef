"""The cognito step on its own, over a real local AgentCore (moto's Cognito and Secrets
Manager): a pool, an app client for USER_PASSWORD_AUTH, one user whose generated password
lives only in Secrets Manager; a rerun writes nothing; a lost secret is repaired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.errors import DeployError
from agentcore_mcp.deploy.steps import cognito
from tests.support.deploy import stale_credentials_home, step_context, writes_of
from tests.support.local import REGION, LocalAgentCoreHandle

USERNAME = "agentcore-mcp-user"


def _sign_in(handle: LocalAgentCoreHandle, client_id: str, password: str) -> dict[str, Any]:
    got: dict[str, Any] = handle.client("cognito-idp").initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": USERNAME, "PASSWORD": password},
    )
    return got


def _stored(handle: LocalAgentCoreHandle, name: str) -> dict[str, Any]:
    sm = handle.client("secretsmanager")
    doc: dict[str, Any] = json.loads(
        sm.get_secret_value(SecretId=f"agentcore-mcp/{name}/cognito-user")["SecretString"]
    )
    return doc


def test_makes_pool_client_and_user_whose_password_is_only_in_the_secret(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "cog_fresh"
    ctx = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    changed, writes = writes_of(ctx, lambda: cognito.apply(ctx))
    assert changed is True
    assert writes == [
        "cognito-idp.CreateUserPool",
        "cognito-idp.CreateUserPoolClient",
        "secretsmanager.CreateSecret",
        "cognito-idp.AdminCreateUser",
        "cognito-idp.AdminSetUserPassword",
    ]
    record = ctx.record.cognito
    assert record is not None and record.username == USERNAME
    idp = steps_agentcore.client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=record.pool_id)["UserPool"]
    assert pool["Name"] == f"agentcore-mcp-{name}" and pool["UserPoolTags"] == ctx.tags
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client = idp.describe_user_pool_client(UserPoolId=record.pool_id, ClientId=record.client_id)
    assert sorted(client["UserPoolClient"]["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert "ClientSecret" not in client["UserPoolClient"]
    assert record.discovery_url == (
        f"https://cognito-idp.{REGION}.amazonaws.com/{record.pool_id}"
        "/.well-known/openid-configuration"
    )
    stored = _stored(steps_agentcore, name)
    assert stored["client_id"] == record.client_id and stored["pool_id"] == record.pool_id
    assert record.user_secret_id == f"agentcore-mcp/{name}/cognito-user"
    assert _sign_in(steps_agentcore, record.client_id, stored["password"])["AuthenticationResult"]
    assert stored["password"] not in state_path.read_text()
    tags = steps_agentcore.client("secretsmanager").describe_secret(SecretId=record.user_secret_id)
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == ctx.tags


def test_a_rerun_writes_nothing_and_a_lost_secret_gets_a_new_password(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "cog_rerun"
    first = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    cognito.apply(first)
    assert first.record.cognito is not None
    old = _stored(steps_agentcore, name)["password"]

    again = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    assert writes_of(again, lambda: cognito.apply(again)) == (False, [])
    assert again.record.cognito == first.record.cognito

    # A kill between the secret and the user, or a hand deletion: the password is lost.
    steps_agentcore.client("secretsmanager").delete_secret(
        SecretId=f"agentcore-mcp/{name}/cognito-user", ForceDeleteWithoutRecovery=True
    )
    repair = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    changed, writes = writes_of(repair, lambda: cognito.apply(repair))
    assert changed is True
    assert writes == ["secretsmanager.CreateSecret", "cognito-idp.AdminSetUserPassword"]
    new = _stored(steps_agentcore, name)["password"]
    assert new != old
    client_id = first.record.cognito.client_id
    assert _sign_in(steps_agentcore, client_id, new)["AuthenticationResult"]
    with pytest.raises(ClientError) as refused:
        _sign_in(steps_agentcore, client_id, old)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    pools = steps_agentcore.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Name"] for p in pools].count(f"agentcore-mcp-{name}") == 1


def test_refused_credentials_stop_it_with_what_it_was_doing_and_nothing_made(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path, tmp_path: Path
) -> None:
    home = stale_credentials_home(steps_agentcore, tmp_path / "stale-home")
    ctx = step_context(
        steps_agentcore, state_path, name="cog_denied", auth="oauth", local_home=home
    )
    with pytest.raises(DeployError) as failed:
        cognito.apply(ctx)
    message = str(failed.value)
    assert message.startswith("setting up Cognito: ListUserPools failed"), message
    assert "not-0000" not in message  # the key is never repeated
    assert [op for op, write in ctx.target.calls.calls if write] == []
    pools = steps_agentcore.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert "agentcore-mcp-cog_denied" not in [p["Name"] for p in pools]
    assert ctx.record.cognito is None


def test_destroy_deletes_the_pool_and_the_password_at_once(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "cog_destroy"
    ctx = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    cognito.apply(ctx)
    assert ctx.record.cognito is not None
    pool_id = ctx.record.cognito.pool_id
    gone = step_context(steps_agentcore, state_path, name=name, auth="oauth")
    changed, writes = writes_of(gone, lambda: cognito.destroy(gone))
    assert changed is True
    assert writes == ["cognito-idp.DeleteUserPool", "secretsmanager.DeleteSecret"]
    with pytest.raises(ClientError):
        steps_agentcore.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as secret_gone:  # no recovery window: a new one next time
        steps_agentcore.client("secretsmanager").describe_secret(
            SecretId=f"agentcore-mcp/{name}/cognito-user"
        )
    assert secret_gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert gone.record.cognito is None
