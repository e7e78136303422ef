"""Which resources are this deployment's: one tag scheme, one "is this mine?" rule.

Every resource the deployer creates carries two tags:

- `agentcore-mcp:deployment` = the record key (`local/<region>/<name>` or
  `aws/<account>/<region>/<name>`): names the deployment, for people and for `destroy --name`;
- `agentcore-mcp:deployment-id` = the record's `deployment_id`: random, made at the first
  deploy and kept in the state file. Two folders deploying the same name get different ids.

A resource is this deployment's when its id tag equals the record's id. The artifact bucket
is shared per account and region: it carries `agentcore-mcp:deployment` =
`agentcore-mcp/<region>` (the role step's scheme, kept) and no id; its objects carry the
two tags of the deployment that uploaded them. Cognito app clients are not taggable on
AWS: a client is this deployment's when its pool is.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.errors import NameTakenError, error_code
from agentcore_mcp.exit_codes import ExitCode

if TYPE_CHECKING:
    from agentcore_mcp.deploy.context import StepContext

TAG_DEPLOYMENT = "agentcore-mcp:deployment"
TAG_DEPLOYMENT_ID = "agentcore-mcp:deployment-id"
ADOPT_FLAG = "--adopt"


class NotOursError(NameTakenError):
    """A resource with the deployer's name exists but is untagged or another deployment's.

    Exit 6 (configuration): nothing failed on AWS; the user decides (--adopt, or --name).
    """

    exit_code = ExitCode.CONFIG_ERROR


def new_deployment_id() -> str:
    return secrets.token_hex(16)


def deployment_tags(key: str, deployment_id: str) -> dict[str, str]:
    return {TAG_DEPLOYMENT: key, TAG_DEPLOYMENT_ID: deployment_id}


def bucket_tag_value(region: str) -> str:
    return f"agentcore-mcp/{region}"


def as_dict(tags: Any) -> dict[str, str]:
    """Tags in any of the AWS shapes ([{Key, Value}], [{key, value}], or a map) as a dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for item in tags:
        key = item.get("Key", item.get("key"))
        if key is not None:
            out[str(key)] = str(item.get("Value", item.get("value", "")))
    return out


def as_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def refusal(tags: Mapping[str, str], key: str, deployment_id: str) -> str | None:
    """None when the tags say the resource is the deployment (key, id)'s; else why not."""
    found_id = tags.get(TAG_DEPLOYMENT_ID)
    if found_id and found_id == deployment_id:
        return None
    if found_id:
        owner = tags.get(TAG_DEPLOYMENT, "?")
        return f"tagged for another deployment ({owner}, deployment id {found_id})"
    if TAG_DEPLOYMENT in tags:
        return f"tagged {TAG_DEPLOYMENT}={tags[TAG_DEPLOYMENT]} without a deployment id"
    return "untagged (not made by agentcore-mcp)"


@dataclass(frozen=True, slots=True)
class Claim:
    """A resource found by the deployer's name, and what its tags say."""

    kind: str  # "runtime", "role", "user pool", "secret", "SSM parameter", "ECR repository"
    arn: str
    tags: dict[str, str]
    # Writes the deployment's tags on it (used by --adopt).
    tag: Callable[[dict[str, str]], None]

    def refusal(self, key: str, deployment_id: str) -> str | None:
        return refusal(self.tags, key, deployment_id)


def refuse(foreign: Iterable[tuple[Claim, str]]) -> NotOursError:
    lines = [f"{c.kind} {c.arn}: {why}" for c, why in foreign]
    return NotOursError(
        "deploy would take over resources it did not make: "
        + "; ".join(lines)
        + f". Pass {ADOPT_FLAG} to tag them as this deployment's and use them (the runtime's "
        "code, role and environment get replaced), or pick another --name"
    )


# --- reading tags, per service ------------------------------------------------------------
# Each returns None when the resource does not exist.


def runtime_claim(control: Any, runtime: Mapping[str, Any]) -> Claim:
    arn = str(runtime["agentRuntimeArn"])
    tags = as_dict(control.list_tags_for_resource(resourceArn=arn).get("tags"))
    return Claim("runtime", arn, tags, lambda t: control.tag_resource(resourceArn=arn, tags=t))


def role_claim(iam: Any, name: str) -> Claim | None:
    try:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    tags = as_dict(iam.list_role_tags(RoleName=name).get("Tags"))
    return Claim("role", arn, tags, lambda t: iam.tag_role(RoleName=name, Tags=as_list(t)))


def pool_claim(idp: Any, pool_id: str) -> Claim | None:
    try:
        pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    arn = str(pool.get("Arn") or pool_id)
    tags = as_dict(pool.get("UserPoolTags"))
    return Claim("user pool", arn, tags, lambda t: idp.tag_resource(ResourceArn=arn, Tags=dict(t)))


def secret_claim(sm: Any, secret_id: str) -> Claim | None:
    try:
        got = sm.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    if got.get("DeletedDate"):
        return None
    arn = str(got["ARN"])
    return Claim(
        "secret",
        arn,
        as_dict(got.get("Tags")),
        lambda t: sm.tag_resource(SecretId=arn, Tags=as_list(t)),
    )


def parameter_claim(ssm: Any, name: str) -> Claim | None:
    try:
        arn = str(ssm.get_parameter(Name=name)["Parameter"].get("ARN") or name)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise
    tags = as_dict(
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList")
    )
    return Claim(
        "SSM parameter",
        arn,
        tags,
        lambda t: ssm.add_tags_to_resource(
            ResourceType="Parameter", ResourceId=name, Tags=as_list(t)
        ),
    )


def repository_claim(ecr: Any, name: str) -> Claim | None:
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return None
        raise
    arn = str(repo["repositoryArn"])
    tags = as_dict(ecr.list_tags_for_resource(resourceArn=arn).get("tags"))
    return Claim(
        "ECR repository",
        arn,
        tags,
        lambda t: ecr.tag_resource(resourceArn=arn, tags=as_list(t)),
    )


def object_tags(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return as_dict(s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet"))


def bucket_tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        return as_dict(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as exc:
        if error_code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
            return {}
        raise


def object_tagging(key: str, deployment_id: str) -> str:
    """PutObject's `Tagging` (a URL query string) for an artifact of this deployment."""
    from urllib.parse import urlencode

    return urlencode(deployment_tags(key, deployment_id))


# --- deploy's check before its first write ---------------------------------------------------


def find_runtime(control: Any, name: str, recorded_id: str | None) -> dict[str, Any] | None:
    """The runtime the state records (by id), else the one named `name`; None if neither."""
    if recorded_id:
        try:
            got: dict[str, Any] = control.get_agent_runtime(agentRuntimeId=recorded_id)
            return got
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    return next(runtimes_named(control, name), None)


# Pages read at most when looking a name up (botocore's paginator has a bound on items
# but none on pages; AgentCore answers up to 100 runtimes a page).
MAX_LIST_PAGES = 100


def paginated(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under `key` of `operation`'s pages (botocore's paginator; at most
    `MAX_LIST_PAGES` pages): a list the deployer acts on must not stop at page one."""
    pages = client.get_paginator(operation).paginate(**params)
    for page in itertools.islice(pages, MAX_LIST_PAGES):
        yield from page.get(key, [])


def runtimes_named(control: Any, name: str) -> Iterator[dict[str, Any]]:
    """The ListAgentRuntimes summaries named `name` (`paginated`)."""
    for item in paginated(control, "list_agent_runtimes", "agentRuntimes"):
        if item.get("agentRuntimeName") == name:
            yield dict(item)


def find_pool(idp: Any, name: str) -> str | None:
    """The id of the user pool named `name` (botocore's paginator; at most 100 pages)."""
    pages = idp.get_paginator("list_user_pools").paginate(
        MaxResults=60, PaginationConfig={"MaxItems": 6000}
    )
    for page in pages:
        for pool in page.get("UserPools", []):
            if pool.get("Name") == name:
                return str(pool["Id"])
    return None


def claims(ctx: StepContext, steps: Iterable[str]) -> list[Claim]:
    """What the chosen steps would reuse by name, and what its tags say (reads only)."""
    names, record, chosen = ctx.names, ctx.record, set(steps)
    found: list[Claim | None] = []
    if "runtime" in chosen:
        control = ctx.client("bedrock-agentcore-control")
        live = find_runtime(control, ctx.config.name, record.runtime.id if record.runtime else None)
        found.append(runtime_claim(control, live) if live else None)
    if "role" in chosen:
        found.append(role_claim(ctx.client("iam"), names.role))
        sm = ctx.client("secretsmanager")
        found += [secret_claim(sm, names.env_secret(var)) for var in sorted(ctx.config.secrets)]
    if "cognito" in chosen:
        idp = ctx.client("cognito-idp")
        pool_id = find_pool(idp, names.pool)
        found.append(pool_claim(idp, pool_id) if pool_id else None)
        found.append(secret_claim(ctx.client("secretsmanager"), names.user_secret))
    if "build" in chosen and ctx.config.artifact == "container":
        found.append(repository_claim(ctx.client("ecr"), names.repository))
    if "publish" in chosen:
        ssm = ctx.client("ssm")
        found += [parameter_claim(ssm, n) for n in (names.parameter, names.arn_parameter)]
    return [c for c in found if c is not None]


def check_before_deploy(ctx: StepContext, steps: Iterable[str], *, adopt: bool) -> None:
    """Refuse (NotOursError, no write made) to take over an untagged or foreign resource
    that has the deployer's name; with `adopt`, tag it as this deployment's instead.

    Gives the record its deployment id first (recorded before anything is made, so a kill
    after the first create cannot leave a resource tagged with an id the state lacks)."""
    record = ctx.record
    fresh = not record.deployment_id
    if fresh:
        record.deployment_id = new_deployment_id()
    try:
        foreign = [
            (c, why)
            for c in claims(ctx, steps)
            if (why := c.refusal(record.key, record.deployment_id))
        ]
    except ClientError as exc:
        raise ctx.fail(exc, "checking who owns the existing resources") from None
    if foreign and not adopt:
        if fresh:
            record.deployment_id = ""
        raise refuse(foreign)
    if ctx.dry_run:
        for claim, why in foreign:
            ctx.progress(f"would adopt {claim.kind} {claim.arn} ({why})")
        return
    ctx.save()  # the id, before any resource is made or tagged with it
    for claim, why in foreign:
        try:
            claim.tag(ctx.tags)
        except ClientError as exc:
            raise ctx.fail(exc, f"tagging {claim.kind} {claim.arn}") from None
        ctx.warn(f"adopted {claim.kind} {claim.arn} (was {why}); it is now this deployment's")
