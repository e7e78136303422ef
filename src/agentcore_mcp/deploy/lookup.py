"""Find a deployed runtime, and the AWS session to reach it with: what `tools --remote`,
`test-auth`, `proxy` and `connect` run before they talk to the runtime.

```python
from agentcore_mcp.deploy.lookup import RuntimeQuery, find_runtime, runtime_session
from agentcore_mcp.client import open_runtime

target = find_runtime(RuntimeQuery(name="my_server"))
async with open_runtime(target, session=runtime_session(target)) as client: ...
```

Order: explicit locations (`url`, `arn`, `runtime_id` + `account`, `ssm_parameter`)
always win -> the deployment `name` picks in the deployer's state file (`state`, default
./deployment_config.json; several deployments and no `name` is a usage error that lists
them) -> the SSM parameter the deployer published for `name`. The auth method comes from
the picked deployment (an OAuth deployment is reached with OAuth); `auth` overrides it.

It lives with the deployer because it reads the deployer's state file; the lookup by
URL, ARN or SSM parameter alone is `agentcore_mcp.client.runtime`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agentcore_mcp.asgi import is_loopback_host
from agentcore_mcp.client.runtime import (
    AuthMethod,
    RuntimeTarget,
    RuntimeTargetError,
    RuntimeTargetUsageError,
    deployment_parameter,
    runtime_arn,
    target_from_arn,
    target_from_ssm,
    target_from_url,
)

if TYPE_CHECKING:
    import boto3

__all__ = [
    "BEARER_ENV",
    "DEFAULT_SSM_PARAMETER",
    "RuntimeQuery",
    "bearer_from_env",
    "find_runtime",
    "runtime_session",
    "with_local_endpoint",
]

# Where `agentcore-mcp deploy` publishes a deployment of the default name.
DEFAULT_SSM_PARAMETER = deployment_parameter("agentcore_mcp_server")
BEARER_ENV = "AGENTCORE_BEARER_TOKEN"


@dataclass(frozen=True, slots=True)
class RuntimeQuery:
    """What names the runtime (the CLI's --name, --url, --arn, ... flags)."""

    name: str | None = None
    url: str | None = None
    arn: str | None = None
    runtime_id: str | None = None
    account: str | None = None
    region: str | None = None
    qualifier: str = "DEFAULT"
    state: Path | None = None
    ssm_parameter: str | None = None
    #: None: the picked deployment's method (SigV4 when nothing says).
    auth: AuthMethod | None = None
    client_id: str | None = None
    user_secret_id: str | None = None
    profile: str | None = None


def find_runtime(query: RuntimeQuery) -> RuntimeTarget:
    """The runtime `query` names, or RuntimeTargetError saying what to pass
    (RuntimeTargetUsageError when the state file holds several and none was named)."""
    extra: dict[str, Any] = {}
    if query.client_id:
        extra["client_id"] = query.client_id
    if query.user_secret_id:
        extra["user_secret_id"] = query.user_secret_id
    target: RuntimeTarget | None = None
    if query.url:
        target = replace(target_from_url(query.url, region=query.region), **extra)
    elif query.arn:
        target = target_from_arn(query.arn, region=query.region, qualifier=query.qualifier, **extra)
    elif query.runtime_id:
        if not query.account:
            raise RuntimeTargetError("--runtime-id needs --account (or pass --arn)")
        region = query.region or _default_region(query.profile)
        target = target_from_arn(
            runtime_arn(query.runtime_id, query.account, region),
            qualifier=query.qualifier,
            **extra,
        )
    elif query.ssm_parameter:
        target = _ssm_target(query, query.ssm_parameter, extra)
    else:
        target = _state_target(query.state, query.name)
        if target is not None and extra:
            target = replace(target, **extra)
        if target is None:
            parameter = deployment_parameter(query.name) if query.name else DEFAULT_SSM_PARAMETER
            target = _ssm_target(query, parameter, extra)
    return with_local_endpoint(target.with_auth(query.auth))


def _state_target(path: Path | None, name: str | None) -> RuntimeTarget | None:
    """The deployment `name` picks in the deployer's state; None when there is no state
    file."""
    from agentcore_mcp.deploy.state import AmbiguousDeploymentError, StateError, runtime_target

    try:
        found = runtime_target(path, name=name)
    except AmbiguousDeploymentError as exc:
        raise RuntimeTargetUsageError(str(exc)) from None
    except StateError as exc:
        raise RuntimeTargetError(str(exc)) from None
    if found is None and path is not None:
        raise RuntimeTargetError(
            f"{path} does not exist: deploy first (`agentcore-mcp deploy`), pass the "
            "--state the deployer wrote, or pass --arn / --url"
        )
    return found


def _ssm_target(query: RuntimeQuery, parameter: str, extra: dict[str, Any]) -> RuntimeTarget:
    from agentcore_mcp.client.request_auth import boto_session

    session = boto_session(query.region, query.profile)
    if not session.region_name:
        raise RuntimeTargetError(
            "no deployment found (no state file here) and no region for the SSM lookup: "
            "pass --region, --state, or --arn"
        )
    return target_from_ssm(parameter, session, **extra)


def _default_region(profile: str | None) -> str:
    from agentcore_mcp.client.request_auth import boto_session

    region = boto_session(None, profile).region_name or os.environ.get("AWS_REGION")
    if not region:
        raise RuntimeTargetError("no region: pass --region")
    return region


def runtime_session(
    target: RuntimeTarget, profile: str | None = None, *, local_home: Path | None = None
) -> boto3.Session:
    """The boto3 session for a target. A runtime on a local AgentCore started in
    `local_home` (default: the default home) is reached with that AgentCore's own
    per-start credentials: the user's AWS keys are unknown to it, and must not be sent
    there."""
    import boto3

    from agentcore_mcp.client.request_auth import boto_session

    parts = urlsplit(target.url)
    if is_loopback_host(parts.hostname or ""):
        from agentcore_mcp.local.credentials import read_local_credentials
        from agentcore_mcp.local.home import default_home

        creds = read_local_credentials(local_home or default_home())
        if creds is not None and creds.url.rstrip("/") == f"{parts.scheme}://{parts.netloc}":
            return boto3.Session(
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                region_name=target.region or creds.region,
            )
    return boto_session(target.region, profile)


def with_local_endpoint(target: RuntimeTarget) -> RuntimeTarget:
    """A loopback runtime URL means a local AgentCore: its Cognito and Secrets Manager are
    on the same port."""
    parts = urlsplit(target.url)
    if target.aws_endpoint_url or not is_loopback_host(parts.hostname or ""):
        return target
    return replace(target, aws_endpoint_url=f"{parts.scheme}://{parts.netloc}")


def bearer_from_env() -> str | None:
    """A bearer token from AGENTCORE_BEARER_TOKEN (never from argv, which others can read)."""
    value = os.environ.get(BEARER_ENV, "").strip()
    return value or None
