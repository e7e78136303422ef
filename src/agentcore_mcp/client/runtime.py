"""Where a deployed runtime is and how to authenticate to it: `RuntimeTarget`.

The CLI resolves a target from the deployer's state file, the SSM parameter or flags;
the library takes the resolved dataclass. Nothing here imports `deploy/` (layering:
cli -> proxy -> client -> auth).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode

if TYPE_CHECKING:
    import boto3

AuthMethod = Literal["sigv4", "oauth"]
DEFAULT_QUALIFIER = "DEFAULT"
_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:bedrock-agentcore:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"runtime/(?P<id>[A-Za-z0-9_-]+)$"
)


class RuntimeTargetError(AgentCoreMcpError):
    """The runtime cannot be located from what was given; the message says what to pass."""

    exit_code = ExitCode.CONFIG_ERROR


class RuntimeTargetUsageError(RuntimeTargetError):
    """What was given names no single runtime (a state file with several deployments and
    no --name): a usage error; the message lists the choices."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class RuntimeTarget:
    """One deployed runtime endpoint and the auth method to reach it.

    `url` is the full invocation URL (data plane, escaped ARN, qualifier). For OAuth,
    `client_id` is the Cognito app client and `user_secret_id` the Secrets Manager id of
    the stored user (JSON with `username` and `password`), read only when a token must be
    obtained again; nothing secret is held in this dataclass.
    """

    url: str
    auth: AuthMethod = "sigv4"
    arn: str | None = None
    region: str | None = None
    qualifier: str = DEFAULT_QUALIFIER
    discovery_url: str | None = None
    client_id: str | None = None
    user_secret_id: str | None = None
    ssm_parameter: str | None = None
    #: Where Cognito, Secrets Manager and SSM answer, when not boto3's default (the local
    #: AgentCore serves them on its own port).
    aws_endpoint_url: str | None = None

    def with_auth(self, auth: AuthMethod | None) -> RuntimeTarget:
        return self if auth is None or auth == self.auth else replace(self, auth=auth)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "auth": self.auth,
            "arn": self.arn,
            "region": self.region,
            "qualifier": self.qualifier,
            "discovery_url": self.discovery_url,
            "client_id": self.client_id,
            "user_secret_id": self.user_secret_id,
            "ssm_parameter": self.ssm_parameter,
            "aws_endpoint_url": self.aws_endpoint_url,
        }


def parse_arn(arn: str) -> tuple[str, str, str]:
    """(region, account, runtime id) of a runtime ARN."""
    match = _ARN_RE.match(arn)
    if not match:
        raise RuntimeTargetError(
            f"{arn!r} is not an AgentCore runtime ARN "
            "(arn:aws:bedrock-agentcore:REGION:ACCOUNT:runtime/NAME-ID)"
        )
    return match["region"], match["account"], match["id"]


def data_plane_endpoint(region: str) -> str:
    """The data plane's base URL, honouring boto3's endpoint overrides.

    `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE` then `AWS_ENDPOINT_URL`, as botocore reads them,
    so a shell set up for the local AgentCore reaches it with no extra flag.
    """
    for name in ("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", "AWS_ENDPOINT_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return value.rstrip("/")
    return f"https://bedrock-agentcore.{region}.amazonaws.com"


def invocation_url(
    arn: str,
    region: str | None = None,
    qualifier: str = DEFAULT_QUALIFIER,
    *,
    endpoint: str | None = None,
) -> str:
    """`POST {endpoint}/runtimes/{quote(arn, safe='')}/invocations?qualifier=Q`."""
    arn_region, _, _ = parse_arn(arn)
    base = (endpoint or data_plane_endpoint(region or arn_region)).rstrip("/")
    return f"{base}/runtimes/{quote(arn, safe='')}/invocations?qualifier={quote(qualifier)}"


def target_from_arn(
    arn: str,
    *,
    region: str | None = None,
    qualifier: str = DEFAULT_QUALIFIER,
    auth: AuthMethod = "sigv4",
    **extra: Any,
) -> RuntimeTarget:
    arn_region, _, _ = parse_arn(arn)
    if region and region != arn_region:
        raise RuntimeTargetError(
            f"--region {region} differs from the ARN's region {arn_region}: drop --region "
            "or pass the ARN of a runtime in that region"
        )
    return RuntimeTarget(
        url=invocation_url(arn, arn_region, qualifier),
        auth=auth,
        arn=arn,
        region=arn_region,
        qualifier=qualifier,
        **extra,
    )


def runtime_arn(runtime_id: str, account: str, region: str) -> str:
    return f"arn:aws:bedrock-agentcore:{region}:{account}:runtime/{runtime_id}"


def target_from_url(
    url: str, *, auth: AuthMethod = "sigv4", region: str | None = None
) -> RuntimeTarget:
    """A target from a full invocation URL; the region comes from the escaped ARN in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RuntimeTargetError(f"{url!r} is not an http(s) URL")
    arn: str | None = None
    match = re.search(r"/runtimes/([^/]+)/invocations", parts.path)
    if match:
        from urllib.parse import unquote

        candidate = unquote(match[1])
        if _ARN_RE.match(candidate):
            arn = candidate
    if arn is not None:
        region = region or parse_arn(arn)[0]
    if not region:
        raise RuntimeTargetError(
            f"cannot tell the region from {url!r}: pass --region (SigV4 signs for one region)"
        )
    return RuntimeTarget(url=url, auth=auth, arn=arn, region=region)


def deployment_parameter(name: str) -> str:
    """The SSM parameter where the deployer publishes a deployment (JSON document)."""
    return f"/agentcore-mcp/{name}/deployment"


def target_from_ssm(
    parameter: str, session: boto3.Session, *, auth: AuthMethod | None = None, **extra: Any
) -> RuntimeTarget:
    """The runtime the deployer published in an SSM parameter: its deployment document
    (`/agentcore-mcp/NAME/deployment`: ARN, auth, Cognito client and user secret), or a
    parameter that holds the ARN alone (`/agentcore-mcp/NAME/agent_arn`, as deploy.py wrote it)."""
    import json

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        got = session.client("ssm").get_parameter(Name=parameter)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise RuntimeTargetError(
                f"no SSM parameter {parameter!r} in {session.region_name}: deploy first "
                "(`agentcore-mcp deploy`), or pass --arn / --url"
            ) from exc
        raise RuntimeTargetError(f"cannot read SSM parameter {parameter!r}: {exc}") from exc
    except BotoCoreError as exc:
        raise RuntimeTargetError(f"cannot read SSM parameter {parameter!r}: {exc}") from exc
    value = str(got["Parameter"].get("Value", "")).strip()
    if value.startswith("{"):
        try:
            doc = json.loads(value)
            arn = str(doc["runtime_arn"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeTargetError(
                f"SSM parameter {parameter!r} is not a deployment document: redeploy"
            ) from exc
        published: dict[str, Any] = {
            k: doc[k]
            for k in ("client_id", "user_secret_id", "discovery_url")
            if isinstance(doc.get(k), str) and doc[k]
        }
        method: AuthMethod = auth or ("oauth" if doc.get("auth") == "oauth" else "sigv4")
        target = target_from_arn(arn, auth=method, **{**published, **extra})
    else:
        target = target_from_arn(value, auth=auth or "sigv4", **extra)
    return replace(target, ssm_parameter=parameter)
