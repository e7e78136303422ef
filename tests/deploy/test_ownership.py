"""Ownership: the deployer touches only what it made (docs/deployer.md "Ownership"); and
OAuth (Cognito + customJWTAuthorizer) with --secret through the CLI, then a grep for
every secret made: state file, runtime configuration, output, logs.

One real local AgentCore; one OAuth deployment with a secret under the default name,
made by the CLI (`--debug`) from folder `home_dir` (the one an unrelated folder's
`destroy` used to find); a runtime made directly with boto3 that `deploy` must not take
over without --adopt, and edited state files. (The OAuth tests were
test_deploy_oauth_secrets.py, which made a deployment of the same kind of its own.)"""

from __future__ import annotations

import asyncio
import json
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.client.remote import open_runtime
from agentcore_mcp.deploy.config import DEFAULT_NAME
from agentcore_mcp.deploy.logs import log_lines
from agentcore_mcp.deploy.plan import deploy
from agentcore_mcp.deploy.state import StateError, load_state, runtime_target
from agentcore_mcp.deploy.status import recorded
from agentcore_mcp.deploy.target import is_write
from tests.support.deploy import deploy_config, listing, run_cli, tool_text
from tests.support.local import ACCOUNT, REGION, LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # whole deploys (Cognito, secrets, the smoke test)

KEY = f"local/{REGION}/{DEFAULT_NAME}"
# The tag scheme (written out: the test states the contract, ownership.py implements it)
TAG_DEPLOYMENT = "agentcore-mcp:deployment"
TAG_DEPLOYMENT_ID = "agentcore-mcp:deployment-id"
SECRET_VAR = "OPENAI_API_KEY"
SECRET_VALUE = "sk-test-NEVER-IN-A-FILE-8c1f3a"


def as_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def _home(handle: LocalAgentCoreHandle) -> list[str]:
    return ["--local-home", str(handle.home)]


def _common(handle: LocalAgentCoreHandle, deployed: dict[str, Any]) -> list[str]:
    return ["--name", DEFAULT_NAME, "--state", str(deployed["state"]), *_home(handle)]


def _writes_in_debug(stderr: str) -> list[str]:
    """The write operations among the `--debug` lines (`aws service.Operation {...}`)."""
    ops = re.findall(r"^aws ([\w-]+)\.(\w+) ", stderr, flags=re.MULTILINE)
    assert ops, "--debug printed no AWS call"
    return [f"{svc}.{op}" for svc, op in ops if is_write(op)]


@pytest.fixture(scope="module")
def home_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("where_it_was_deployed")


@pytest.fixture(scope="module")
def deployed(local_agentcore: LocalAgentCoreHandle, home_dir: Path) -> dict[str, Any]:
    """The default-named OAuth deployment with one secret, made from `home_dir`."""
    before = listing(local_agentcore)
    state = home_dir / "deployment_config.json"
    args = [
        "deploy",
        "--oauth",
        "--secret",
        SECRET_VAR,
        "--env",
        "LOG_LEVEL=info",
        "--idle-timeout",
        "120",
        "--allow-header",
        "X-Tenant",
        *_home(local_agentcore),
        "--state",
        str(state),
        "--debug",  # last: the no-change rerun drops it
    ]
    got = run_cli(args, cwd=home_dir, env={SECRET_VAR: SECRET_VALUE})
    assert got.returncode == 0, got.stderr
    record = load_state(state).deployments[KEY]
    assert record.runtime is not None
    config = deploy_config(local_agentcore, auth="oauth", secrets=(SECRET_VAR,))
    return {
        "config": config,
        "record": record,
        "state": state,
        "out": got.stdout + got.stderr,
        "before": before,
        "args": args,
    }


def test_the_local_agentcore_keeps_runtime_tags(local_agentcore: LocalAgentCoreHandle) -> None:
    control = local_agentcore.client("bedrock-agentcore-control")
    made = local_agentcore.create_runtime("tagged_direct", wait=False, tags={"team": "a"})
    arn = made["agentRuntimeArn"]
    try:
        assert control.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "a"}
        control.tag_resource(resourceArn=arn, tags={"env": "dev", "team": "b"})
        assert control.list_tags_for_resource(resourceArn=arn)["tags"] == {
            "team": "b",
            "env": "dev",
        }
        control.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
        assert control.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}
        other_account = arn.replace(f":{ACCOUNT}:", ":210987654321:")
        with pytest.raises(ClientError) as missing:
            control.list_tags_for_resource(resourceArn=other_account)
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as reserved:
            control.tag_resource(resourceArn=arn, tags={"aws:owner": "me"})
        assert reserved.value.response["Error"]["Code"] == "ValidationException"
    finally:
        control.delete_agent_runtime(agentRuntimeId=made["agentRuntimeId"])
    with pytest.raises(ClientError) as gone:  # deleting the runtime takes its tags along
        for _ in range(600):  # bounded (60 s); a local delete takes well under a second
            control.get_agent_runtime(agentRuntimeId=made["agentRuntimeId"])
            time.sleep(0.1)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as untagged:
        control.list_tags_for_resource(resourceArn=arn)
    assert untagged.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_every_resource_made_carries_the_deployment_tags(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any]
) -> None:
    record = deployed["record"]
    assert re.fullmatch(r"[0-9a-f]{32}", record.deployment_id)
    want = {TAG_DEPLOYMENT: KEY, TAG_DEPLOYMENT_ID: record.deployment_id}
    h = local_agentcore
    control, iam, idp = (
        h.client("bedrock-agentcore-control"),
        h.client("iam"),
        h.client("cognito-idp"),
    )
    sm, ssm, s3 = h.client("secretsmanager"), h.client("ssm"), h.client("s3")
    found = {
        "runtime": control.list_tags_for_resource(resourceArn=record.runtime.arn)["tags"],
        "role": as_dict(iam.list_role_tags(RoleName=record.role.name)["Tags"]),
        "pool": idp.describe_user_pool(UserPoolId=record.cognito.pool_id)["UserPool"][
            "UserPoolTags"
        ],
        "user secret": as_dict(sm.describe_secret(SecretId=record.cognito.user_secret_id)["Tags"]),
        "env secret": as_dict(sm.describe_secret(SecretId=record.secrets[SECRET_VAR])["Tags"]),
        "object": as_dict(
            s3.get_object_tagging(Bucket=record.artifact.bucket, Key=record.artifact.key)["TagSet"]
        ),
    }
    for name in (record.publish.parameter, record.publish.arn_parameter):
        found[name] = as_dict(
            ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        )
    for what, tags in found.items():
        assert {k: tags.get(k) for k in want} == want, what
    bucket = as_dict(s3.get_bucket_tagging(Bucket=record.bucket)["TagSet"])
    assert bucket == {TAG_DEPLOYMENT: f"agentcore-mcp/{REGION}"}  # shared: no deployment id


def test_destroy_in_an_unrelated_folder_deletes_nothing(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], tmp_path: Path
) -> None:
    before = listing(local_agentcore)
    got = run_cli(["destroy", "--yes", *_home(local_agentcore)], cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert "no recorded local deployment" in got.stderr and "--name" in got.stderr
    assert "removed: nothing" in got.stdout
    assert listing(local_agentcore) == before
    assert not (tmp_path / "deployment_config.json").exists()


def test_destroy_by_name_elsewhere_lists_the_arns_and_needs_confirmation(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], tmp_path: Path
) -> None:
    record = deployed["record"]
    before = listing(local_agentcore)
    args = ["destroy", "--name", DEFAULT_NAME, *_home(local_agentcore)]
    got = run_cli(args, cwd=tmp_path, input_text="")  # stdin is not a terminal
    assert got.returncode == 2, got.stderr
    for arn in (record.runtime.arn, record.role.arn, record.secrets[SECRET_VAR]):
        assert arn in got.stderr, arn
    assert "--yes" in got.stderr and "nothing was removed" in got.stderr
    dry = run_cli([*args, "--dry-run", "--json"], cwd=tmp_path, input_text="")
    assert dry.returncode == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["found_by"] == "name" and doc["removed"]["runtime"], doc
    assert listing(local_agentcore) == before


def _edited(state: Path, dest: Path, edit: Any) -> Path:
    doc = json.loads(state.read_text())
    edit(doc["deployments"][KEY])
    dest.write_text(json.dumps(doc))
    return dest


EDITS = {
    "runtime.id": lambda d: d["runtime"].update(id="other_server-AbCdEfGhIj"),
    "runtime.arn": lambda d: d["runtime"].update(
        arn=d["runtime"]["arn"].replace(ACCOUNT, "210987654321")
    ),
    "endpoint_url": lambda d: d.update(endpoint_url="https://collector.example.com"),
    "role.name": lambda d: d["role"].update(name="../AdminRole"),
    "artifact.key": lambda d: d["artifact"].update(key="../other/" + "0" * 64 + ".zip"),
    "cognito.pool_id": lambda d: d["cognito"].update(pool_id="eu-west-1_Foreign1"),
    f"secrets.{SECRET_VAR}": lambda d: d["secrets"].update(
        {SECRET_VAR: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:someone-else/key-AbCdEf"}
    ),
}


def _find_destroy_target(config: Any, state: Path) -> Any:
    from agentcore_mcp.deploy.teardown import find_destroy_target

    return find_destroy_target(config, state, by_name=False)


@pytest.mark.parametrize("field_name", sorted(EDITS))
def test_an_edited_state_field_is_refused_by_every_reader(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], tmp_path: Path, field_name: str
) -> None:
    """Each reader as a library call: the connect side's runtime_target, status, logs,
    deploy, destroy. One line naming the field and the file, before any AWS write."""
    state = _edited(deployed["state"], tmp_path / "edited.json", EDITS[field_name])
    config = deployed["config"]
    before = listing(local_agentcore)
    readers = {
        "runtime_target": lambda: runtime_target(state, name=DEFAULT_NAME),
        "status": lambda: recorded(config, state),
        "logs": lambda: next(iter(log_lines(config, state))),
        "deploy": lambda: deploy(config, state_path=state, secret_values={SECRET_VAR: None}),
        "destroy": lambda: _find_destroy_target(config, state),
    }
    for reader, read in readers.items():
        with pytest.raises(StateError) as refused:
            read()
        message = str(refused.value)
        assert f"field {field_name}" in message and str(state) in message, (reader, message)
        assert "\n" not in message, reader
    assert listing(local_agentcore) == before


@pytest.mark.parametrize("field_name", ["endpoint_url", "runtime.id"])
def test_the_cli_refuses_an_edited_state_file_in_one_line_with_exit_6(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], tmp_path: Path, field_name: str
) -> None:
    state = _edited(deployed["state"], tmp_path / "edited.json", EDITS[field_name])
    before = listing(local_agentcore)
    common = ["--state", str(state), *_home(local_agentcore)]
    for args in (
        ["status", "--live"],
        ["logs"],
        ["deploy", "--oauth", "--debug"],
        ["destroy", "--yes", "--debug"],
    ):
        got = run_cli([*args, *common], cwd=tmp_path, input_text="")
        assert got.returncode == 6, (args, got.stderr)
        errors = [ln for ln in got.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and f"field {field_name}" in errors[0], (args, got.stderr)
        assert str(state) in errors[0]
        if "--debug" in args and "aws " in got.stderr:
            assert _writes_in_debug(got.stderr) == [], args
    assert listing(local_agentcore) == before


def test_logs_never_reads_outside_the_local_home(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], tmp_path: Path
) -> None:
    outside = local_agentcore.home.parent / "outside.log"
    outside.write_text("SECRET-LINE-OUTSIDE-THE-HOME\n")
    state = _edited(
        deployed["state"],
        tmp_path / "traversal.json",
        lambda d: d["runtime"].update(id="../../outside"),
    )
    got = run_cli(["logs", "--state", str(state), *_home(local_agentcore)], cwd=tmp_path)
    assert got.returncode == 6 and "field runtime.id" in got.stderr, got.stderr
    assert "SECRET-LINE" not in got.stdout + got.stderr
    # and the path check itself, below the state validation
    from agentcore_mcp.local.running import NotARuntimeIdError, runtime_log_path

    with pytest.raises(NotARuntimeIdError, match="not a runtime id"):
        runtime_log_path(local_agentcore.home, "../../outside")
    assert runtime_log_path(local_agentcore.home, "a_b-0123456789").parent.name == "logs"


def test_oauth_deploy_serves_bearer_calls(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], home_dir: Path
) -> None:
    assert "web_search" in deployed["out"]  # the smoke test's tools/list
    record = load_state(deployed["state"]).deployments[KEY]
    assert record.auth == "oauth" and record.cognito and record.cognito.client_id
    config = local_agentcore.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=record.runtime.id
    )
    jwt = config["authorizerConfiguration"]["customJWTAuthorizer"]
    assert jwt["allowedClients"] == [record.cognito.client_id] and "allowedAudience" not in jwt
    assert config["environmentVariables"][f"{SECRET_VAR}_SECRET_ID"] == record.secrets[SECRET_VAR]
    assert config["lifecycleConfiguration"]["idleRuntimeSessionTimeout"] == 120

    token = run_cli(["update-token", "--print", *_common(local_agentcore, deployed)], cwd=home_dir)
    assert token.returncode == 0, token.stderr
    bearer = token.stdout.strip()
    assert bearer.count(".") == 2  # a JWT
    deployed["token"] = bearer

    target = runtime_target(deployed["state"], name=DEFAULT_NAME)
    assert target is not None and target.auth == "oauth"

    async def use() -> tuple[list[str], str]:
        async with open_runtime(target, bearer_token=bearer) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            echoed = await client.call_tool("echo", {"text": "over oauth"})
            return tools, tool_text(echoed)

    tools, echoed = asyncio.run(use())
    assert "echo" in tools and "over oauth" in echoed


def test_no_secret_in_state_config_output_or_logs(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], home_dir: Path
) -> None:
    state = deployed["state"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    record = load_state(state).deployments[KEY]
    sm = local_agentcore.client("secretsmanager")
    user = json.loads(sm.get_secret_value(SecretId=record.cognito.user_secret_id)["SecretString"])
    assert sm.get_secret_value(SecretId=record.secrets[SECRET_VAR])["SecretString"] == (
        SECRET_VALUE
    )
    token = (
        deployed.get("token")
        or run_cli(
            ["update-token", "--print", *_common(local_agentcore, deployed)], cwd=home_dir
        ).stdout.strip()
    )
    secrets = {"password": user["password"], "api key": SECRET_VALUE, "token": token}
    runtime = local_agentcore.client("bedrock-agentcore-control").get_agent_runtime(
        agentRuntimeId=record.runtime.id
    )
    haystacks = {
        "state file": state.read_text(),
        "runtime configuration": json.dumps(runtime, default=str),
        "deploy output (--debug)": deployed["out"],
        "runtime log": local_agentcore.log(record.runtime.id),
        "local AgentCore log": local_agentcore.process.log() if local_agentcore.process else "",
    }
    for where, text in haystacks.items():
        for what, value in secrets.items():
            assert value not in text, f"the {what} is in the {where}"
    assert "<redacted>" in deployed["out"]  # --debug printed the calls, values hidden


def test_rerun_with_no_secret_in_env_keeps_it_and_changes_nothing(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], home_dir: Path
) -> None:
    before = listing(local_agentcore)
    assert deployed["args"][-1] == "--debug"
    again = run_cli([*deployed["args"][:-1], "--json"], cwd=home_dir)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["writes"] == [] and doc["changed"] is False
    assert listing(local_agentcore) == before


def test_destroy_removes_its_resources_and_leaves_those_without_its_tags(
    local_agentcore: LocalAgentCoreHandle, deployed: dict[str, Any], home_dir: Path
) -> None:
    """Also test_deploy_oauth_secrets.py's former destroy test: once the two hand-made
    things are gone, the listing is the one from before the deploy."""
    record = deployed["record"]
    sm, s3 = local_agentcore.client("secretsmanager"), local_agentcore.client("s3")
    handmade = f"agentcore-mcp/{DEFAULT_NAME}/HANDMADE"  # in the prefix destroy sweeps
    sm.create_secret(Name=handmade, SecretString="made by hand")
    stray_key = f"{DEFAULT_NAME}/{'f' * 64}.zip"  # an artifact key, uploaded by hand
    s3.put_object(Bucket=record.bucket, Key=stray_key, Body=b"not the deployer's")
    got = run_cli(["destroy", "--yes", *_home(local_agentcore)], cwd=home_dir)
    assert got.returncode == 0, got.stderr
    assert f"left secret {sm.describe_secret(SecretId=handmade)['ARN']}" in got.stderr
    assert f"left s3://{record.bucket}/{stray_key}" in got.stderr
    assert "untagged" in got.stderr
    after = listing(local_agentcore)
    assert handmade in after["secrets"]
    # The bucket is the account's (shared with what other test modules deployed on this
    # worker's local AgentCore): what was there before, and the stray object, are left.
    before_keys = [k for k, _ in deployed["before"]["s3"].get(record.bucket, [])]
    assert sorted(k for k, _ in after["s3"][record.bucket]) == sorted([*before_keys, stray_key])
    assert DEFAULT_NAME not in after["runtimes"] and record.role.name not in after["iam"]
    assert record.secrets[SECRET_VAR].split(":secret:")[1][:-7] not in after["secrets"]
    assert KEY not in load_state(deployed["state"]).deployments
    sm.delete_secret(SecretId=handmade, ForceDeleteWithoutRecovery=True)
    s3.delete_object(Bucket=record.bucket, Key=stray_key)
    cleared = listing(local_agentcore)
    if record.bucket not in deployed["before"]["s3"]:
        # destroy deletes the shared bucket only when empty: the stray object kept it
        assert cleared["s3"].pop(record.bucket) == []
    assert cleared == deployed["before"]


def test_deploy_refuses_a_runtime_it_did_not_make_until_adopt(
    local_agentcore: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    name = "made_by_hand"
    made = local_agentcore.create_runtime(name)  # boto3, untagged
    before = listing(local_agentcore)
    state = tmp_path / "deployment_config.json"
    args = ["deploy", "--name", name, "--state", str(state), *_home(local_agentcore)]
    refused = run_cli([*args, "--debug"], cwd=tmp_path)
    assert refused.returncode == 6, refused.stderr
    assert made["agentRuntimeArn"] in refused.stderr
    assert "untagged" in refused.stderr and "--adopt" in refused.stderr
    assert _writes_in_debug(refused.stderr) == []
    assert listing(local_agentcore) == before and not state.exists()

    adopted = run_cli([*args, "--adopt"], cwd=tmp_path)
    assert adopted.returncode == 0, adopted.stderr
    assert f"adopted runtime {made['agentRuntimeArn']}" in adopted.stderr
    record = load_state(state).deployments[f"local/{REGION}/{name}"]
    assert record.runtime is not None and record.runtime.id == made["agentRuntimeId"]
    tags = local_agentcore.client("bedrock-agentcore-control").list_tags_for_resource(
        resourceArn=made["agentRuntimeArn"]
    )["tags"]
    assert tags[TAG_DEPLOYMENT_ID] == record.deployment_id

    # from another folder, by name: the tags say whose it is; --yes skips the question
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gone = run_cli(
        ["destroy", "--name", name, "--yes", *_home(local_agentcore)],
        cwd=elsewhere,
        input_text="",
    )
    assert gone.returncode == 0, gone.stderr
    assert name not in listing(local_agentcore)["runtimes"]
