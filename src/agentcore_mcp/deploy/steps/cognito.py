"""Cognito: a user pool, an app client (USER_PASSWORD_AUTH + refresh) and one user whose
generated password lives only in Secrets Manager."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import error_code
from agentcore_mcp.deploy.ownership import find_pool, pool_claim
from agentcore_mcp.deploy.state import CognitoRecord
from agentcore_mcp.deploy.steps.secrets import delete_secret, ensure_secret

USERNAME = "agentcore-mcp-user"


def discovery_url(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}/.well-known/openid-configuration"


def new_password() -> str:
    # Meets Cognito's default policy: upper, lower, digit, symbol, length >= 8.
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(28))
    return f"Aa1!{body}"


def find_client(idp: Any, pool_id: str, name: str) -> str | None:
    """The id of the pool's app client named `name` (botocore's paginator: a pool with
    more clients than one page holds still finds it; at most 100 pages)."""
    pages = idp.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, PaginationConfig={"PageSize": 60, "MaxItems": 6000}
    )
    for page in pages:
        for client in page.get("UserPoolClients", []):
            if client.get("ClientName") == name:
                return str(client["ClientId"])
    return None


def apply(ctx: StepContext) -> bool:
    idp = ctx.client("cognito-idp")
    names = ctx.names
    changed = False
    try:
        pool_id = find_pool(idp, names.pool)
        if pool_id is None:
            if ctx.dry_run:
                ctx.progress(f"would create user pool {names.pool}, app client and user")
                return True
            pool_id = idp.create_user_pool(
                PoolName=names.pool,
                Policies={
                    "PasswordPolicy": {
                        "MinimumLength": 12,
                        "RequireUppercase": True,
                        "RequireLowercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                    }
                },
                UserPoolTags=ctx.tags,
            )["UserPool"]["Id"]
            ctx.progress(f"created user pool {pool_id}")
            changed = True
        record = ctx.record.cognito or CognitoRecord(pool_id=pool_id, pool_name=names.pool)
        record.pool_id, record.discovery_url = pool_id, discovery_url(ctx.target.region, pool_id)
        ctx.record.cognito = record
        ctx.save()
        client_id = find_client(idp, pool_id, names.pool)
        if client_id is None:
            if ctx.dry_run:
                ctx.progress("would create the app client and user")
                return True
            client_id = idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=names.pool,
                GenerateSecret=False,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )["UserPoolClient"]["ClientId"]
            ctx.progress(f"created app client {client_id}")
            changed = True
        record.client_id = client_id
        ctx.save()
        changed |= _ensure_user(ctx, idp, pool_id, client_id)
        return changed
    except ClientError as exc:
        raise ctx.fail(exc, "setting up Cognito") from None


def _ensure_user(ctx: StepContext, idp: Any, pool_id: str, client_id: str) -> bool:
    """The user exists and its password is the one in the secret. A kill between the two
    is repaired: a missing secret means a new password, set on the user."""
    assert ctx.record.cognito is not None
    sm = ctx.client("secretsmanager")
    secret_id = ctx.names.user_secret
    try:
        idp.admin_get_user(UserPoolId=pool_id, Username=USERNAME)
        user_exists = True
    except ClientError as exc:
        if error_code(exc) != "UserNotFoundException":
            raise
        user_exists = False
    stored: dict[str, Any] | None = None
    try:
        stored = json.loads(sm.get_secret_value(SecretId=secret_id)["SecretString"])
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    if user_exists and stored is not None and stored.get("client_id") == client_id:
        ctx.record.cognito.username = USERNAME
        ctx.record.cognito.user_secret_id = secret_id
        ctx.save()
        return False
    if ctx.dry_run:
        ctx.progress("would create the Cognito user and store its password")
        return True
    password = str(stored["password"]) if stored and user_exists else new_password()
    doc = {
        "username": USERNAME,
        "password": password,
        "client_id": client_id,
        "pool_id": pool_id,
        "discovery_url": ctx.record.cognito.discovery_url,
    }
    # The secret first: once it holds the password, a kill cannot lose it.
    ensure_secret(ctx, secret_id, json.dumps(doc), "the Cognito user's password")
    if not user_exists:
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=USERNAME,
            MessageAction="SUPPRESS",
            TemporaryPassword=password,
        )
        ctx.progress(f"created user {USERNAME}")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=USERNAME, Password=password, Permanent=True
    )
    ctx.record.cognito.username = USERNAME
    ctx.record.cognito.user_secret_id = secret_id
    ctx.save()
    return True


def destroy(ctx: StepContext) -> bool:
    idp = ctx.client("cognito-idp")
    changed = False
    try:
        pool_id = find_pool(idp, ctx.names.pool)
        claim = pool_claim(idp, pool_id) if pool_id is not None else None
        why = ctx.not_ours(claim.tags) if claim is not None else None
        if claim is not None and why is not None:
            ctx.warn(f"left user pool {claim.arn} and its app clients: {why}")
        elif pool_id is not None:
            if ctx.dry_run:
                ctx.progress(f"would delete user pool {pool_id}")
                return True
            idp.delete_user_pool(UserPoolId=pool_id)
            ctx.progress(f"deleted user pool {pool_id}")
            changed = True
    except ClientError as exc:
        raise ctx.fail(exc, "deleting the user pool") from None
    changed |= delete_secret(ctx, ctx.names.user_secret)
    ctx.record.cognito = None
    return changed
