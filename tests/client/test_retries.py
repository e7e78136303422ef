"""`client.retries`, the one retry policy, as both of its callers run it (the runtime
client's transport and the proxy's forwarder, each on its own HTTP client) against a real
loopback server that answers as the data plane does when it is cold, busy, throttling or
failing: bounded retries, then the same explanation."""

from __future__ import annotations

import json

import pytest

from agentcore_mcp.client.retries import retryable
from tests.support.data_plane import (
    BUSY,
    CALLERS,
    COLD,
    DENIED,
    OK,
    THROTTLED,
    Scripted,
    data_plane,
)

callers = pytest.mark.parametrize("caller", list(CALLERS))

INTERNAL: Scripted = (500, {"x-amzn-errortype": "InternalServerException"}, {
    "message": "Internal error"})  # fmt: skip
SERVER_500: Scripted = (500, {}, {"jsonrpc": "2.0", "id": 9, "error": {
    "code": -32603, "message": "the tool failed"}})  # fmt: skip


@callers
async def test_cold_start_throttle_and_conflict_are_retried(caller: str) -> None:
    with data_plane([COLD, THROTTLED, BUSY, OK]) as server:
        status, _, body = await CALLERS[caller](server.url)
        assert server.sent == [424, 429, 200, 200]
    assert status == 200 and json.loads(body)["result"] == {}


@callers
async def test_retries_are_bounded_and_end_in_a_clear_error(caller: str) -> None:
    with data_plane([COLD]) as server:
        status, headers, body = await CALLERS[caller](server.url)
        assert server.sent == [424] * 4
    assert status == 424 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["id"] == 9  # the request's id: the client can match the error
    assert "initialization time exceeded" in doc["error"]["message"]
    assert "logs" in doc["error"]["message"]  # what to do next


@callers
async def test_a_refusal_is_not_retried_and_is_explained(caller: str) -> None:
    with data_plane([DENIED, OK]) as server:
        status, _, body = await CALLERS[caller](server.url)
        assert server.sent == [403]
    assert status == 403
    assert "lacks bedrock-agentcore:InvokeAgentRuntime" in json.loads(body)["error"]["message"]


@callers
async def test_the_platforms_internal_error_is_retried_as_boto3_retries_it(caller: str) -> None:
    """botocore's standard mode retries InvokeAgentRuntime's InternalServerException; the
    runtime's own clients now do too (they did not)."""
    with data_plane([INTERNAL, INTERNAL, OK]) as server:
        status, _, body = await CALLERS[caller](server.url)
        assert server.sent == [500, 500, 200]
    assert status == 200 and json.loads(body)["result"] == {}


@callers
async def test_the_servers_own_500_is_not_retried(caller: str) -> None:
    """A 5xx without x-amzn-ErrorType is the answer of the server behind the runtime,
    which may have run the tool: sending it again could run it twice."""
    with data_plane([SERVER_500, OK]) as server:
        status, _, body = await CALLERS[caller](server.url)
        assert server.sent == [500]
    assert status == 500
    assert json.loads(body)["error"]["message"].startswith("the tool failed")


@pytest.mark.parametrize(
    ("status", "error_type", "retried"),
    [
        (424, "RuntimeClientError", True),  # a cold start: the call never reached the server
        (200, "RuntimeClientError", False),  # the tool's own failure
        (429, "ThrottlingException", True),
        (429, None, True),
        (200, "ThrottlingException", True),  # MCP's -32003
        (409, "RetryableConflictException", True),  # the model's retryable trait
        (200, "RetryableConflictException", True),  # MCP's -32005
        (409, "ConflictException", False),
        (402, "ServiceQuotaExceededException", False),
        (200, "ServiceQuotaExceededException", False),
        (500, "InternalServerException", True),
        (502, "InternalFailure", True),
        (503, None, True),
        (500, None, False),
        (504, None, False),
        (200, "InternalServerException", False),  # MCP's -32603: the call may have run
        (400, "ValidationException", False),
        (403, "AccessDeniedException", False),
        (404, "ResourceNotFoundException", False),
        (408, "RequestTimeoutException", True),  # botocore's transient codes
    ],
)
def test_what_is_retried(status: int, error_type: str | None, retried: bool) -> None:
    assert retryable(status, error_type) is retried
