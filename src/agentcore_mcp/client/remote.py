"""One call to an `mcp.Client` connected to a deployed runtime, with SigV4 or OAuth.

    async with open_runtime(target_from_arn(arn)) as client:
        print(await client.list_tools())

Session affinity: one `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` per connection, so
every request of the connection reaches the same microVM (both protocol eras; the
2026-07-28 era has no `Mcp-Session-Id`). Timeouts allow AgentCore's 15-minute
synchronous and 60-minute streamed calls.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2
from mcp import Client

from agentcore_mcp.auth import SigV4Httpx2Auth, SigV4Signer, SigV4SigningError
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.session import ConnectOptions, DebugSink, ProtocolChoice, open_client
from agentcore_mcp.client.tokens import (
    BearerAuth,
    CognitoTokenSource,
    StaticTokenSource,
    TokenSource,
    TokenSourceError,
)
from agentcore_mcp.client.transport import RetryPolicy, RuntimeTransport

if TYPE_CHECKING:
    import boto3

RUNTIME_SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


class RuntimeAuthError(Exception):
    """Credentials for the chosen method cannot be had; the message says what to fix."""


def new_runtime_session_id() -> str:
    # 33..256 characters, as the data plane requires.
    return f"agentcore-mcp-{uuid.uuid4().hex}"


def boto_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    import os

    import boto3

    # botocore reads AWS_DEFAULT_REGION and the profile; AWS_REGION is what the AWS SDKs
    # for other languages (and AgentCore's own docs) use, so honour it too.
    region = region or os.environ.get("AWS_REGION") or None
    return boto3.Session(region_name=region, profile_name=profile)


@dataclass(slots=True)
class RuntimeAuth:
    """The `httpx2.Auth` for a target plus what it was built from (for test-auth, and for
    the proxy, which signs or attaches the token itself without httpx2)."""

    method: str
    auth: httpx2.Auth
    tokens: TokenSource | None = None
    signer: SigV4Signer | None = None


def runtime_auth(
    target: RuntimeTarget,
    session: boto3.Session | None = None,
    *,
    bearer_token: str | None = None,
) -> RuntimeAuth:
    """SigV4 over the default credential chain, or a Cognito access token kept fresh."""
    session = session or boto_session(target.region)
    if target.auth == "sigv4":
        try:
            signer = SigV4Signer.from_session(session, region=target.region)
        except SigV4SigningError as exc:
            raise RuntimeAuthError(str(exc)) from exc
        return RuntimeAuth("sigv4", SigV4Httpx2Auth(signer), signer=signer)
    source: TokenSource
    if bearer_token:
        source = StaticTokenSource(bearer_token)
    else:
        if not target.user_secret_id and not target.client_id:
            raise RuntimeAuthError(
                "OAuth needs the stored Cognito user: deploy with --oauth, or pass "
                "--client-id and --user-secret-id (a Secrets Manager id), or set "
                "AGENTCORE_BEARER_TOKEN"
            )
        where: dict[str, str] = {}
        if target.aws_endpoint_url:
            where["endpoint_url"] = target.aws_endpoint_url
        source = CognitoTokenSource(
            session.client("cognito-idp", region_name=target.region, **where),  # type: ignore[call-overload]
            session.client("secretsmanager", region_name=target.region, **where),  # type: ignore[call-overload]
            client_id=target.client_id,
            user_secret_id=target.user_secret_id,
        )
    return RuntimeAuth("oauth", BearerAuth(source), source)


def runtime_options(
    target: RuntimeTarget,
    *,
    auth: RuntimeAuth | None = None,
    session: boto3.Session | None = None,
    protocol: ProtocolChoice = "auto",
    debug: DebugSink | None = None,
    runtime_session_id: str | None = None,
    retry: RetryPolicy | None = None,
) -> ConnectOptions:
    chosen = auth or runtime_auth(target, session)
    return ConnectOptions(
        url=target.url,
        headers={RUNTIME_SESSION_HEADER: runtime_session_id or new_runtime_session_id()},
        auth=chosen.auth,
        protocol=protocol,
        debug=debug,
        transport=RuntimeTransport(auth_method=chosen.method, policy=retry),
    )


@contextlib.asynccontextmanager
async def open_runtime(
    target: RuntimeTarget,
    *,
    session: boto3.Session | None = None,
    protocol: ProtocolChoice = "auto",
    debug: DebugSink | None = None,
    bearer_token: str | None = None,
) -> AsyncIterator[Client]:
    """An entered `mcp.Client` connected to the runtime (the seed's `client.py --remote`)."""
    try:
        auth = runtime_auth(target, session, bearer_token=bearer_token)
    except TokenSourceError as exc:
        raise RuntimeAuthError(str(exc)) from exc
    options = runtime_options(target, auth=auth, protocol=protocol, debug=debug)
    async with open_client(options) as client:
        yield client
