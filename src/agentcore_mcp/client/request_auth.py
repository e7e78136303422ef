"""How a request to a deployed runtime is authenticated: SigV4 over the default credential
chain, or a Cognito access token kept fresh; and the runtime session header.

Kept apart from `remote` (the `mcp.Client` over these) so that the proxy, which forwards
bytes and signs them itself, starts without importing the `mcp` SDK.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2

from agentcore_mcp.auth import SigV4Httpx2Auth, SigV4Signer, SigV4SigningError
from agentcore_mcp.client.runtime import RuntimeTarget
from agentcore_mcp.client.tokens import (
    BearerAuth,
    CognitoTokenSource,
    StaticTokenSource,
    TokenSource,
)
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode

if TYPE_CHECKING:
    import boto3

RUNTIME_SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
# Request and response headers that carry a credential (--debug prints their scheme only).
SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-amz-security-token", "cookie", "set-cookie", "x-api-key"}
)


class RuntimeAuthError(AgentCoreMcpError):
    """Credentials for the chosen method cannot be had; the message says what to fix."""

    exit_code = ExitCode.AUTH_ERROR


def new_runtime_session_id() -> str:
    # 33..256 characters, as the data plane requires.
    return f"agentcore-mcp-{uuid.uuid4().hex}"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header values safe to print: credentials are replaced by their scheme only."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() in SENSITIVE_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key] = f"{scheme} <redacted>".strip()
        else:
            out[key] = value
    return out


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
