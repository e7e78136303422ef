"""bedrock-agentcore-control for the local AgentCore: runtimes, versions, endpoints.

Behaviour choices, where the service's documentation leaves room ([D] documented,
[O] observed in the field, [I] our choice):

- [D] protocolConfiguration omitted → HTTP on 8080, /invocations; per-protocol defaults
  MCP 8000 /mcp, A2A 9000 /, AGUI 8080 /invocations (botocore model docs).
- [I] lifecycle: idle timeout omitted → min(900, maxLifetime); both must be 60..28800 and
  idle ≤ maxLifetime; Get echoes both values.
- [I] networkConfiguration omitted → echoed as PUBLIC; VPC is accepted (with its subnets
  and security groups) but not emulated.
- [D] clientToken: same token + same request → the first response again; same token +
  different request → ValidationException, reason IdempotentParameterMismatchException.
  Tokens are kept in memory for 8 h and never persisted.
- [I] UpdateAgentRuntime while CREATING/UPDATING → ConflictException.
- [D] DEFAULT targets every new version; its liveVersion moves when that version is
  READY. [I] A failed update leaves DEFAULT UPDATE_FAILED with the old liveVersion,
  which keeps serving invocations. Custom endpoints pin the version they were created
  or updated with (default: the latest); a failed version cannot back an endpoint.
- [O] DeleteAgentRuntimeEndpoint on DEFAULT → ConflictException ("Default endpoints are
  removed when you delete the agent"); DeleteAgentRuntime with custom endpoints left →
  ConflictException. [I] UpdateAgentRuntimeEndpoint on DEFAULT → ValidationException.
- [I] DeleteAgentRuntime with ?version=N deletes a version no endpoint uses.
- [I] List operations: maxResults default and max 100; runtimes oldest first, versions
  newest first, endpoints DEFAULT first.
- [I] Persistence: runtimes.json (0600, atomic) holds the stored request fields,
  environment variable values included; versions CREATING/UPDATING at shutdown load as
  CREATE_FAILED/UPDATE_FAILED "interrupted by a local AgentCore restart" (retry with
  UpdateAgentRuntime); runtimes being deleted load as deleted.
"""

from __future__ import annotations

from agentcore_mcp.local.control.config import (
    ArtifactPreparer,
    CodeArtifact,
    ContainerArtifact,
    ProtocolSettings,
    ResolvedRuntime,
    RuntimeSummary,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.control.errors import ArtifactError, RuntimeNotFound, RuntimeNotReady
from agentcore_mcp.local.control.handlers import ControlPlaneApp
from agentcore_mcp.local.control.registry import RuntimeRegistry
from agentcore_mcp.local.control.roles import check_runtime_role

__all__ = [
    "ArtifactError",
    "ArtifactPreparer",
    "CodeArtifact",
    "ContainerArtifact",
    "ControlPlaneApp",
    "ProtocolSettings",
    "ResolvedRuntime",
    "RuntimeNotFound",
    "RuntimeNotReady",
    "RuntimeRegistry",
    "RuntimeSummary",
    "RuntimeVersionConfig",
    "check_runtime_role",
]
