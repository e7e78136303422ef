"""The registry's internal, mutable records. Only `RuntimeRegistry` changes them, under
its lock; other rooms see frozen views (`ResolvedRuntime`, `RuntimeSummary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentcore_mcp.local.control.config import RuntimeVersionConfig

__all__ = [
    "CREATE_FAILED",
    "CREATING",
    "DEFAULT_ENDPOINT",
    "DELETING",
    "FAILED",
    "IN_PROGRESS",
    "READY",
    "UPDATE_FAILED",
    "UPDATING",
    "EndpointRecord",
    "RuntimeRecord",
    "VersionRecord",
    "utcnow",
]

CREATING = "CREATING"
CREATE_FAILED = "CREATE_FAILED"
UPDATING = "UPDATING"
UPDATE_FAILED = "UPDATE_FAILED"
READY = "READY"
DELETING = "DELETING"
IN_PROGRESS = frozenset({CREATING, UPDATING})
FAILED = frozenset({CREATE_FAILED, UPDATE_FAILED})
DEFAULT_ENDPOINT = "DEFAULT"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class VersionRecord:
    version: int
    config: RuntimeVersionConfig
    status: str
    created_at: datetime
    last_updated_at: datetime
    failure_reason: str | None = None

    @property
    def raw(self) -> dict[str, Any]:
        return dict(self.config.raw)


@dataclass
class EndpointRecord:
    name: str
    endpoint_id: str
    target_version: int
    status: str
    created_at: datetime
    last_updated_at: datetime
    live_version: int | None = None
    description: str | None = None
    failure_reason: str | None = None


@dataclass
class RuntimeRecord:
    runtime_id: str
    arn: str
    name: str
    created_at: datetime
    last_updated_at: datetime
    versions: dict[int, VersionRecord] = field(default_factory=dict)
    endpoints: dict[str, EndpointRecord] = field(default_factory=dict)
    deleting: bool = False
    tags: dict[str, str] = field(default_factory=dict)  # CreateAgentRuntime / TagResource

    @property
    def latest(self) -> VersionRecord:
        return self.versions[max(self.versions)]

    @property
    def status(self) -> str:
        return DELETING if self.deleting else self.latest.status

    @property
    def failure_reason(self) -> str | None:
        return None if self.deleting else self.latest.failure_reason

    def endpoint_arn(self, name: str) -> str:
        return f"{self.arn}/runtime-endpoint/{name}"

    def touch(self, when: datetime | None = None) -> None:
        self.last_updated_at = when or utcnow()
