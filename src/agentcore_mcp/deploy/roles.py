"""The role commands as library calls: who you are, and the inline policy the identity
running `agentcore-mcp deploy` needs (`role show`, `role get-policy`, `role put-policy`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.errors import DeployError, error_code, explain_client_error
from agentcore_mcp.deploy.ownership import paginated
from agentcore_mcp.deploy.target import Target, open_target

DEPLOYER_POLICY_NAME = "AgentCoreMcpDeployer"


def deployer_policy(region: str, account: str) -> dict[str, Any]:
    """What the identity running `agentcore-mcp deploy` needs (deploy.py's --put-role-policy)."""
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
            iam = target.client("iam")
            policies = list(paginated(iam, "list_role_policies", "PolicyNames", RoleName=name))
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
