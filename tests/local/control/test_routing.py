"""The control plane's routing, read from botocore's model (`local/control/routing.py`).

Every operation the local control plane implements is serialized by botocore's own
rest-json serializer (what boto3 sends) and must route to itself, its path labels
decoded; paths and verbs of no operation keep their 404 / 405 UnknownOperationException.
End to end through uvicorn and boto3: tests/local/control/test_control_plane.py.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from botocore.serialize import create_serializer
from botocore.validate import validate_parameters

from agentcore_mcp.local.control import ControlPlaneApp, RuntimeRegistry
from agentcore_mcp.local.control.errors import UnknownOperationError
from agentcore_mcp.local.control.routing import match_route, routes_for
from agentcore_mcp.runtime_rules import SERVICE, service_model

REGION = "us-east-1"
ACCOUNT = "123456789012"
RUNTIME_ID = "agent_one-AbCdE12345"
ARN = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/{RUNTIME_ID}"
# Values for every required member the supported operations have.
SAMPLE: dict[str, Any] = {
    "agentRuntimeId": RUNTIME_ID,
    "endpointName": "prod_1",
    "name": "prod_1",
    "resourceArn": ARN,
    "agentRuntimeName": "agent_one",
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/AgentRole",
    "networkConfiguration": {"networkMode": "PUBLIC"},
    "agentRuntimeArtifact": {
        "codeConfiguration": {
            "code": {"s3": {"bucket": "agent-code", "prefix": "tools.zip"}},
            "runtime": "PYTHON_3_12",
            "entryPoint": ["main.py"],
        }
    },
    "protocolConfiguration": {"serverProtocol": "MCP"},
    "tags": {"team": "a"},
    "tagKeys": ["team", "cost"],
}


class _NoRoleCheck:
    async def __call__(self, role_arn: str) -> str | None:
        return None


class _NoPreparation:
    async def prepare(self, runtime_id: str, version: str, config: Any) -> None:
        return None


def _app() -> ControlPlaneApp:
    registry = RuntimeRegistry(region=REGION, account_id=ACCOUNT)
    return ControlPlaneApp(registry, role_checker=_NoRoleCheck(), preparer=_NoPreparation())


def _serialized(operation: str) -> dict[str, Any]:
    """The request botocore builds for `operation` (method, url_path, query, body)."""
    model = service_model(SERVICE).operation_model(operation)
    members = model.input_shape.members if model.input_shape is not None else {}
    params = {name: SAMPLE[name] for name in model.input_shape.required_members}
    params.update(
        {name: SAMPLE[name] for name in ("protocolConfiguration", "tags") if name in members}
    )
    validate_parameters(params, model.input_shape)  # raises on a sample the model refuses
    request: dict[str, Any] = create_serializer("rest-json").serialize_to_request(params, model)
    return request


OPERATIONS = sorted(_app().operations)


def test_the_routes_are_every_runtime_operation_of_the_model() -> None:
    """The control plane gets the gateway's /runtimes and /tags requests: it implements
    every operation the model has there (a new one in a botocore release fails here)."""
    model = service_model(SERVICE)
    there = {
        name
        for name in model.operation_names
        if model.operation_model(name).http["requestUri"].startswith(("/runtimes", "/tags"))
    }
    assert set(OPERATIONS) == there
    assert len(OPERATIONS) == 14


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_routes_to_itself(operation: str) -> None:
    request = _serialized(operation)
    route, params = match_route(
        routes_for(frozenset(OPERATIONS)), request["method"], request["url_path"]
    )
    assert route.operation == operation
    for label, value in params.items():
        assert value == SAMPLE[label], (label, request["url_path"])
    if "resourceArn" in params:  # botocore encodes the ARN's slash: one segment
        assert "%2F" in request["url_path"]


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_each_operation_reaches_its_handler(operation: str) -> None:
    """Through the ASGI app: no operation is answered UnknownOperationException."""
    request = _serialized(operation)
    transport = httpx2.ASGITransport(app=_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://control") as client:
        response = await client.request(
            request["method"],
            request["url_path"],
            params=request["query_string"] or None,
            content=request["body"] or b"",
            headers={"content-type": "application/json"},
        )
    assert response.headers.get("x-amzn-errortype") != "UnknownOperationException", (
        operation,
        response.text,
    )
    if operation == "CreateAgentRuntime":
        assert response.status_code == 202 and response.json()["agentRuntimeId"]
    elif operation == "ListAgentRuntimes":
        assert response.status_code == 200 and response.json() == {"agentRuntimes": []}
    else:  # the runtime does not exist in a fresh registry
        assert response.headers["x-amzn-errortype"] == "ResourceNotFoundException", response.text


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/", 404, "No bedrock-agentcore-control operation at /."),
        ("GET", "/runtimes/x-AbCdE12345/unknown/", 404, "at /runtimes/x-AbCdE12345/unknown/."),
        ("GET", "/runtimes/a/runtime-endpoints/b/c/", 404, "operation at"),
        ("GET", "/tags/", 404, "operation at /tags/."),
        ("GET", "/capacity-providers/p/runtime-versions", 404, "operation at"),
        ("GET", "/runtimes/", 405, "GET is not supported on /runtimes/; use POST, PUT."),
        ("POST", "/runtimes/x-AbCdE12345/", 405, "; use DELETE, GET, PUT."),
        ("PATCH", "/runtimes/x-AbCdE12345/versions/", 405, "; use POST."),
        ("PUT", f"/tags/{ARN.replace('/', '%2F')}", 405, "; use DELETE, GET, POST."),
    ],
)
async def test_unknown_paths_and_verbs(method: str, path: str, status: int, message: str) -> None:
    with pytest.raises(UnknownOperationError) as excinfo:
        match_route(routes_for(frozenset(OPERATIONS)), method, path)
    assert excinfo.value.status == status
    assert message in excinfo.value.message
    transport = httpx2.ASGITransport(app=_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://control") as client:
        response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert message in response.json()["message"]


async def test_an_encoded_slash_stays_in_its_segment() -> None:
    """`/runtimes/a%2Fb/` is GetAgentRuntime of the id `a/b` (refused as an id), never a
    path of more segments."""
    route, params = match_route(routes_for(frozenset(OPERATIONS)), "GET", "/runtimes/a%2Fb/")
    assert (route.operation, dict(params)) == ("GetAgentRuntime", {"agentRuntimeId": "a/b"})
    transport = httpx2.ASGITransport(app=_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://control") as client:
        response = await client.get("/runtimes/a%2Fb/")
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"


def test_an_operation_the_model_lacks_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="no operation InvokeNothing"):
        routes_for(frozenset({"GetAgentRuntime", "InvokeNothing"}))
