"""The local bedrock-agentcore-control, driven by an unmodified boto3 client.

Real processes and sockets only: moto's server (IAM, S3) as a process, ControlPlaneApp
under uvicorn on 127.0.0.1, and `S3CheckingPreparer` (tests/local/control/harness.py)
as the artifact preparer.
"""

from __future__ import annotations

import itertools
import json
import re
import stat
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.local.control import RuntimeNotFound, RuntimeNotReady
from tests.local.control.harness import (
    PREPARE_DELAY_VAR,
    ControlPlaneServer,
    serve_control_plane,
)
from tests.support.local import TRUST_POLICY
from tests.support.moto import ACCOUNT_ID, MotoServer, run_moto

REGION = "us-east-1"
BUCKET = "agent-code"
KEY = "agents/tools.zip"
ARN_RE = re.compile(
    rf"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT_ID}:runtime/(?P<id>[a-zA-Z][a-zA-Z0-9_]{{0,47}}"
    r"-[a-zA-Z0-9]{10})"
)
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_names = itertools.count()


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto(tmp_path_factory.mktemp("moto"), region=REGION) as server:
        iam = server.client("iam")
        iam.create_role(RoleName="AgentRole", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
        iam.create_role(RoleName="LambdaRole", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"PK\x05\x06" + b"\x00" * 18)
        yield server


@pytest.fixture(scope="module")
def server(moto: MotoServer) -> Iterator[ControlPlaneServer]:
    with serve_control_plane(moto) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ControlPlaneServer) -> Any:
    return server.client()


ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/AgentRole"


def unique_name(stem: str = "agent") -> str:
    return f"{stem}_{next(_names)}_{int(time.time() * 1000) % 100000}"


def code_artifact(key: str = KEY) -> dict[str, Any]:
    return {
        "codeConfiguration": {
            "code": {"s3": {"bucket": BUCKET, "prefix": key}},
            "runtime": "PYTHON_3_12",
            "entryPoint": ["main.py"],
        }
    }


def runtime_request(name: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agentRuntimeName": name or unique_name(),
        "agentRuntimeArtifact": code_artifact(),
        "roleArn": ROLE_ARN,
        "protocolConfiguration": {"serverProtocol": "MCP"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def wait_status(client: Any, runtime_id: str, *statuses: str, **kw: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        got: dict[str, Any] = client.get_agent_runtime(agentRuntimeId=runtime_id, **kw)
        return got if got["status"] in statuses else None

    result: dict[str, Any] = wait_for(check)
    return result


def create_ready(client: Any, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = client.create_agent_runtime(**runtime_request(**overrides))
    wait_status(client, created["agentRuntimeId"], "READY")
    return created


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def expect_validation(client: Any, body: dict[str, Any], *fragments: str) -> str:
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.create_agent_runtime(**body)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert excinfo.value.response.get("reason") == "FieldValidationFailed"
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- create ---------------------------------------------------------------------------------


def test_create_goes_creating_then_ready(client: Any, server: ControlPlaneServer) -> None:
    before = datetime.now(UTC)
    name = unique_name()
    created = client.create_agent_runtime(
        **runtime_request(name, environmentVariables={"MODE": "test", PREPARE_DELAY_VAR: "0.5"})
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["status"] == "CREATING"
    assert created["agentRuntimeVersion"] == "1"
    match = ARN_RE.fullmatch(created["agentRuntimeArn"])
    assert match is not None and match["id"] == created["agentRuntimeId"]
    assert created["agentRuntimeId"].startswith(f"{name}-")
    # ISO 8601 timestamps parse back to aware datetimes.
    assert before - timedelta(seconds=5) <= created["createdAt"] <= datetime.now(UTC)
    with pytest.raises(RuntimeNotReady) as not_ready:
        server.registry.resolve_invocation(created["agentRuntimeArn"], None)
    assert not_ready.value.status == "CREATING"

    got = wait_status(client, created["agentRuntimeId"], "READY")
    assert got["agentRuntimeName"] == name
    assert got["agentRuntimeArtifact"] == code_artifact()
    assert got["roleArn"] == ROLE_ARN
    assert got["protocolConfiguration"] == {"serverProtocol": "MCP"}
    assert got["environmentVariables"]["MODE"] == "test"
    assert got["lifecycleConfiguration"] == {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800}
    assert got["networkConfiguration"] == {"networkMode": "PUBLIC"}
    assert "failureReason" not in got

    default = client.get_agent_runtime_endpoint(
        agentRuntimeId=created["agentRuntimeId"], endpointName="DEFAULT"
    )
    assert (default["status"], default["liveVersion"], default["targetVersion"]) == (
        "READY",
        "1",
        "1",
    )
    assert default["agentRuntimeEndpointArn"] == (
        f"{created['agentRuntimeArn']}/runtime-endpoint/DEFAULT"
    )

    resolved = server.registry.resolve_invocation(created["agentRuntimeArn"], None)
    assert (resolved.runtime_id, resolved.version, resolved.endpoint_name) == (
        created["agentRuntimeId"],
        "1",
        "DEFAULT",
    )
    assert resolved.config.protocol.port == 8000 and resolved.config.protocol.path == "/mcp"
    assert resolved.config.idle_timeout_seconds == 900
    by_id = server.registry.resolve_invocation(created["agentRuntimeId"], "1")
    assert by_id.version == "1" and by_id.config == resolved.config
    summary = {s.runtime_id: s for s in server.registry.runtimes()}[created["agentRuntimeId"]]
    assert summary.status == "READY" and summary.latest_version == "1"


def test_http_is_the_default_protocol(client: Any, server: ControlPlaneServer) -> None:
    created = create_ready(
        client,
        protocolConfiguration=None,
        agentRuntimeArtifact={
            "containerConfiguration": {
                "containerUri": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/tools:latest"
            }
        },
    )
    config = server.registry.resolve_invocation(created["agentRuntimeId"], None).config
    assert (config.protocol.server_protocol, config.protocol.port, config.protocol.path) == (
        "HTTP",
        8080,
        "/invocations",
    )


def test_create_fails_with_failure_reason(client: Any, server: ControlPlaneServer) -> None:
    created = client.create_agent_runtime(
        **runtime_request(agentRuntimeArtifact=code_artifact("agents/missing.zip"))
    )
    got = wait_status(client, created["agentRuntimeId"], "CREATE_FAILED")
    assert "s3://agent-code/agents/missing.zip" in got["failureReason"]
    default = client.get_agent_runtime_endpoint(
        agentRuntimeId=created["agentRuntimeId"], endpointName="DEFAULT"
    )
    assert default["status"] == "CREATE_FAILED" and "liveVersion" not in default
    with pytest.raises(RuntimeNotReady) as excinfo:
        server.registry.resolve_invocation(created["agentRuntimeArn"], "DEFAULT")
    assert excinfo.value.status == "CREATE_FAILED"
    assert "UpdateAgentRuntime" in str(excinfo.value)
    assert "missing.zip" in (excinfo.value.failure_reason or "")


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("my-agent", "no hyphens"),
        ("a" * 49, "49 characters long; the limit is 48"),
        ("1agent", "must start with a letter"),
        ("agent.v2", "only letters, digits and underscores"),
    ],
)
def test_runtime_name_rules(client: Any, name: str, fragment: str) -> None:
    message = expect_validation(client, runtime_request(name), "agentRuntimeName", fragment)
    assert name in message


def test_name_of_48_characters_is_fine(client: Any) -> None:
    name = f"a{next(_names)}".ljust(48, "x")
    created = client.create_agent_runtime(**runtime_request(name))
    assert created["agentRuntimeId"].startswith(name + "-")


def test_duplicate_name_is_a_conflict(client: Any) -> None:
    name = unique_name()
    client.create_agent_runtime(**runtime_request(name))
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.create_agent_runtime(**runtime_request(name))
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ConflictException", 409)
    assert name in message and "UpdateAgentRuntime" in message


def test_role_must_exist_and_trust_agentcore(client: Any) -> None:
    missing = f"arn:aws:iam::{ACCOUNT_ID}:role/NoSuchRole"
    expect_validation(client, runtime_request(roleArn=missing), "does not exist")
    lambda_role = f"arn:aws:iam::{ACCOUNT_ID}:role/LambdaRole"
    expect_validation(
        client,
        runtime_request(roleArn=lambda_role),
        "trust policy",
        "bedrock-agentcore.amazonaws.com",
    )
    expect_validation(client, runtime_request(roleArn="arn:aws:iam::role/x"), "roleArn")


def test_artifact_rules(client: Any, server: ControlPlaneServer) -> None:
    # botocore refuses two union members itself; other clients reach the server.
    both = {
        **code_artifact(),
        "containerConfiguration": {
            "containerUri": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/tools:1"
        },
    }
    raw = httpx2.put(
        f"{server.base_url}/runtimes/", json=runtime_request(agentRuntimeArtifact=both)
    )
    assert (raw.status_code, raw.headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert "exactly one" in raw.json()["message"]
    assert raw.json()["fieldList"][0]["name"] == "agentRuntimeArtifact"
    bad_uri = {"containerConfiguration": {"containerUri": "docker.io/library/python:3.12"}}
    expect_validation(client, runtime_request(agentRuntimeArtifact=bad_uri), "containerUri")
    bad_runtime = code_artifact()
    bad_runtime["codeConfiguration"]["runtime"] = "PYTHON_2_7"
    expect_validation(
        client, runtime_request(agentRuntimeArtifact=bad_runtime), "runtime", "PYTHON_2_7"
    )


def test_discovery_url_pattern(client: Any) -> None:
    auth = {
        "customJWTAuthorizer": {
            "discoveryUrl": "https://issuer.example.com/jwks.json",
            "allowedClients": ["abc"],
        }
    }
    expect_validation(
        client,
        runtime_request(authorizerConfiguration=auth),
        "discoveryUrl",
        ".well-known/openid-configuration",
    )
    good = {
        "customJWTAuthorizer": {
            "discoveryUrl": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/"
            ".well-known/openid-configuration",
            "allowedClients": ["abc"],
        }
    }
    created = client.create_agent_runtime(**runtime_request(authorizerConfiguration=good))
    got = client.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
    assert got["authorizerConfiguration"] == good


@pytest.mark.parametrize(
    ("lifecycle", "fragment"),
    [
        # botocore refuses < 60 itself; the model's max (1209600) is above the microVM limit.
        ({"idleRuntimeSessionTimeout": 30000}, "outside 60..28800"),
        ({"maxLifetime": 28801}, "outside 60..28800"),
        ({"idleRuntimeSessionTimeout": 600, "maxLifetime": 300}, "less than or equal"),
    ],
)
def test_lifecycle_bounds(client: Any, lifecycle: dict[str, int], fragment: str) -> None:
    expect_validation(
        client,
        runtime_request(lifecycleConfiguration=lifecycle),
        "lifecycleConfiguration",
        fragment,
    )


def test_lifecycle_defaults_fill_in(client: Any) -> None:
    created = client.create_agent_runtime(
        **runtime_request(lifecycleConfiguration={"maxLifetime": 300})
    )
    got = client.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
    assert got["lifecycleConfiguration"] == {"idleRuntimeSessionTimeout": 300, "maxLifetime": 300}


def test_port_rules(client: Any) -> None:
    expect_validation(
        client,
        runtime_request(protocolConfiguration={"serverProtocol": "MCP", "port": 8443}),
        "8443",
        "reserved",
    )
    # botocore checks the model's min/max itself; 7999 never leaves the client.
    created = client.create_agent_runtime(
        **runtime_request(
            protocolConfiguration={"serverProtocol": "MCP", "port": 9100, "path": "/tools/mcp"}
        )
    )
    got = client.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
    assert got["protocolConfiguration"] == {
        "serverProtocol": "MCP",
        "port": 9100,
        "path": "/tools/mcp",
    }


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Host", "restricted header (request context)"),
        ("cookie", "restricted header (cookies)"),
        ("X-Forwarded-For", "restricted header (proxy)"),
        ("Content-Type", "restricted header (content negotiation)"),
        ("X-Amz-Date", "x-amz-"),
        ("X-Amzn-Trace-Id", "x-amzn-"),
        ("X-Amzn-Bedrock-AgentCore-Runtime-Custom-", "x-amzn-"),
        ("Bad Header", "not a valid header name"),
    ],
)
def test_header_allowlist_refuses_restricted_names(client: Any, name: str, why: str) -> None:
    expect_validation(
        client,
        runtime_request(requestHeaderConfiguration={"requestHeaderAllowlist": [name]}),
        why,
    )


def test_header_allowlist_rules(client: Any) -> None:
    expect_validation(
        client,
        runtime_request(
            requestHeaderConfiguration={
                "requestHeaderAllowlist": [
                    f"X-Amzn-Bedrock-AgentCore-Runtime-Custom-H{i}" for i in range(21)
                ]
            }
        ),
        "at most 20",
    )
    expect_validation(
        client,
        runtime_request(
            requestHeaderConfiguration={"requestHeaderAllowlist": ["X-Api-Key", "x-api-key"]}
        ),
        "listed twice",
    )
    # Any valid, unrestricted name may now be listed, as well as the older prefix.
    allow = [
        "Authorization",
        "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant",
        "X-Api-Key",
        "X-Custom-Signature",
        "traceparent_x",
    ]
    created = create_ready(client, requestHeaderConfiguration={"requestHeaderAllowlist": allow})
    got = client.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
    assert got["requestHeaderConfiguration"] == {"requestHeaderAllowlist": allow}


def test_too_many_environment_variables(client: Any) -> None:
    env = {f"V{i}": "x" for i in range(51)}
    expect_validation(
        client, runtime_request(environmentVariables=env), "environmentVariables", "at most 50"
    )


# --- update, versions, endpoints -------------------------------------------------------


def test_update_makes_version_2_and_default_follows(
    client: Any, server: ControlPlaneServer
) -> None:
    created = create_ready(client)
    runtime_id = created["agentRuntimeId"]
    prod = client.create_agent_runtime_endpoint(
        agentRuntimeId=runtime_id, name="prod", agentRuntimeVersion="1", description="pinned"
    )
    assert prod["status"] == "CREATING" and prod["targetVersion"] == "1"

    new_config = runtime_request(
        None,
        agentRuntimeName=None,
        protocolConfiguration={"serverProtocol": "MCP", "port": 8100},
        environmentVariables={PREPARE_DELAY_VAR: "1.0"},
        description="second",
    )
    updated = client.update_agent_runtime(agentRuntimeId=runtime_id, **new_config)
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (updated["agentRuntimeVersion"], updated["status"]) == ("2", "UPDATING")
    assert client.get_agent_runtime(agentRuntimeId=runtime_id)["status"] == "UPDATING"
    default = client.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="DEFAULT")
    assert (default["status"], default["liveVersion"], default["targetVersion"]) == (
        "UPDATING",
        "1",
        "2",
    )
    # While UPDATING, DEFAULT keeps serving version 1.
    assert server.registry.resolve_invocation(runtime_id, None).version == "1"
    with pytest.raises(client.exceptions.ConflictException):
        client.update_agent_runtime(agentRuntimeId=runtime_id, **new_config)

    got = wait_status(client, runtime_id, "READY")
    assert got["agentRuntimeVersion"] == "2"
    assert got["protocolConfiguration"]["port"] == 8100
    default = client.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="DEFAULT")
    assert (default["status"], default["liveVersion"], default["targetVersion"]) == (
        "READY",
        "2",
        "2",
    )
    assert server.registry.resolve_invocation(runtime_id, "DEFAULT").config.protocol.port == 8100

    old = client.get_agent_runtime(agentRuntimeId=runtime_id, agentRuntimeVersion="1")
    assert old["agentRuntimeVersion"] == "1" and "port" not in old["protocolConfiguration"]
    assert "description" not in old

    versions = client.list_agent_runtime_versions(agentRuntimeId=runtime_id)["agentRuntimes"]
    assert [(v["agentRuntimeVersion"], v["status"]) for v in versions] == [
        ("2", "READY"),
        ("1", "READY"),
    ]
    assert versions[0]["description"] == "second"

    # The custom endpoint stays pinned to version 1 until it is updated.
    wait_for(
        lambda: (
            client.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="prod")[
                "status"
            ]
            == "READY"
        )
    )
    assert server.registry.resolve_invocation(runtime_id, "prod").version == "1"
    moved = client.update_agent_runtime_endpoint(
        agentRuntimeId=runtime_id, endpointName="prod", agentRuntimeVersion="2"
    )
    assert (moved["status"], moved["liveVersion"], moved["targetVersion"]) == ("UPDATING", "1", "2")
    wait_for(
        lambda: (
            client.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="prod")[
                "liveVersion"
            ]
            == "2"
        )
    )
    assert server.registry.resolve_invocation(runtime_id, "prod").version == "2"
    names = [
        e["name"]
        for e in client.list_agent_runtime_endpoints(agentRuntimeId=runtime_id)["runtimeEndpoints"]
    ]
    assert names == ["DEFAULT", "prod"]


def test_failed_update_keeps_default_on_last_good_version(
    client: Any, server: ControlPlaneServer
) -> None:
    created = create_ready(client)
    runtime_id = created["agentRuntimeId"]
    client.update_agent_runtime(
        agentRuntimeId=runtime_id,
        **runtime_request(
            agentRuntimeName=None, agentRuntimeArtifact=code_artifact("agents/gone.zip")
        ),
    )
    got = wait_status(client, runtime_id, "UPDATE_FAILED")
    assert got["agentRuntimeVersion"] == "2" and "gone.zip" in got["failureReason"]
    default = client.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="DEFAULT")
    assert (default["status"], default["liveVersion"], default["targetVersion"]) == (
        "UPDATE_FAILED",
        "1",
        "2",
    )
    assert "gone.zip" in default["failureReason"]
    assert server.registry.resolve_invocation(runtime_id, None).version == "1"
    with pytest.raises(RuntimeNotReady):
        server.registry.resolve_invocation(runtime_id, "2")
    # A failed version cannot back an endpoint; the next update recovers.
    with pytest.raises(client.exceptions.ValidationException):
        client.create_agent_runtime_endpoint(
            agentRuntimeId=runtime_id, name="canary", agentRuntimeVersion="2"
        )
    client.update_agent_runtime(agentRuntimeId=runtime_id, **runtime_request(agentRuntimeName=None))
    assert wait_status(client, runtime_id, "READY")["agentRuntimeVersion"] == "3"
    assert server.registry.resolve_invocation(runtime_id, None).version == "3"


def test_default_endpoint_is_managed(client: Any) -> None:
    created = create_ready(client)
    runtime_id = created["agentRuntimeId"]
    with pytest.raises(client.exceptions.ConflictException) as deleting:
        client.delete_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="DEFAULT")
    assert "delete the agent runtime" in error_of(deleting)[1]
    with pytest.raises(client.exceptions.ValidationException) as updating:
        client.update_agent_runtime_endpoint(
            agentRuntimeId=runtime_id, endpointName="DEFAULT", agentRuntimeVersion="1"
        )
    assert "latest version" in error_of(updating)[1]
    with pytest.raises(client.exceptions.ConflictException):
        client.create_agent_runtime_endpoint(agentRuntimeId=runtime_id, name="DEFAULT")
    with pytest.raises(client.exceptions.ValidationException):
        client.create_agent_runtime_endpoint(
            agentRuntimeId=runtime_id, name="beta", agentRuntimeVersion="7"
        )


# --- delete -----------------------------------------------------------------------------------


def test_delete_goes_deleting_then_not_found(client: Any, server: ControlPlaneServer) -> None:
    created = create_ready(client)
    runtime_id = created["agentRuntimeId"]
    client.create_agent_runtime_endpoint(agentRuntimeId=runtime_id, name="staging")
    with pytest.raises(client.exceptions.ConflictException) as blocked:
        client.delete_agent_runtime(agentRuntimeId=runtime_id)
    assert "staging" in error_of(blocked)[1]
    gone = client.delete_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="staging")
    assert gone["status"] == "DELETING"

    deleted = client.delete_agent_runtime(agentRuntimeId=runtime_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (deleted["status"], deleted["agentRuntimeId"]) == ("DELETING", runtime_id)

    def is_gone() -> bool:
        try:
            client.get_agent_runtime(agentRuntimeId=runtime_id)
        except client.exceptions.ResourceNotFoundException:
            return True
        return False

    wait_for(is_gone)
    assert runtime_id in server.deleted
    with pytest.raises(RuntimeNotFound):
        server.registry.resolve_invocation(created["agentRuntimeArn"], None)
    listed = [r["agentRuntimeId"] for r in client.list_agent_runtimes()["agentRuntimes"]]
    assert runtime_id not in listed
    # The name is free again.
    client.create_agent_runtime(**runtime_request(runtime_id.rsplit("-", 1)[0]))


def test_unknown_ids_are_not_found(client: Any) -> None:
    missing = "nothing_here-AbCdE12345"
    calls: list[Callable[[], Any]] = [
        lambda: client.get_agent_runtime(agentRuntimeId=missing),
        lambda: client.delete_agent_runtime(agentRuntimeId=missing),
        lambda: client.update_agent_runtime(
            agentRuntimeId=missing, **runtime_request(agentRuntimeName=None)
        ),
        lambda: client.list_agent_runtime_versions(agentRuntimeId=missing),
        lambda: client.get_agent_runtime_endpoint(agentRuntimeId=missing, endpointName="DEFAULT"),
    ]
    for call in calls:
        with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
            call()
        assert error_of(excinfo)[2] == 404


def test_unknown_path_and_verb_are_parseable_errors(server: ControlPlaneServer) -> None:
    for method, path, status in [
        ("GET", "/runtimes/", 405),
        ("GET", "/runtimes/x-AbCdE12345/unknown/", 404),
        ("POST", "/runtimes/x-AbCdE12345/", 405),
    ]:
        response = httpx2.request(method, f"{server.base_url}{path}")
        assert response.status_code == status
        assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
        assert response.json()["message"]
    bad_json = httpx2.put(f"{server.base_url}/runtimes/", content=b"{nope")
    assert bad_json.status_code == 400
    assert bad_json.headers["x-amzn-errortype"] == "ValidationException"
    assert bad_json.json()["reason"] == "CannotParse"


# --- pagination, idempotency ------------------------------------------------------------------


def test_pagination(client: Any) -> None:
    created = [
        client.create_agent_runtime(**runtime_request(unique_name("paged"))) for _ in range(5)
    ]
    ids = {c["agentRuntimeId"] for c in created}
    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = client.list_agent_runtimes(**kwargs)
        pages += 1
        assert len(page["agentRuntimes"]) <= 2
        seen += [r["agentRuntimeId"] for r in page["agentRuntimes"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert ids <= set(seen) and len(seen) == len(set(seen)) and pages >= 3
    paginated = [
        r["agentRuntimeId"]
        for p in client.get_paginator("list_agent_runtimes").paginate(
            PaginationConfig={"PageSize": 3}
        )
        for r in p["agentRuntimes"]
    ]
    assert paginated == seen
    with pytest.raises(client.exceptions.ValidationException):
        client.list_agent_runtimes(nextToken="not-a-token")

    runtime_id = created[0]["agentRuntimeId"]
    wait_status(client, runtime_id, "READY")
    for _ in range(2):
        client.update_agent_runtime(
            agentRuntimeId=runtime_id, **runtime_request(agentRuntimeName=None)
        )
        wait_status(client, runtime_id, "READY")
    first = client.list_agent_runtime_versions(agentRuntimeId=runtime_id, maxResults=2)
    rest = client.list_agent_runtime_versions(
        agentRuntimeId=runtime_id, maxResults=2, nextToken=first["nextToken"]
    )
    assert [v["agentRuntimeVersion"] for v in first["agentRuntimes"] + rest["agentRuntimes"]] == [
        "3",
        "2",
        "1",
    ]
    assert "nextToken" not in rest


def test_client_token_idempotency(client: Any) -> None:
    token = "idempotency-token-" + "a" * 20
    body = runtime_request(unique_name("idem"), clientToken=token)
    first = client.create_agent_runtime(**body)
    again = client.create_agent_runtime(**body)
    assert again["agentRuntimeArn"] == first["agentRuntimeArn"]
    assert again["createdAt"] == first["createdAt"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.create_agent_runtime(**{**body, "description": "changed"})
    assert excinfo.value.response["reason"] == "IdempotentParameterMismatchException"
    # Without a shared token, the same request is a second create: a name conflict.
    with pytest.raises(client.exceptions.ConflictException):
        client.create_agent_runtime(**{k: v for k, v in body.items() if k != "clientToken"})


# --- persistence -----------------------------------------------------------------------------


def test_registry_survives_a_restart(moto: MotoServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with serve_control_plane(moto, persist_dir=state) as first:
        client = first.client()
        ready = create_ready(
            client,
            environmentVariables={"GREETING": "hello"},
            clientToken="persist-token-" + "b" * 24,
        )
        client.create_agent_runtime_endpoint(
            agentRuntimeId=ready["agentRuntimeId"], name="pinned", agentRuntimeVersion="1"
        )
        wait_for(
            lambda: (
                client.get_agent_runtime_endpoint(
                    agentRuntimeId=ready["agentRuntimeId"], endpointName="pinned"
                )["status"]
                == "READY"
            )
        )
        slow = client.create_agent_runtime(
            **runtime_request(environmentVariables={PREPARE_DELAY_VAR: "60"})
        )
        assert client.get_agent_runtime(agentRuntimeId=slow["agentRuntimeId"])["status"] == (
            "CREATING"
        )

    saved = state / "runtimes.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    assert "persist-token" not in text  # client tokens are never stored
    assert not list(state.glob(".*.tmp"))

    with serve_control_plane(moto, persist_dir=state) as second:
        client = second.client()
        got = client.get_agent_runtime(agentRuntimeId=ready["agentRuntimeId"])
        assert got["status"] == "READY" and got["agentRuntimeArn"] == ready["agentRuntimeArn"]
        assert got["environmentVariables"] == {"GREETING": "hello"}
        resolved = second.registry.resolve_invocation(ready["agentRuntimeArn"], "pinned")
        assert resolved.version == "1" and resolved.config.environment["GREETING"] == "hello"
        interrupted = client.get_agent_runtime(agentRuntimeId=slow["agentRuntimeId"])
        assert interrupted["status"] == "CREATE_FAILED"
        assert "interrupted by a local AgentCore restart" in interrupted["failureReason"]
        # A retry through UpdateAgentRuntime brings it up.
        client.update_agent_runtime(
            agentRuntimeId=slow["agentRuntimeId"], **runtime_request(agentRuntimeName=None)
        )
        assert wait_status(client, slow["agentRuntimeId"], "READY")["agentRuntimeVersion"] == "2"
        client.delete_agent_runtime_endpoint(
            agentRuntimeId=ready["agentRuntimeId"], endpointName="pinned"
        )
        client.delete_agent_runtime(agentRuntimeId=ready["agentRuntimeId"])
        wait_for(lambda: ready["agentRuntimeId"] in second.deleted)

    with serve_control_plane(moto, persist_dir=state) as third:
        ids = {s.runtime_id for s in third.registry.runtimes()}
        assert ids == {slow["agentRuntimeId"]}
