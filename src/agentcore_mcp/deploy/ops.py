"""The deployer's companion commands as library calls: status, update-token, role, logs."""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from agentcore_mcp.deploy import ownership
from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.context import Event, Names, StepContext
from agentcore_mcp.deploy.errors import DeployError, error_code, explain_client_error
from agentcore_mcp.deploy.state import (
    DeploymentRecord,
    DeploymentState,
    find_record,
    load_state,
    record_key,
    validate_record,
)
from agentcore_mcp.deploy.target import Target, open_target

DEPLOYER_POLICY_NAME = "AgentCoreMcpDeployer"


def recorded(config: DeployConfig, state_path: Path | None) -> DeploymentRecord:
    """The state's record for (target, region, name), without calling AWS."""
    state = load_state(state_path)
    record = find_record(state, target=config.target, region=config.region, name=config.name)
    if record is None:
        raise DeployError(
            f"no {config.target} deployment named {config.name} in {state.path}: run "
            "`agentcore-mcp deploy` first, or pass --state / --name / --target"
        )
    return validate_record(record, state.path)


def _target_and_record(
    config: DeployConfig, state_path: Path | None
) -> tuple[Target, DeploymentRecord]:
    target = open_target(config, start_local=False)
    state = load_state(state_path)
    record = state.get(record_key(config.target, target.region, config.name, target.account))
    if record is None:
        raise DeployError(
            f"no {config.target} deployment named {config.name} in {state.path}: run "
            "`agentcore-mcp deploy` first"
        )
    local_url = target.endpoint_url if target.kind == "local" else None
    return target, validate_record(record, state.path, local_url=local_url)


def _present(call: Callable[[], Any], missing: tuple[str, ...]) -> bool:
    try:
        call()
        return True
    except ClientError as exc:
        if error_code(exc) in missing:
            return False
        raise


def live_status(config: DeployConfig, state_path: Path | None = None) -> dict[str, Any]:
    """The runtime's live status and version, and whether each recorded resource exists."""
    target, record = _target_and_record(config, state_path)
    names = Names(config.name, target.region, target.account)
    c = target.client
    out: dict[str, Any] = {"key": record.key, "runtime": None, "resources": {}}
    res: dict[str, bool] = out["resources"]
    try:
        if record.runtime is not None:
            try:
                got = c("bedrock-agentcore-control").get_agent_runtime(
                    agentRuntimeId=record.runtime.id
                )
                out["runtime"] = {
                    "id": got["agentRuntimeId"],
                    "status": got.get("status"),
                    "version": got.get("agentRuntimeVersion"),
                    "failure_reason": got.get("failureReason"),
                }
                res["runtime"] = True
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                res["runtime"] = False
        if record.role is not None:
            role_name = record.role.name
            res["role"] = _present(lambda: c("iam").get_role(RoleName=role_name), ("NoSuchEntity",))
        if record.artifact is not None and record.artifact.kind == "zip":
            art = record.artifact
            res["artifact"] = _present(
                lambda: c("s3").head_object(Bucket=art.bucket, Key=art.key),
                ("404", "NoSuchKey", "NoSuchBucket"),
            )
        if record.cognito is not None:
            pool = record.cognito.pool_id
            res["user_pool"] = _present(
                lambda: c("cognito-idp").describe_user_pool(UserPoolId=pool),
                ("ResourceNotFoundException",),
            )
        for var, arn in sorted(record.secrets.items()):
            res[f"secret:{var}"] = _present(
                functools.partial(c("secretsmanager").describe_secret, SecretId=arn),
                ("ResourceNotFoundException",),
            )
        if record.publish is not None:
            res["ssm_parameter"] = _present(
                lambda: c("ssm").get_parameter(Name=names.parameter), ("ParameterNotFound",)
            )
    except ClientError as exc:
        raise explain_client_error(exc, "checking the deployment") from None
    return out


def update_token(config: DeployConfig, state_path: Path | None = None) -> tuple[str, int]:
    """(access token, expires_in seconds) for the stored Cognito user; never written to disk."""
    from agentcore_mcp.auth.cognito import CognitoAuthError, get_user_token

    target, record = _target_and_record(config, state_path)
    if record.cognito is None or not record.cognito.user_secret_id:
        raise DeployError(
            f"{config.name} has no Cognito user: deploy with --oauth (or --step cognito) first"
        )
    try:
        user = json.loads(
            target.client("secretsmanager").get_secret_value(
                SecretId=record.cognito.user_secret_id
            )["SecretString"]
        )
        tokens = get_user_token(
            target.client("cognito-idp"),
            record.cognito.client_id,
            str(user["username"]),
            str(user["password"]),
        )
    except ClientError as exc:
        raise explain_client_error(exc, "reading the stored Cognito user") from None
    except CognitoAuthError as exc:
        raise DeployError(
            f"cannot sign in as the stored user: {exc}; `agentcore-mcp deploy --oauth` repairs it"
        ) from None
    return tokens.access_token, tokens.expires_in


# --- role commands (the seed's --show-current-role, --get/--put-role-policy) -------------


def deployer_policy(region: str, account: str) -> dict[str, Any]:
    """What the identity running `agentcore-mcp deploy` needs (the seed's --put-role-policy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AgentCore",
                "Effect": "Allow",
                "Action": ["bedrock-agentcore:*"],
                "Resource": "*",
            },
            {
                "Sid": "ExecutionRole",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateRole",
                    "iam:GetRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:DeleteRole",
                    "iam:ListRoleTags",
                    "iam:ListRolePolicies",
                    "iam:ListAttachedRolePolicies",
                    "iam:TagRole",
                    "iam:PassRole",
                ],
                "Resource": f"arn:aws:iam::{account}:role/AgentCoreMcp-*",
            },
            {
                "Sid": "Artifacts",
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": [
                    f"arn:aws:s3:::agentcore-mcp-{account}-{region}",
                    f"arn:aws:s3:::agentcore-mcp-{account}-{region}/*",
                ],
            },
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:*"],
                "Resource": f"arn:aws:secretsmanager:{region}:{account}:secret:agentcore-mcp/*",
            },
            {
                "Sid": "SecretsList",
                "Effect": "Allow",
                "Action": ["secretsmanager:ListSecrets"],
                "Resource": "*",
            },
            {
                "Sid": "Parameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
                "Resource": f"arn:aws:ssm:{region}:{account}:parameter/agentcore-mcp/*",
            },
            {"Sid": "Cognito", "Effect": "Allow", "Action": ["cognito-idp:*"], "Resource": "*"},
            {"Sid": "Ecr", "Effect": "Allow", "Action": ["ecr:*"], "Resource": "*"},
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:FilterLogEvents", "logs:DescribeLogGroups"],
                "Resource": "*",
            },
            {
                "Sid": "Identity",
                "Effect": "Allow",
                "Action": ["sts:GetCallerIdentity"],
                "Resource": "*",
            },
        ],
    }


def _caller_role(target: Target) -> str | None:
    arn = str(target.client("sts").get_caller_identity()["Arn"])
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/")[1].split("/")[0]
    if ":role/" in arn:
        return arn.split(":role/")[1].split("/")[-1]
    return None


def _role_name(target: Target, given: str | None) -> str:
    name = given or _caller_role(target)
    if not name:
        raise DeployError(
            "your identity is not a role (an IAM user?): pass --role-name to choose the role"
        )
    return name


def role_show(config: DeployConfig) -> dict[str, Any]:
    target = open_target(config, start_local=False)
    try:
        who = target.client("sts").get_caller_identity()
        out: dict[str, Any] = {
            "account": who["Account"],
            "arn": who["Arn"],
            "user_id": who["UserId"],
            "role": None,
        }
        name = _caller_role(target)
        if name:
            role = target.client("iam").get_role(RoleName=name)["Role"]
            policies = target.client("iam").list_role_policies(RoleName=name)["PolicyNames"]
            out["role"] = {"name": name, "arn": role["Arn"], "inline_policies": policies}
        return out
    except ClientError as exc:
        raise explain_client_error(exc, "reading your identity") from None


def role_get_policy(
    config: DeployConfig, role_name: str | None, policy_name: str | None
) -> dict[str, Any]:
    target = open_target(config, start_local=False)
    try:
        name = _role_name(target, role_name)
        got = target.client("iam").get_role_policy(
            RoleName=name, PolicyName=policy_name or DEPLOYER_POLICY_NAME
        )
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            raise DeployError(
                f"role {role_name or '(yours)'} has no inline policy "
                f"{policy_name or DEPLOYER_POLICY_NAME}: `agentcore-mcp role put-policy` adds it"
            ) from None
        raise explain_client_error(exc, "reading the role policy") from None
    doc = got["PolicyDocument"]
    return {
        "role": name,
        "policy_name": got["PolicyName"],
        "document": json.loads(unquote(doc)) if isinstance(doc, str) else doc,
    }


def role_put_policy(
    config: DeployConfig, role_name: str | None, policy_name: str | None
) -> dict[str, Any]:
    target = open_target(config, start_local=False)
    doc = deployer_policy(target.region, target.account)
    try:
        name = _role_name(target, role_name)
        target.client("iam").put_role_policy(
            RoleName=name,
            PolicyName=policy_name or DEPLOYER_POLICY_NAME,
            PolicyDocument=json.dumps(doc),
        )
    except ClientError as exc:
        raise explain_client_error(exc, "putting the role policy") from None
    return {"role": name, "policy_name": policy_name or DEPLOYER_POLICY_NAME, "document": doc}


# --- logs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: float  # epoch seconds; 0 when the source has none
    message: str


def parse_since(value: str | None) -> float | None:
    """`10m`, `2h`, `30s`, `1d` -> seconds."""
    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(value[:-1]) * units[value[-1]] if value[-1] in units else float(value)
    except (ValueError, IndexError):
        raise DeployError(f"--since {value!r}: use a number and s/m/h/d, e.g. 10m") from None


def log_lines(
    config: DeployConfig,
    state_path: Path | None = None,
    *,
    since: float | None = None,
    follow: bool = False,
    poll: float = 1.0,
    max_polls: int | None = None,
) -> Iterator[LogLine]:
    """The runtime's log: CloudWatch Logs on AWS, the instance log on the local target.
    One loop for both: fetch what is new since the last fetch, then (with follow) wait."""
    target, record = _target_and_record(config, state_path)
    if record.runtime is None:
        raise DeployError("no runtime recorded: run `agentcore-mcp deploy` first")
    start = time.time() - since if since else 0.0
    fetch = (
        _local_fetcher(target, record.runtime.id)
        if target.kind == "local"
        else _cloudwatch_fetcher(target, record.runtime.id)
    )
    polls = 0
    while True:
        for line in fetch():
            if not line.timestamp or line.timestamp >= start:
                yield line
        polls += 1
        if not follow or (max_polls is not None and polls >= max_polls):
            return
        time.sleep(poll)


def local_log_path(home: Path, runtime_id: str) -> Path:
    """The local AgentCore's log of a runtime; refused unless it stays inside `home`/logs
    (the id comes from a state file: validate_record checked its shape, this its place)."""
    logs = (home / "logs").resolve()
    path = (logs / f"{runtime_id}.log").resolve()
    if path.parent != logs:
        raise DeployError(
            f"runtime id {runtime_id!r} would read {path}, outside {logs}; the state file "
            "was edited: restore it"
        )
    return path


def _local_fetcher(target: Target, runtime_id: str) -> Callable[[], list[LogLine]]:
    assert target.local_home is not None
    path = local_log_path(target.local_home, runtime_id)
    offset = 0

    def fetch() -> list[LogLine]:
        nonlocal offset
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        # Only whole lines; a partial last line waits for the next fetch.
        end = data.rfind(b"\n") + 1
        offset += end
        mtime = path.stat().st_mtime
        return [LogLine(mtime, ln) for ln in data[:end].decode(errors="replace").splitlines()]

    return fetch


def _cloudwatch_fetcher(target: Target, runtime_id: str) -> Callable[[], list[LogLine]]:
    logs = target.client("logs")
    group = f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    last = 0
    seen: set[str] = set()

    def fetch() -> list[LogLine]:
        nonlocal last
        out: list[LogLine] = []
        # botocore's paginator, read while the pages come (at most 50 per poll).
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=last)
        try:
            for page in itertools.islice(pages, 50):
                for event in page.get("events", []):
                    if event["eventId"] in seen:
                        continue
                    seen.add(event["eventId"])
                    last = max(last, int(event["timestamp"]))
                    out.append(LogLine(event["timestamp"] / 1000, event["message"].rstrip("\n")))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # no log group until the first session writes
            raise explain_client_error(exc, f"reading {group}") from None
        return out

    return fetch


# --- destroy: only what carries this deployment's tags -------------------------------------


@dataclass(slots=True)
class DestroyResult:
    key: str
    removed: dict[str, bool] = field(default_factory=dict)
    dry_run: bool = False
    found_by: str = "state"  # "state", "name" (tags found by --name), or "nothing"
    message: str = ""
    scheduled_deletions: list[dict[str, str]] = field(default_factory=list)  # secrets

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "removed": self.removed,
            "dry_run": self.dry_run,
            "found_by": self.found_by,
            "message": self.message,
            "scheduled_deletions": self.scheduled_deletions,
        }


@dataclass(slots=True)
class DestroyTarget:
    """What `destroy` would act on: a recorded deployment, one found by --name whose
    resources carry its tags, or nothing (then `message` says why)."""

    key: str
    found_by: str  # "state", "name", "nothing"
    arns: list[str] = field(default_factory=list)  # resources carrying its tags (by name)
    message: str = ""
    deployment_id: str = ""
    config: DeployConfig | None = None


def _no_record(config: DeployConfig, path: Path) -> str:
    return (
        f"no recorded {config.target} deployment named {config.name} in {path}; nothing "
        "destroyed. Run destroy where you deployed (or pass --state FILE, the state file "
        "that deployed it), or pass --name NAME to destroy a deployment whose resources "
        "carry agentcore-mcp's tags (you confirm the ARNs first)"
    )


def find_destroy_target(
    config: DeployConfig,
    state_path: Path | None = None,
    *,
    by_name: bool,
    debug: Callable[[str], None] | None = None,
) -> DestroyTarget:
    """Which deployment `destroy` would remove. Without a state record and without an
    explicit --name (`by_name`), nothing: no AWS call is made, no local AgentCore started."""
    state = load_state(state_path)
    loose = find_record(state, target=config.target, region=config.region or None, name=config.name)
    if loose is None and not by_name:
        return DestroyTarget(key="", found_by="nothing", message=_no_record(config, state.path))
    target = open_target(config, debug=debug)
    key = record_key(config.target, target.region, config.name, target.account)
    record = state.get(key)
    if record is not None:
        local_url = target.endpoint_url if target.kind == "local" else None
        validate_record(record, state.path, local_url=local_url)
        return DestroyTarget(
            key=key, found_by="state", deployment_id=record.deployment_id, config=config
        )
    if not by_name:
        return DestroyTarget(key=key, found_by="nothing", message=_no_record(config, state.path))
    names = Names(config.name, target.region, target.account)
    try:
        candidates: list[ownership.Claim | None] = []
        control = target.client("bedrock-agentcore-control")
        live = ownership.find_runtime(control, config.name, None)
        if live is not None:
            candidates.append(ownership.runtime_claim(control, live))
        candidates.append(ownership.role_claim(target.client("iam"), names.role))
        found_id = next(
            (
                c.tags[ownership.TAG_DEPLOYMENT_ID]
                for c in candidates
                if c is not None
                and c.tags.get(ownership.TAG_DEPLOYMENT) == key
                and c.tags.get(ownership.TAG_DEPLOYMENT_ID)
            ),
            "",
        )
        if not found_id:
            seen = [f"{c.kind} {c.arn}" for c in candidates if c is not None]
            why = (
                f"{', '.join(seen)} found by name but not tagged {ownership.TAG_DEPLOYMENT}="
                f"{key} with a deployment id; left alone"
                if seen
                else "no runtime or role of that name"
            )
            return DestroyTarget(
                key=key,
                found_by="nothing",
                message=f"no deployment {key} to destroy: {why}",
                config=config,
            )
        record = DeploymentRecord(
            target=config.target,
            region=target.region,
            name=config.name,
            account=target.account,
            deployment_id=found_id,
        )
        ctx = _destroy_context(config, target, state, record, lambda _e: None, dry_run=True)
        arns = [
            c.arn
            for c in ownership.claims(ctx, ("runtime", "role", "cognito", "publish"))
            if ctx.not_ours(c.tags) is None
        ]
        repo = ownership.repository_claim(target.client("ecr"), names.repository)
        if repo is not None and ctx.not_ours(repo.tags) is None:
            arns.append(repo.arn)
        sm = target.client("secretsmanager")
        prefix = names.env_secret("")
        pages = sm.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}]
        )
        for page in pages:
            for listed in page.get("SecretList", []):
                if not str(listed["Name"]).startswith(prefix) or listed["ARN"] in arns:
                    continue
                if ctx.not_ours(ownership.as_dict(listed.get("Tags"))) is None:
                    arns.append(str(listed["ARN"]))
    except ClientError as exc:
        raise explain_client_error(exc, f"looking for deployment {key}") from None
    return DestroyTarget(key=key, found_by="name", arns=arns, deployment_id=found_id, config=config)


def _destroy_context(
    config: DeployConfig,
    target: Target,
    state: DeploymentState,
    record: DeploymentRecord,
    emit: Callable[[Event], None],
    *,
    dry_run: bool,
) -> StepContext:
    return StepContext(config, target, state, record, emit, dry_run=dry_run)


def destroy(
    config: DeployConfig,
    *,
    state_path: Path | None = None,
    dry_run: bool = False,
    on_event: Callable[[Event], None] | None = None,
    debug: Callable[[str], None] | None = None,
    by_name: bool = False,
    found: DestroyTarget | None = None,
) -> DestroyResult:
    """Remove, in reverse order, what carries the deployment's tags: the deployment the
    state records, or (with `by_name`) the one whose runtime/role named `config.name` carry
    its tags. Untagged and foreign resources are left, with a warning each."""
    from botocore.exceptions import BotoCoreError

    from agentcore_mcp.deploy.errors import explain_botocore_error
    from agentcore_mcp.deploy.steps import build, cognito, publish, role, runtime, secrets

    emit = on_event or (lambda _e: None)
    found = found or find_destroy_target(config, state_path, by_name=by_name, debug=debug)
    if found.found_by == "nothing":
        return DestroyResult(found.key, dry_run=dry_run, found_by="nothing", message=found.message)
    target = open_target(config, debug=debug, on_event=lambda m: emit(Event("info", "target", m)))
    state = load_state(state_path)
    record = state.get(found.key) or DeploymentRecord(
        target=config.target,
        region=target.region,
        name=config.name,
        account=target.account,
        deployment_id=found.deployment_id,
    )
    if record.deployment_id != found.deployment_id:
        raise DeployError(f"{state.path} changed while destroy ran; run destroy again")
    if not record.deployment_id:
        emit(
            Event(
                "warning",
                "destroy",
                f"{found.key} has no deployment id (made by an older agentcore-mcp): its "
                "resources carry no id tag and are left; run `agentcore-mcp deploy --adopt` "
                "once to tag them, then destroy",
            )
        )
    ctx = _destroy_context(config, target, state, record, emit, dry_run=dry_run)
    result = DestroyResult(
        found.key,
        dry_run=dry_run,
        found_by=found.found_by,
        scheduled_deletions=ctx.scheduled_deletions,
    )
    order: list[tuple[str, Any]] = [
        ("publish", publish),
        ("runtime", runtime),
        ("build", build),
        ("role", role),
        ("secrets", secrets),
        ("cognito", cognito),
    ]
    for name, module in order:
        ctx.step = name
        emit(Event("start", name))
        try:
            removed = bool(module.destroy(ctx))
        except BotoCoreError as exc:
            raise explain_botocore_error(exc, f"destroying ({name})") from None
        result.removed[name] = removed
        if not dry_run and ctx.record.key in ctx.state.deployments:
            ctx.save()
        emit(Event("done", name, changed=removed))
    if not dry_run:
        ctx.state.remove(ctx.record.key)
    return result
