"""The package's one error model: every error a user can meet derives from
`AgentCoreMcpError`, which carries the exit code the CLI ends with, and its message says
what to do next. The CLI maps any error to its message and exit code in one place
(`agentcore_mcp.cli.errors`), as aws-cli's driver does.

`AwsServiceError` is the one AWS service error (what boto3 raises as
`client.exceptions.<code>`): the local AgentCore's control and data plane both answer
with it, through one renderer.

Ground floor: standard library and `exit_codes` only, so auth/ and the lean server
entry may import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from agentcore_mcp.exit_codes import ExitCode

__all__ = [
    "MCP_ERRORS",
    "AgentCoreMcpError",
    "AwsServiceError",
    "McpMapping",
    "aws_json_error",
    "aws_json_error_fields",
]


class AgentCoreMcpError(Exception):
    """An error of agentcore-mcp; the message says what happened and what to do next.

    `exit_code` is the code the CLI ends with: each family sets its own (6, a setting
    that cannot be used, unless it says otherwise).
    """

    exit_code: int = ExitCode.CONFIG_ERROR


def aws_json_error(error_type: str, message: str) -> tuple[dict[str, str], bytes]:
    """The one shape of an AWS rest-json error: boto3 reads the exception name from
    `x-amzn-ErrorType` and the text from the body's `message`."""
    return aws_json_error_fields(error_type, {"message": message})


def aws_json_error_fields(error_type: str, fields: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """`aws_json_error` with more modelled members than `message` (ValidationException's
    `reason` and `fieldList`)."""
    headers = {"content-type": "application/json", "x-amzn-errortype": error_type}
    return headers, json.dumps(fields).encode()


@dataclass(frozen=True, slots=True)
class McpMapping:
    code: int
    status: int
    message: str


# The data plane's mapping for MCP runtimes (AgentCore's contract, section 3): exception
# name -> (JSON-RPC code, HTTP status, the platform's fixed message).
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


class AwsServiceError(AgentCoreMcpError):
    """An AWS service's error answer: `code` is the modelled exception name
    (`x-amzn-ErrorType`), `message` its text, `status` the HTTP status.

    `render()` is the whole answer (status, headers, body) in the two shapes AgentCore
    answers with: an API's rest-json error (the control plane; `fields()` holds the
    modelled members), or an invocation's (the data plane: the JSON-RPC form for MCP
    runtimes, else status + `{"message": ...}`). A CLI that meets one exits 7 (an AWS
    call failed), or 5 on a 401 / 403 (`agentcore_mcp.cli.errors`).
    """

    code: ClassVar[str] = "InternalServerException"
    default_status: ClassVar[int] = 500
    exit_code = ExitCode.DEPLOY_FAILED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        mcp: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.default_status
        # Given by the raiser: it wins over the JSON-RPC form's status too.
        self.status_given = status
        # Extra response headers (WWW-Authenticate, ...).
        self.headers = dict(headers or {})
        # Data plane: known to concern an MCP invocation before the runtime was resolved.
        self.mcp = mcp

    # The name both former hierarchies used for `code`.
    @property
    def error_type(self) -> str:
        return self.code

    def fields(self) -> dict[str, Any]:
        """The rest-json body: `message`, and the members a subclass's model adds."""
        return {"message": self.message}

    def render(
        self, *, mcp: bool | None = None, request_id: object = None
    ) -> tuple[int, dict[str, str], bytes]:
        """The answer. `mcp` None: an API's (every modelled member). `mcp` True / False:
        an invocation's, for an MCP runtime (JSON-RPC, `request_id` its id) or another."""
        if mcp and self.code in MCP_ERRORS:
            m = MCP_ERRORS[self.code]
            headers = {"content-type": "application/json", "x-amzn-errortype": self.code}
            headers.update(self.headers)
            body = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": m.code, "message": m.message, "data": {"detail": self.message}},
            }
            return self.status_given or m.status, headers, json.dumps(body).encode()
        fields = self.fields() if mcp is None else {"message": self.message}
        headers, payload = aws_json_error_fields(self.code, fields)
        headers.update(self.headers)
        return self.status, headers, payload

    def __str__(self) -> str:
        return self.message
