"""The execution role: trust with SourceAccount/SourceArn, a least-privilege inline policy."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import error_code
from agentcore_mcp.deploy.ownership import NotOursError, paginated
from agentcore_mcp.deploy.state import RoleRecord

# After creating a role on AWS, how long to let IAM propagate before AgentCore may assume it.
PROPAGATION_SECONDS = 10.0


def trust_policy(account: str, region: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock-agentcore:{region}:{account}:*"},
                },
            }
        ],
    }


def runtime_policy(
    account: str,
    region: str,
    runtime_name: str,
    secret_arns: list[str],
    repository_arn: str | None,
) -> dict[str, Any]:
    """What an MCP tool server needs, and no more (docs/deployer.md "The execution role").

    Logs: the runtime's own groups only. AgentCore names them
    `/aws/bedrock-agentcore/runtimes/{runtime id}-{endpoint}`, and a runtime id is
    `{name}-{10 alphanumerics}`; names have no '-', so `{name}-*` matches no other
    runtime's. X-Ray, PutMetricData and GetAuthorizationToken have no resource-level
    permissions ("*" is all IAM accepts; the metrics are narrowed to AgentCore's namespace).
    No S3: AgentCore reads the code zip with the deployer's credentials, not the role's.
    """
    logs = (
        f"arn:aws:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/"
        f"{runtime_name}-*"
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [logs, f"{logs}:log-stream:*"],
        },
        {
            "Sid": "LogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": f"arn:aws:logs:{region}:{account}:log-group:*",
        },
        {
            "Sid": "XRay",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
        },
    ]
    if repository_arn:
        statements += [
            {
                "Sid": "EcrPull",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": repository_arn,
            },
            {
                "Sid": "EcrToken",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
        ]
    if secret_arns:
        statements.append(
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(secret_arns),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _doc(value: Any) -> Any:
    # IAM returns documents URL-encoded (or, via some SDK paths, already decoded).
    return json.loads(unquote(value)) if isinstance(value, str) else value


def _hash(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def desired_policy(ctx: StepContext) -> dict[str, Any]:
    repo_arn = None
    if ctx.config.artifact == "container":
        t = ctx.target
        repo_arn = f"arn:aws:ecr:{t.region}:{t.account}:repository/{ctx.names.repository}"
    return runtime_policy(
        ctx.target.account,
        ctx.target.region,
        ctx.config.name,
        list(ctx.record.secrets.values()),
        repo_arn,
    )


def apply(ctx: StepContext) -> bool:
    iam = ctx.client("iam")
    names = ctx.names
    trust = trust_policy(ctx.target.account, ctx.target.region)
    changed = False
    try:
        try:
            role = iam.get_role(RoleName=names.role)["Role"]
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            role = None
        if role is not None:
            tags = {
                t["Key"]: t["Value"]
                for t in iam.list_role_tags(RoleName=names.role).get("Tags", [])
            }
            why = ctx.not_ours(tags)
            if why is not None:  # check_before_deploy refused or adopted it already
                raise NotOursError(
                    f"role {role['Arn']} exists but is {why}; pass --adopt to take it over, "
                    "or pick another --name"
                )
            if _doc(role.get("AssumeRolePolicyDocument")) != trust:
                if ctx.dry_run:
                    ctx.progress(f"would update the trust policy of {names.role}")
                else:
                    iam.update_assume_role_policy(
                        RoleName=names.role, PolicyDocument=json.dumps(trust)
                    )
                changed = True
        elif ctx.dry_run:
            ctx.progress(f"would create role {names.role}")
            return True
        else:
            role = iam.create_role(
                RoleName=names.role,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"AgentCore Runtime execution role for {ctx.config.name}",
                Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()],
            )["Role"]
            ctx.progress(f"created role {names.role}")
            changed = True
        ctx.record.role = RoleRecord(
            name=names.role,
            arn=str(role["Arn"]),
            policy_name=names.policy,
            policy_hash=ctx.record.role.policy_hash if ctx.record.role else "",
        )
        ctx.save()
        policy = desired_policy(ctx)
        try:
            current = _doc(
                iam.get_role_policy(RoleName=names.role, PolicyName=names.policy)["PolicyDocument"]
            )
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            current = None
        if current != policy:
            if ctx.dry_run:
                ctx.progress(f"would put policy {names.policy} on {names.role}")
                return True
            iam.put_role_policy(
                RoleName=names.role, PolicyName=names.policy, PolicyDocument=json.dumps(policy)
            )
            ctx.progress(f"put least-privilege policy {names.policy}")
            changed = True
        ctx.record.role.policy_hash = _hash(policy)
        ctx.save()
    except ClientError as exc:
        raise ctx.fail(exc, f"setting up role {names.role}") from None
    if changed and ctx.target.kind == "aws" and not ctx.dry_run:
        wait_for_propagation(ctx)
    return changed


def wait_for_propagation(ctx: StepContext, seconds: float = PROPAGATION_SECONDS) -> None:
    """IAM is eventually consistent: AgentCore may not yet see a new role or policy. A bounded
    wait here; the runtime step also retries 'cannot assume role' for a bounded time."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds) + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ctx.progress(f"waiting for IAM to propagate the role ({left:.0f} s left)")
        time.sleep(min(1.0, left))


def destroy(ctx: StepContext) -> bool:
    iam = ctx.client("iam")
    name = ctx.record.role.name if ctx.record.role else ctx.names.role
    try:
        try:
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name).get("Tags", [])}
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                ctx.record.role = None
                return False
            raise
        why = ctx.not_ours(tags)
        if why is not None:
            ctx.warn(f"left role {name}: {why}")
            ctx.record.role = None
            return False
        if ctx.dry_run:
            ctx.progress(f"would delete role {name} and its policies")
            return True
        # Listed whole before deleting (deleting while paging would shift the pages).
        for policy in list(paginated(iam, "list_role_policies", "PolicyNames", RoleName=name)):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        attached = paginated(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        for policy_arn in [item["PolicyArn"] for item in attached]:
            iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
        iam.delete_role(RoleName=name)
        ctx.progress(f"deleted role {name}")
        ctx.record.role = None
        return True
    except ClientError as exc:
        raise ctx.fail(exc, f"deleting role {name}") from None
