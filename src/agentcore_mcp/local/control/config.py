"""The frozen values other rooms of the local AgentCore read: one runtime version's
configuration, a resolved invocation target, status summaries, and the preparer protocol.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from agentcore_mcp.auth import AuthorizerConfig
from agentcore_mcp.runtime_rules import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_LIFETIME_SECONDS,
)

__all__ = [
    "DEFAULT_IDLE_TIMEOUT_SECONDS",
    "DEFAULT_MAX_LIFETIME_SECONDS",
    "DEFAULT_PATHS",
    "DEFAULT_PORTS",
    "DEFAULT_SERVER_PROTOCOL",
    "ArtifactPreparer",
    "CodeArtifact",
    "ContainerArtifact",
    "DiscardsArtifacts",
    "EndpointSummary",
    "ProtocolSettings",
    "ResolvedRuntime",
    "RuntimeSummary",
    "RuntimeVersionConfig",
]

# The service's own defaults (botocore model docs of ProtocolConfiguration.port / .path;
# the developer guide's "service contract" protocol table). With no
# protocolConfiguration at all, a runtime speaks HTTP.
DEFAULT_SERVER_PROTOCOL = "HTTP"
DEFAULT_PORTS: Mapping[str, int] = {"HTTP": 8080, "MCP": 8000, "A2A": 9000, "AGUI": 8080}
DEFAULT_PATHS: Mapping[str, str] = {
    "HTTP": "/invocations",
    "MCP": "/mcp",
    "A2A": "/",
    "AGUI": "/invocations",
}


@dataclass(frozen=True)
class CodeArtifact:
    """codeConfiguration: a zip in S3 run with a managed runtime."""

    bucket: str
    prefix: str
    version_id: str | None
    runtime: str  # PYTHON_3_10 .. PYTHON_3_14, NODE_22
    entry_point: tuple[str, ...]


@dataclass(frozen=True)
class ContainerArtifact:
    """containerConfiguration: an ECR image."""

    container_uri: str


@dataclass(frozen=True)
class ProtocolSettings:
    """Where the server inside the runtime listens.

    `port=0` / `path=""` mean "the protocol's default", filled in at construction, so
    `ProtocolSettings("MCP")` is port 8000, path /mcp and `ProtocolSettings()` is what
    the service uses when protocolConfiguration is omitted: HTTP on 8080, /invocations.
    """

    server_protocol: str = DEFAULT_SERVER_PROTOCOL
    port: int = 0
    path: str = ""

    def __post_init__(self) -> None:
        if self.port == 0:
            object.__setattr__(self, "port", DEFAULT_PORTS.get(self.server_protocol, 8080))
        if not self.path:
            object.__setattr__(self, "path", DEFAULT_PATHS.get(self.server_protocol, "/"))


@dataclass(frozen=True)
class RuntimeVersionConfig:
    """One immutable runtime version, parsed from a Create/UpdateAgentRuntime request."""

    artifact: CodeArtifact | ContainerArtifact
    role_arn: str
    protocol: ProtocolSettings
    authorizer: dict[str, Any] | None  # the raw customJWTAuthorizer dict; None = SigV4
    environment: Mapping[str, str]
    idle_timeout_seconds: int
    max_lifetime_seconds: int
    request_header_allowlist: tuple[str, ...]
    network_mode: str  # PUBLIC or VPC (the local AgentCore does not isolate networks)
    description: str | None
    raw: Mapping[str, Any]  # the request fields as stored, echoed back by GetAgentRuntime

    @functools.cached_property
    def authorizer_config(self) -> AuthorizerConfig | None:
        """The JWT authorizer parsed once per stored version, not once per request.

        Raises `JwtError` for a configuration the auth core cannot use (validation at
        Create/Update normally refuses those first)."""
        if self.authorizer is None:
            return None
        return AuthorizerConfig.from_api(self.authorizer)


@dataclass(frozen=True)
class ResolvedRuntime:
    """What an invocation runs: one version of one runtime, reached via an endpoint."""

    runtime_id: str
    arn: str
    name: str
    version: str
    endpoint_name: str  # the qualifier: an endpoint name, or the version number given
    config: RuntimeVersionConfig


@dataclass(frozen=True)
class EndpointSummary:
    name: str
    status: str
    live_version: str | None
    target_version: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class RuntimeSummary:
    """One runtime as `local status` shows it."""

    runtime_id: str
    arn: str
    name: str
    status: str
    latest_version: str
    failure_reason: str | None
    created_at: datetime
    last_updated_at: datetime
    endpoints: tuple[EndpointSummary, ...]


class ArtifactPreparer(Protocol):
    """Makes a version runnable (fetch, unpack, smoke-start) while it is CREATING/UPDATING.

    Raises `ArtifactError(failure_reason)` for an artifact that cannot run; the version
    then goes to CREATE_FAILED / UPDATE_FAILED with that failureReason.
    """

    async def prepare(
        self, runtime_id: str, version: str, config: RuntimeVersionConfig
    ) -> None: ...


@runtime_checkable
class DiscardsArtifacts(Protocol):
    """A preparer that keeps files per runtime (unpacked code) and removes them on delete."""

    async def discard(self, runtime_id: str) -> None: ...
