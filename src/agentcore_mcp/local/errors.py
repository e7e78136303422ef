"""The data plane's error mapping, from the contract's tables (section 3).

MCP runtimes answer most failures as HTTP 200 with a JSON-RPC error (the platform's
fixed messages); 401, 403 and 406 keep their status. Every error also carries
`x-amzn-ErrorType`, so boto3 raises the matching exception for the statuses it sees
as errors. Non-MCP runtimes get the plain API form: status + `{"message": ...}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


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


class DataPlaneError(Exception):
    """A refusal with its exception name; `detail` says what happened and what to do."""

    def __init__(
        self,
        error_type: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.error_type = error_type
        self.detail = detail
        self.headers = headers or {}
        self.status_override = status

    def render(self, *, mcp: bool, request_id: object = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"content-type": "application/json", "x-amzn-errortype": self.error_type}
        headers.update(self.headers)
        if mcp and self.error_type in MCP_ERRORS:
            m = MCP_ERRORS[self.error_type]
            body = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": m.code, "message": m.message, "data": {"detail": self.detail}},
            }
            return self.status_override or m.status, headers, json.dumps(body).encode()
        status = self.status_override or API_STATUS.get(self.error_type, 500)
        return status, headers, json.dumps({"message": self.detail}).encode()


# The platform's own text for a slow start; it is not in the JSON-RPC form.
STARTUP_TIMEOUT_MESSAGE = (
    "Runtime initialization time exceeded. Please make sure that initialization completes in 30s."
)
