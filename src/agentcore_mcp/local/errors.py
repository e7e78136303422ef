"""AgentCore Runtime's service errors, one class per modelled exception, for both the
control plane and the data plane of the local AgentCore.

Each is an `agentcore_mcp.errors.AwsServiceError`, rendered by its one `render()`: the
control plane answers with the rest-json form (status, `x-amzn-ErrorType`, every
modelled member), which botocore reads as `client.exceptions.<Name>`. The data plane
(the contract's tables, section 3) answers MCP runtimes' failures mostly as HTTP 200 with
a JSON-RPC error (the platform's fixed messages; 401, 403 and 406 keep their status),
every one with `x-amzn-ErrorType`; non-MCP runtimes get status + `{"message": ...}`.
"""

from __future__ import annotations

from typing import Any

from agentcore_mcp.errors import MCP_ERRORS, AwsServiceError, McpMapping, aws_json_error

__all__ = [
    "API_STATUS",
    "MCP_ERRORS",
    "STARTUP_TIMEOUT_MESSAGE",
    "AccessDeniedError",
    "ConflictError",
    "DataPlaneError",
    "InternalServerError",
    "McpMapping",
    "McpRequestUnacceptableError",
    "ResourceNotFoundError",
    "RuntimeClientError",
    "ServiceQuotaExceededError",
    "StartupTimeoutError",
    "ThrottlingError",
    "UnauthorizedError",
    "UnknownOperationError",
    "ValidationError",
    "aws_json_error",
]

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

# The data plane's refusals are the service's errors: one type for both planes.
DataPlaneError = AwsServiceError


class ValidationError(AwsServiceError):
    """400 ValidationException; `reason` is one of the model's ValidationExceptionReason,
    `field` the member it concerns (the control plane's `fieldList`)."""

    code = "ValidationException"
    default_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str = "FieldValidationFailed",
        status: int | None = None,
        headers: dict[str, str] | None = None,
        mcp: bool = False,
    ) -> None:
        super().__init__(message, status=status, headers=headers, mcp=mcp)
        self.field = field
        self.reason = reason

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "reason": self.reason}
        if self.field is not None:
            out["fieldList"] = [{"name": self.field, "message": self.message}]
        return out


class UnauthorizedError(AwsServiceError):
    code = "UnauthorizedException"
    default_status = 401


class AccessDeniedError(AwsServiceError):
    code = "AccessDeniedException"
    default_status = 403


class McpRequestUnacceptableError(AwsServiceError):
    code = "McpRequestUnacceptable"
    default_status = 406


class ThrottlingError(AwsServiceError):
    code = "ThrottlingException"
    default_status = 429


class ServiceQuotaExceededError(AwsServiceError):
    code = "ServiceQuotaExceededException"
    default_status = 402


class ResourceNotFoundError(AwsServiceError):
    code = "ResourceNotFoundException"
    default_status = 404


class ConflictError(AwsServiceError):
    code = "ConflictException"
    default_status = 409


class RuntimeClientError(AwsServiceError):
    code = "RuntimeClientError"
    default_status = 424


class InternalServerError(AwsServiceError):
    code = "InternalServerException"
    default_status = 500


class UnknownOperationError(AwsServiceError):
    """A path or verb under /runtimes that no control-plane operation has (404, or 405)."""

    code = "UnknownOperationException"
    default_status = 404


class StartupTimeoutError(RuntimeClientError):
    """The instance did not listen in time: 424 with the platform's own text, which is
    not in the JSON-RPC form even for MCP runtimes [O]."""

    def render(
        self, *, mcp: bool | None = None, request_id: object = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers, payload = aws_json_error(self.code, STARTUP_TIMEOUT_MESSAGE)
        return 424, headers, payload


# The platform's own text for a slow start; it is not in the JSON-RPC form.
STARTUP_TIMEOUT_MESSAGE = (
    "Runtime initialization time exceeded. Please make sure that initialization completes in 30s."
)
