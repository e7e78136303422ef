"""Runtimes on a real local AgentCore for the client and proxy tests: one SigV4 runtime,
one JWT runtime behind the embedded Cognito, and the stored user in Secrets Manager."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.local import CREDS, REGION, LocalAgentCoreHandle, run_local_agentcore

PASSWORD = "Passw0rd!x"
# Where the deployer keeps an OAuth deployment named sample_oauth's user (state records
# written by the tests name it, and readers check that it is that deployment's).
USER_SECRET = "agentcore-mcp/sample_oauth/cognito-user"


@dataclass
class Deployed:
    local: LocalAgentCoreHandle
    sigv4_arn: str
    oauth_arn: str
    pool: str
    client_id: str
    other_client_id: str
    secret_id: str

    def env(self, **extra: str) -> dict[str, str]:
        """What a user's shell has after pointing at the local AgentCore."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(CREDS)
        env.update(
            {"AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.local.url, "PYTHONUNBUFFERED": "1"}
        )
        env.update(extra)
        return env


@contextmanager
def deployed_runtimes(
    tmp: Path,
    *,
    files: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = ("--startup-timeout", "20"),
    lifecycle: dict[str, Any] | None = None,
) -> Iterator[Deployed]:
    with run_local_agentcore(tmp, extra_args=extra_args) as local:
        idp = local.client("cognito-idp")
        pool = idp.create_user_pool(PoolName="mcp-users")["UserPool"]["Id"]
        flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool, ClientName="mcp", ExplicitAuthFlows=flows
        )["UserPoolClient"]["ClientId"]
        other = idp.create_user_pool_client(
            UserPoolId=pool, ClientName="other", ExplicitAuthFlows=flows
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool, Username="alice", Password=PASSWORD, Permanent=True
        )
        local.client("secretsmanager").create_secret(
            Name=USER_SECRET,
            SecretString=json.dumps({"username": "alice", "password": PASSWORD}),
        )
        discovery = (
            f"https://cognito-idp.{REGION}.amazonaws.com/{pool}/.well-known/openid-configuration"
        )
        extra: dict[str, Any] = {}
        if lifecycle:
            extra["lifecycleConfiguration"] = lifecycle
        sig = local.create_runtime("sample_sigv4", files, **extra)
        oauth = local.create_runtime(
            "sample_oauth",
            files,
            authorizerConfiguration={
                "customJWTAuthorizer": {"discoveryUrl": discovery, "allowedClients": [client_id]}
            },
            **extra,
        )
        assert sig["status"] == "READY", sig
        assert oauth["status"] == "READY", oauth
        yield Deployed(
            local=local,
            sigv4_arn=sig["agentRuntimeArn"],
            oauth_arn=oauth["agentRuntimeArn"],
            pool=pool,
            client_id=client_id,
            other_client_id=other,
            secret_id=USER_SECRET,
        )
