"""Error types of the control plane.

The API errors are AgentCore's service errors (`agentcore_mcp.local.errors`, one class
per modelled exception for both planes): the handler renders each with its `render()`,
the rest-json form (status code, `x-amzn-ErrorType: <Name>` header, body
`{"message": ...}` plus the modelled members), which botocore's parser reads as
`client.exceptions.<Name>`.

`RuntimeNotFound`, `RuntimeNotReady` and `ArtifactError` are for the other rooms of the
local AgentCore (data plane, artifact preparation); they never reach the wire as-is.
"""

from __future__ import annotations

from agentcore_mcp.errors import AgentCoreMcpError, AwsServiceError
from agentcore_mcp.local.errors import (
    ConflictError,
    InternalServerError,
    ResourceNotFoundError,
    UnknownOperationError,
    ValidationError,
)

__all__ = [
    "ArtifactError",
    "ConflictError",
    "ControlPlaneError",
    "InternalServerError",
    "RegistryLoadError",
    "ResourceNotFoundError",
    "RuntimeNotFound",
    "RuntimeNotReady",
    "UnknownOperationError",
    "ValidationError",
]

# Every API error of the control plane is a service error.
ControlPlaneError = AwsServiceError


class RuntimeNotFound(LookupError):
    """resolve_invocation: no such runtime, endpoint or version."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RuntimeNotReady(Exception):
    """resolve_invocation: the runtime exists but has nothing that can serve yet.

    `status` is the runtime's (or the endpoint's) status, e.g. CREATING or CREATE_FAILED;
    the message says what to do about it. `server_protocol` is the runtime's latest
    version's (MCP, HTTP, A2A), so that the refusal takes that protocol's form.
    """

    def __init__(
        self,
        message: str,
        *,
        runtime_id: str,
        status: str,
        failure_reason: str | None = None,
        server_protocol: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.runtime_id = runtime_id
        self.status = status
        self.failure_reason = failure_reason
        self.server_protocol = server_protocol

    def __str__(self) -> str:
        return self.message


class ArtifactError(Exception):
    """An artifact cannot run; `failure_reason` becomes the runtime's failureReason."""

    def __init__(self, failure_reason: str) -> None:
        super().__init__(failure_reason)
        self.failure_reason = failure_reason

    def __str__(self) -> str:
        return self.failure_reason


class RegistryLoadError(AgentCoreMcpError):
    """The persisted registry file exists but cannot be read back."""
