"""Error types of the control plane.

`ControlPlaneError` subclasses are API errors: the handler turns each into the
rest-json error form (status code, `x-amzn-ErrorType: <Name>` header, body
`{"message": ...}`), which botocore's parser reads as `client.exceptions.<Name>`.

`RuntimeNotFound`, `RuntimeNotReady` and `ArtifactError` are for the other rooms of the
local AgentCore (data plane, artifact preparation); they never reach the wire as-is.
"""

from __future__ import annotations

from typing import Any, ClassVar

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


class ControlPlaneError(Exception):
    """An error the control plane answers with; `error_type` is the modelled shape name."""

    status: int = 500
    error_type: ClassVar[str] = "InternalServerException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class ValidationError(ControlPlaneError):
    """400 ValidationException; `reason` is one of the model's ValidationExceptionReason."""

    status = 400
    error_type = "ValidationException"

    def __init__(
        self, message: str, *, field: str | None = None, reason: str = "FieldValidationFailed"
    ) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "reason": self.reason}
        if self.field is not None:
            out["fieldList"] = [{"name": self.field, "message": self.message}]
        return out


class ConflictError(ControlPlaneError):
    status = 409
    error_type = "ConflictException"


class ResourceNotFoundError(ControlPlaneError):
    status = 404
    error_type = "ResourceNotFoundException"


class InternalServerError(ControlPlaneError):
    status = 500
    error_type = "InternalServerException"


class UnknownOperationError(ControlPlaneError):
    """A path or verb under /runtimes that no control-plane operation has."""

    error_type = "UnknownOperationException"

    def __init__(self, message: str, *, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


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


class RegistryLoadError(Exception):
    """The persisted registry file exists but cannot be read back."""
