"""The role step on its own, over a real local AgentCore (moto's IAM behind it): the
execution role's trust and its inline policy, which must be least privilege.

What the runtime needs (docs/deployer.md "The execution role"): its own log group and
streams, X-Ray and metrics in the bedrock-agentcore namespace (services without resource-
level permissions: "*", the metrics narrowed by a condition), GetSecretValue on this
deployment's secrets, and for a container ECR pull of its own repository. The code zip
is read by AgentCore with the deployer's credentials, so the role gets no S3 at all.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from agentcore_mcp.deploy.ownership import NotOursError
from agentcore_mcp.deploy.steps import role, secrets
from tests.support.deploy import step_context, writes_of
from tests.support.local import ACCOUNT, REGION, TRUST_POLICY, LocalAgentCoreHandle

# The trust policy AWS documents for an execution role (the one hand-made roles get too).
TRUST = TRUST_POLICY
# Actions whose service has no resource-level permissions: "*" is the only resource IAM
# accepts for them (the Service Authorization Reference lists no resource type).
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
}


def _doc(value: Any) -> Any:
    return json.loads(unquote(value)) if isinstance(value, str) else value


def _role(handle: LocalAgentCoreHandle, name: str) -> dict[str, Any]:
    iam = handle.client("iam")
    role_name = f"AgentCoreMcp-{name}-{REGION}"
    got = iam.get_role(RoleName=role_name)["Role"]
    policies = {
        p: _doc(iam.get_role_policy(RoleName=role_name, PolicyName=p)["PolicyDocument"])
        for p in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    }
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role_name)["Tags"]}
    return {
        "arn": got["Arn"],
        "trust": _doc(got["AssumeRolePolicyDocument"]),
        "policies": policies,
        "attached": attached,
        "tags": tags,
    }


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    """action -> the resources it is allowed on (a condition, when any, appended)."""
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement, statement
        assert "NotResource" not in statement, statement
        actions = statement["Action"]
        resources = statement["Resource"]
        condition = json.dumps(statement.get("Condition"), sort_keys=True)
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                shown = resource if "Condition" not in statement else f"{resource} if {condition}"
                out.setdefault(action, set()).add(shown)
    return out


def _least_privilege(
    name: str, secret_arns: list[str], repository: str | None = None
) -> dict[str, set[str]]:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/bedrock-agentcore/runtimes/{name}-*"
    own_logs = {group, f"{group}:log-stream:*"}
    metrics = json.dumps({"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}})
    want: dict[str, set[str]] = {
        "logs:CreateLogGroup": own_logs,
        "logs:DescribeLogStreams": own_logs,
        "logs:CreateLogStream": own_logs,
        "logs:PutLogEvents": own_logs,
        # A list call: IAM scopes it to the account and region's groups, no further.
        "logs:DescribeLogGroups": {f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
        "xray:GetSamplingRules": {"*"},
        "xray:GetSamplingTargets": {"*"},
        "cloudwatch:PutMetricData": {f"* if {metrics}"},
    }
    if secret_arns:
        want["secretsmanager:GetSecretValue"] = set(secret_arns)
    if repository:
        repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
        want["ecr:BatchGetImage"] = {repo_arn}
        want["ecr:GetDownloadUrlForLayer"] = {repo_arn}
        want["ecr:GetAuthorizationToken"] = {"*"}
    return want


def _assert_least_privilege(policy: dict[str, Any], want: dict[str, set[str]]) -> None:
    grants = _grants(policy)
    assert grants == want
    for action, resources in grants.items():
        assert "*" not in action.split(":", 1)[1], action  # no wildcard actions
        if action not in NO_RESOURCE_LEVEL:
            assert not any(r.startswith("*") for r in resources), (action, resources)
    services = {a.split(":")[0] for a in grants}
    assert not services & {"s3", "ssm", "iam", "sts", "bedrock", "bedrock-agentcore", "kms"}


def test_creates_the_role_with_the_documented_trust_and_a_least_privilege_policy(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "role_fresh"
    ctx = step_context(
        steps_agentcore, state_path, name=name, secrets=("API_KEY",), secret_values={"API_KEY": "v"}
    )
    secrets.apply(ctx)  # the role's policy names the secrets (plan runs them together)
    changed, writes = writes_of(ctx, lambda: role.apply(ctx))
    assert changed is True
    assert writes == ["iam.CreateRole", "iam.PutRolePolicy"]
    live = _role(steps_agentcore, name)
    assert live["trust"] == TRUST
    assert live["attached"] == []  # no managed policy: nothing but the inline one
    assert list(live["policies"]) == ["agentcore-mcp-runtime"]
    secret_arn = ctx.record.secrets["API_KEY"]
    _assert_least_privilege(
        live["policies"]["agentcore-mcp-runtime"], _least_privilege(name, [secret_arn])
    )
    assert live["tags"] == ctx.tags
    recorded = ctx.record.role
    assert recorded is not None and recorded.arn == live["arn"]
    assert recorded.name == f"AgentCoreMcp-{name}-{REGION}" and recorded.policy_hash
    assert ctx.state.path.exists()  # recorded as it went


def test_another_deployment_s_log_group_and_secrets_are_not_granted(
    steps_agentcore: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    """Two deployments side by side: each role reads its own secret and writes its own
    logs only (the log group's `NAME-*` cannot match another name: names have no '-')."""
    arns = {}
    for name in ("role_left", "role_right"):
        ctx = step_context(
            steps_agentcore,
            tmp_path / f"{name}.json",
            name=name,
            secrets=("TOKEN",),
            secret_values={"TOKEN": name},
        )
        secrets.apply(ctx)
        role.apply(ctx)
        arns[name] = ctx.record.secrets["TOKEN"]
    left = _grants(_role(steps_agentcore, "role_left")["policies"]["agentcore-mcp-runtime"])
    assert left["secretsmanager:GetSecretValue"] == {arns["role_left"]}
    groups = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/bedrock-agentcore/runtimes"
    right_group = f"{groups}/role_right-AbCdE12345-DEFAULT"  # IAM's wildcards are fnmatch's
    own_group = f"{groups}/role_left-AbCdE12345-DEFAULT"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"):
        assert not any(fnmatchcase(right_group, r) for r in left[action]), action
        assert any(fnmatchcase(own_group, r) for r in left[action]), action


def test_a_container_deployment_may_pull_its_own_repository_only(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "role_image"
    ctx = step_context(steps_agentcore, state_path, name=name, artifact="container")
    role.apply(ctx)
    policy = _role(steps_agentcore, name)["policies"]["agentcore-mcp-runtime"]
    _assert_least_privilege(policy, _least_privilege(name, [], "agentcore-mcp/role_image"))


def test_a_rerun_makes_no_write_and_repairs_a_widened_policy_or_trust(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "role_rerun"
    role.apply(step_context(steps_agentcore, state_path, name=name))
    before = _role(steps_agentcore, name)

    again = step_context(steps_agentcore, state_path, name=name)  # a new process's view
    changed, writes = writes_of(again, lambda: role.apply(again))
    assert (changed, writes) == (False, [])
    assert _role(steps_agentcore, name) == before

    iam = steps_agentcore.client("iam")
    role_name = f"AgentCoreMcp-{name}-{REGION}"
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName=role_name, PolicyName="agentcore-mcp-runtime", PolicyDocument=json.dumps(wide)
    )
    any_service = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Condition": {}}]}
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(any_service))
    repair = step_context(steps_agentcore, state_path, name=name)
    changed, writes = writes_of(repair, lambda: role.apply(repair))
    assert changed is True
    assert writes == ["iam.UpdateAssumeRolePolicy", "iam.PutRolePolicy"]
    assert _role(steps_agentcore, name) == before


def test_a_role_it_did_not_make_is_refused_and_left_as_it_was(
    steps_agentcore: LocalAgentCoreHandle, state_path: Path
) -> None:
    name = "role_foreign"
    role_name = f"AgentCoreMcp-{name}-{REGION}"
    iam = steps_agentcore.client("iam")
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST))
    before = _role(steps_agentcore, name)
    ctx = step_context(steps_agentcore, state_path, name=name)
    with pytest.raises(NotOursError) as refused:
        writes_of(ctx, lambda: role.apply(ctx))
    message = str(refused.value)
    assert before["arn"] in message and "untagged" in message and "--adopt" in message
    assert [op for op, write in ctx.target.calls.calls if write] == []
    assert _role(steps_agentcore, name) == before
    assert ctx.record.role is None
