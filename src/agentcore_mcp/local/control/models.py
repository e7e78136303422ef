"""The control plane's public model: what other rooms of the local AgentCore import.

The definitions live in small modules (config, errors, registry); this module is the
one stable import path for them.
"""

from __future__ import annotations

from agentcore_mcp.local.control.config import (
    ArtifactPreparer,
    CodeArtifact,
    ContainerArtifact,
    EndpointSummary,
    ProtocolSettings,
    ResolvedRuntime,
    RuntimeSummary,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.control.errors import (
    ArtifactError,
    RegistryLoadError,
    RuntimeNotFound,
    RuntimeNotReady,
)
from agentcore_mcp.local.control.registry import RuntimeRegistry

__all__ = [
    "ArtifactError",
    "ArtifactPreparer",
    "CodeArtifact",
    "ContainerArtifact",
    "EndpointSummary",
    "ProtocolSettings",
    "RegistryLoadError",
    "ResolvedRuntime",
    "RuntimeNotFound",
    "RuntimeNotReady",
    "RuntimeRegistry",
    "RuntimeSummary",
    "RuntimeVersionConfig",
]
