"""The flags that name a deployed runtime, for `tools --remote`, `test-auth`, `proxy` and
`connect`: parsing only. The lookup (flags, then the state file, then SSM) and the
session to reach the runtime with are library calls: `agentcore_mcp.deploy.lookup`.
"""

from __future__ import annotations

from typing import Any

import typer

from agentcore_mcp.client.runtime import AuthMethod
from agentcore_mcp.deploy.lookup import DEFAULT_SSM_PARAMETER, RuntimeQuery

NAME = typer.Option(
    None,
    "--name",
    help="The deployment to use, by the name it was deployed with (needed when the state "
    "file holds several).",
)
ARN = typer.Option(None, "--arn", help="Runtime ARN (instead of the state file / SSM).")
RUNTIME_ID = typer.Option(None, "--runtime-id", help="Runtime id; needs --account.")
ACCOUNT = typer.Option(None, "--account", help="AWS account id, with --runtime-id.")
REGION = typer.Option(None, "--region", help="AWS region (default: the ARN's or the profile's).")
QUALIFIER = typer.Option("DEFAULT", "--qualifier", help="Runtime endpoint name.")
STATE = typer.Option(None, "--state", help="The deployer's state file.")
SSM = typer.Option(
    None,
    "--ssm-parameter",
    help="SSM parameter the deployer published (/agentcore-mcp/NAME/deployment, or one "
    "holding the ARN alone); wins over the state file "
    f"[/agentcore-mcp/NAME/deployment, {DEFAULT_SSM_PARAMETER}].",
)
OAUTH = typer.Option(False, "--oauth", help="Use a Cognito bearer token (JWT runtimes).")
SIGV4 = typer.Option(False, "--sigv4", help="Sign with SigV4 (IAM runtimes; the default).")
CLIENT_ID = typer.Option(None, "--client-id", help="Cognito app client id (OAuth).")
USER_SECRET = typer.Option(
    None,
    "--user-secret-id",
    help="Secrets Manager id of the stored Cognito user (JSON username/password).",
)
PROFILE = typer.Option(None, "--profile", help="AWS profile (default credential chain otherwise).")


def runtime_query(params: dict[str, Any]) -> RuntimeQuery:
    """The runtime a command names, from its parameters (pass `locals()`): every command
    that finds a runtime takes the same options, some (test-auth) not all of them;
    --oauth / --sigv4 become the query's auth."""
    oauth, sigv4 = bool(params.get("oauth")), bool(params.get("sigv4"))
    if oauth and sigv4:
        raise typer.BadParameter("pass --oauth or --sigv4, not both")
    auth: AuthMethod | None = "oauth" if oauth else "sigv4" if sigv4 else None
    fields = RuntimeQuery.__dataclass_fields__
    return RuntimeQuery(**{k: v for k, v in params.items() if k in fields}, auth=auth)
