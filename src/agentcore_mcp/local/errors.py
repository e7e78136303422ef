"""The data plane's error mapping, from the contract's tables (section 3).

MCP runtimes answer most failures as HTTP 200 with a JSON-RPC error (the platform's
fixed messages); 401, 403 and 406 keep their status. Every error also carries
`x-amzn-ErrorType`, so boto3 raises the matching exception for the statuses it sees
as errors. Non-MCP runtimes get the plain API form: status + `{"message": ...}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class McpMapping:
    code: int
    status: int
    message: str


# exception name → (JSON-RPC code, HTTP status for MCP runtimes, fixed platform message)
MCP_ERRORS: dict[str, McpMapping] = {
    "UnauthorizedException": McpMapping(-32001, 401, "Unauthorized"),
    "AccessDeniedException": McpMapping(-32002, 403, "Access denied"),
    "McpRequestUnacceptable": McpMapping(
        -32011,
        406,
        "Not Acceptable: Client must accept both application/json and text/event-stream",
    ),
    "ThrottlingException": McpMapping(-32003, 200, "Rate limit exceeded - Too many requests"),
    "ServiceQuotaExceededException": McpMapping(
        -32003, 200, "Rate limit exceeded - Too many requests"
    ),
    "ResourceNotFoundException": McpMapping(
        -32004, 200, "Resource not found - Requested resource does not exist"
    ),
    "ConflictException": McpMapping(-32005, 200, "Resource conflict - Resource already exists"),
    "RetryableConflictException": McpMapping(
        -32005, 200, "Session operation in progress, please retry"
    ),
    "ValidationException": McpMapping(-32006, 200, "Validation error - Invalid request data"),
    "RuntimeClientError": McpMapping(
        -32010,
        200,
        "Tool execution error - Please check your CloudWatch logs for more information",
    ),
    "InternalServerException": McpMapping(-32603, 200, "Internal error - Server error"),
}

API_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "UnauthorizedException": 401,
    "ServiceQuotaExceededException": 402,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "McpRequestUnacceptable": 406,
    "ConflictException": 409,
    "RetryableConflictException": 409,
    "RuntimeClientError": 424,
    "ThrottlingException": 429,
    "InternalServerException": 500,
}


def aws_json_error(error_type: str, message: str) -> tuple[dict[str, str], bytes]:
    """The one shape of an AWS rest-json error in the local AgentCore: boto3 reads the
    exception name from `x-amzn-ErrorType` and the text from the body's `message`."""
    headers = {"content-type": "application/json", "x-amzn-errortype": error_type}
    return headers, json.dumps({"message": message}).encode()


class DataPlaneError(Exception):
    """A refusal of the data plane; `detail` says what happened and what to do.

    Each subclass is one of the service's exceptions (`error_type`), rendered with the
    contract's mapping: the JSON-RPC form for MCP runtimes, the plain API form otherwise.
    """

    error_type: ClassVar[str] = "InternalServerException"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        mcp: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.status_override = status
        # Known to concern an MCP invocation before the runtime was resolved.
        self.mcp = mcp

    def render(self, *, mcp: bool, request_id: object = None) -> tuple[int, dict[str, str], bytes]:
        if mcp and self.error_type in MCP_ERRORS:
            m = MCP_ERRORS[self.error_type]
            headers = {"content-type": "application/json", "x-amzn-errortype": self.error_type}
            headers.update(self.headers)
            body = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": m.code, "message": m.message, "data": {"detail": self.detail}},
            }
            return self.status_override or m.status, headers, json.dumps(body).encode()
        headers, payload = aws_json_error(self.error_type, self.detail)
        headers.update(self.headers)
        return self.status_override or API_STATUS.get(self.error_type, 500), headers, payload


class ValidationError(DataPlaneError):
    error_type = "ValidationException"


class UnauthorizedError(DataPlaneError):
    error_type = "UnauthorizedException"


class AccessDeniedError(DataPlaneError):
    error_type = "AccessDeniedException"


class McpRequestUnacceptableError(DataPlaneError):
    error_type = "McpRequestUnacceptable"


class ThrottlingError(DataPlaneError):
    error_type = "ThrottlingException"


class ServiceQuotaExceededError(DataPlaneError):
    error_type = "ServiceQuotaExceededException"


class ResourceNotFoundError(DataPlaneError):
    error_type = "ResourceNotFoundException"


class RuntimeClientError(DataPlaneError):
    error_type = "RuntimeClientError"


class InternalServerError(DataPlaneError):
    error_type = "InternalServerException"


class StartupTimeoutError(RuntimeClientError):
    """The instance did not listen in time: 424 with the platform's own text, which is
    not in the JSON-RPC form even for MCP runtimes [O]."""

    def render(self, *, mcp: bool, request_id: object = None) -> tuple[int, dict[str, str], bytes]:
        headers, payload = aws_json_error(self.error_type, STARTUP_TIMEOUT_MESSAGE)
        return 424, headers, payload


# The platform's own text for a slow start; it is not in the JSON-RPC form.
STARTUP_TIMEOUT_MESSAGE = (
    "Runtime initialization time exceeded. Please make sure that initialization completes in 30s."
)
