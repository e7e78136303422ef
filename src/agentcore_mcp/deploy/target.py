"""Where a deployment goes: the local AgentCore or AWS. Only endpoints and credentials differ.

`--target local` uses only the local AgentCore's own per-start credentials (read from
its home), never the user's AWS credentials or profile, so a local deploy cannot touch
an account; it starts the local AgentCore in the background when none answers.
`--target aws` uses boto3's defaults (credential chain, --profile, --region,
AWS_ENDPOINT_URL). Both get clients from one session factory with botocore's retry
modes, which back off on throttling; nothing here retries by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.errors import (
    TargetError,
    UnreachableError,
    explain_botocore_error,
    explain_client_error,
)
from agentcore_mcp.extras import missing_modules

# Parameters whose values are secret, redacted from --debug output.
_SECRET_PARAMS = {
    "SecretString",
    "SecretBinary",
    "Password",
    "TemporaryPassword",
    "ProposedPassword",
    "AuthParameters",
    "ClientSecret",
    "Body",
}
# Operation prefixes that only read: anything else counts as a write (the bench checks that
# a no-change rerun makes none).
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Check", "Filter", "Lookup")


class _TargetSession(boto3.Session):
    """A boto3 Session whose clients all go to one endpoint with one retry config."""

    def __init__(self, *, endpoint_url: str | None, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._endpoint_url = endpoint_url
        self._config = config

    def client(self, *args: Any, **kwargs: Any) -> Any:
        if self._endpoint_url:
            kwargs.setdefault("endpoint_url", self._endpoint_url)
        kwargs.setdefault("config", self._config)
        return super().client(*args, **kwargs)


def is_write(operation: str) -> bool:
    """Whether an operation can change a resource (AdminGetUser reads; InitiateAuth signs in)."""
    name = operation.removeprefix("Admin")
    return not (name.startswith(_READ_PREFIXES) or name == "InitiateAuth")


@dataclass(slots=True)
class CallLog:
    """Every AWS call the deployer makes, as (operation, is_write); --debug prints them."""

    calls: list[tuple[str, bool]] = field(default_factory=list)
    sink: Callable[[str], None] | None = None

    @property
    def writes(self) -> list[str]:
        return [op for op, write in self.calls if write]

    def hook(self, model: Any, params: Any, **_: Any) -> None:
        op = f"{model.service_model.service_name}.{model.name}"
        self.calls.append((op, is_write(model.name)))
        if self.sink is not None:
            self.sink(f"aws {op} {redact(params)}")


def redact(value: Any, key: str = "") -> Any:
    if key in _SECRET_PARAMS:
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        return "<redacted>" if value else value
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if hasattr(value, "read"):
        return "<stream>"
    return value


@dataclass(slots=True)
class Target:
    kind: Literal["local", "aws"]
    region: str
    account: str
    session: boto3.Session
    endpoint_url: str | None  # None on AWS unless AWS_ENDPOINT_URL is set
    calls: CallLog
    local_home: Path | None = None
    started_local: bool = False  # this run started the local AgentCore
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session: Any = self.session  # boto3-stubs' overloads want a literal service name
            self._clients[service] = session.client(service, region_name=self.region)
        return self._clients[service]


def _retry_config(kind: str) -> Config:
    # adaptive adds client-side rate limiting on top of standard's backoff: worth it against
    # AWS's control planes (CreateAgentRuntime throttles at low rates), not against loopback.
    return Config(
        retries={"mode": "adaptive" if kind == "aws" else "standard", "max_attempts": 8},
        connect_timeout=10,
        read_timeout=120,
        user_agent_extra="agentcore-mcp-deployer",
    )


def _attach(session: boto3.Session, calls: CallLog) -> None:
    session.events.register("before-call.*.*", calls.hook)


def open_target(
    config: DeployConfig,
    *,
    debug: Callable[[str], None] | None = None,
    on_event: Callable[[str], None] | None = None,
    start_local: bool = True,
) -> Target:
    """A Target for `config`; may start the local AgentCore (and says so via on_event)."""
    calls = CallLog(sink=debug)
    if config.target == "local":
        return _open_local(config, calls, on_event, start_local)
    return _open_aws(config, calls)


_USER_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def local_home(config: DeployConfig) -> Path:
    # local.home, not local.service: every deploy asks, and only a deploy that starts a
    # local AgentCore needs to import it (0.2 s).
    from agentcore_mcp.local.home import default_home

    return config.local_home or default_home()


def _answers(url: str) -> bool:
    """Whether something listens at the local AgentCore's URL (a TCP connect, no request)."""
    from agentcore_mcp.local.identity import answers_connections

    return answers_connections(url, timeout=1.0)


def _open_local(
    config: DeployConfig,
    calls: CallLog,
    on_event: Callable[[str], None] | None,
    start_local: bool,
) -> Target:
    from agentcore_mcp.local.credentials import read_local_credentials
    from agentcore_mcp.local.identity import identity_problem

    home = local_home(config)
    creds = read_local_credentials(home)
    started = False
    if creds is not None and _answers(creds.url):
        problem = identity_problem(creds)
        if problem is not None and _port(config.local_port) not in (None, _port(creds.url)):
            # Stale credentials and --local-port elsewhere: start a fresh one there.
            creds = None
        elif problem is not None:
            raise _not_our_local(creds.url, home, problem)
    if creds is None or not _answers(creds.url):
        if start_local and missing_modules("moto"):
            raise TargetError(_NO_LOCAL_EXTRA)
        from agentcore_mcp.local.process import (
            LocalProcessError,
            background_argv,
            start_background,
        )
        from agentcore_mcp.local.service import LocalSettings

        if not start_local:
            raise TargetError(
                f"no local AgentCore is running (home {home}); start one with "
                "`agentcore-mcp local start -d` or run `agentcore-mcp deploy`"
            )
        # The deployer uses its per-start key, never test/test: --strict-credentials.
        settings = LocalSettings(
            home=home, persist=True, strict_credentials=True, **_region_kw(config)
        )
        if config.local_port:
            settings = replace(settings, port=config.local_port)
        if on_event:
            on_event(f"starting the local AgentCore in the background on {settings.url}")
        # Started without the user's AWS settings: the local AgentCore needs none, and a
        # profile named in AWS_PROFILE that does not exist would stop its embedded moto.
        scrub = [a for var in _USER_AWS_VARS if var in os.environ for a in ("-u", var)]
        argv = (["env", *scrub] if scrub else []) + background_argv(settings)
        try:
            start_background(settings, argv, port_flag="--local-port")
        except LocalProcessError as exc:
            raise TargetError(f"{exc} (or `agentcore-mcp local start -d` yourself)") from None
        started = True
        creds = read_local_credentials(home)
        if creds is None:
            raise TargetError(f"the local AgentCore started but wrote no credentials in {home}")
        problem = identity_problem(creds)
        if problem is not None:
            raise _not_our_local(creds.url, home, problem)
    if config.region and config.region != creds.region:
        raise TargetError(
            f"the local AgentCore serves {creds.region}, not {config.region}: drop --region, "
            f"or restart it with `agentcore-mcp local start -d --region {config.region}`"
        )
    # Explicit keys and no profile: AWS_PROFILE or a broken ~/.aws/config must not matter.
    session = _TargetSession(
        endpoint_url=creds.url,
        config=_retry_config("local"),
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=creds.region,
        botocore_session=_isolated_botocore_session(),
    )
    _attach(session, calls)
    return Target(
        kind="local",
        region=creds.region,
        account=creds.account_id,
        session=session,
        endpoint_url=creds.url,
        calls=calls,
        local_home=home,
        started_local=started,
    )


def _port(value: str | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return urlsplit(value).port


def _not_our_local(url: str, home: Path, problem: str) -> UnreachableError:
    """Something listens on the recorded port but is not the local AgentCore this user
    started with `home` (it died and another process took the port): nothing is sent."""
    from agentcore_mcp.local.identity import listener_owner

    owner = listener_owner(url)
    who = f"a process of {owner}" if owner else "another process"
    return UnreachableError(
        f"{who} listens on {url}, not the local AgentCore started with --home {home} "
        f"({problem}); nothing was sent to it. If yours died: stop that process, then "
        "`agentcore-mcp local stop` and `agentcore-mcp local start -d`; or deploy with "
        "--local-port N to start a new one on a free port"
    )


# With the CLI installed apart from the project (`uv tool install`, docs/packaging.md),
# `uv add` is the wrong advice: it would pull the CLI into the project's resolution.
_NO_LOCAL_EXTRA = (
    "a local deploy starts the local AgentCore, which needs agentcore-mcp[local] (moto), "
    "not installed with this agentcore-mcp: `uv tool install 'agentcore-mcp[deploy,local]'` "
    "if the CLI is a uv tool, else pip install 'agentcore-mcp[local]'; or deploy with "
    "--target aws"
)


def _region_kw(config: DeployConfig) -> dict[str, Any]:
    return {"region": config.region} if config.region else {}


def _isolated_botocore_session() -> Any:
    import botocore.session
    from botocore.configprovider import ConstantProvider

    session = botocore.session.Session()
    # No profile from AWS_PROFILE, no ~/.aws files: nothing of the user's AWS setup applies.
    session.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
    for var in ("config_file", "credentials_file"):
        session.set_config_variable(var, os.devnull)
    return session


def _open_aws(config: DeployConfig, calls: CallLog) -> Target:
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip() or None
    try:
        session = _TargetSession(
            endpoint_url=None,  # boto3 reads AWS_ENDPOINT_URL(_SERVICE) itself
            config=_retry_config("aws"),
            profile_name=config.profile,
            # AWS_REGION as the AWS CLI v2 and the other SDKs read it (boto3 alone does not)
            region_name=config.region or os.environ.get("AWS_REGION") or None,
        )
    except ProfileNotFound as exc:
        raise TargetError(f"{exc}: check --profile / AWS_PROFILE (`aws configure list`)") from None
    if not session.region_name:
        raise TargetError(
            "no region: pass --region, or set AWS_REGION, or give your profile a region"
        )
    if session.get_credentials() is None:
        raise TargetError(
            "no AWS credentials found: run `aws configure` or `aws sso login`, or pass --profile"
        )
    _attach(session, calls)
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except ClientError as exc:
        raise explain_client_error(exc, "checking your AWS identity") from None
    except BotoCoreError as exc:
        raise explain_botocore_error(exc, "checking your AWS identity") from None
    return Target(
        kind="aws",
        region=str(session.region_name),
        account=str(account),
        session=session,
        endpoint_url=endpoint,
        calls=calls,
    )
