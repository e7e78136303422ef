"""What every step sees: settings, target, the state record, and a progress channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentcore_mcp.client.runtime import deployment_parameter
from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.errors import explain_client_error
from agentcore_mcp.deploy.ownership import TAG_DEPLOYMENT, deployment_tags, refusal
from agentcore_mcp.deploy.state import DeploymentRecord, DeploymentState
from agentcore_mcp.deploy.target import Target

TAG_KEY = TAG_DEPLOYMENT  # the scheme lives in ownership.py

EventKind = Literal["start", "progress", "done", "skip", "info", "warning"]


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    step: str
    message: str = ""
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Names:
    """Every resource's name, derived from the deployment: rerunning finds the same ones."""

    name: str
    region: str
    account: str

    @property
    def role(self) -> str:
        return f"AgentCoreMcp-{self.name}-{self.region}"[:64]

    policy = "agentcore-mcp-runtime"

    @property
    def bucket(self) -> str:
        return f"agentcore-mcp-{self.account}-{self.region}"

    def artifact_key(self, sha256: str) -> str:
        return f"{self.name}/{sha256}.zip"

    @property
    def artifact_prefix(self) -> str:
        return f"{self.name}/"

    @property
    def pool(self) -> str:
        return f"agentcore-mcp-{self.name}"

    @property
    def user_secret(self) -> str:
        return f"agentcore-mcp/{self.name}/cognito-user"

    def env_secret(self, var: str) -> str:
        return f"agentcore-mcp/{self.name}/{var}"

    @property
    def parameter(self) -> str:
        return deployment_parameter(self.name)

    @property
    def arn_parameter(self) -> str:
        return f"/agentcore-mcp/{self.name}/agent_arn"

    @property
    def repository(self) -> str:
        return f"agentcore-mcp/{self.name.lower()}"


@dataclass(slots=True)
class StepContext:
    config: DeployConfig
    target: Target
    state: DeploymentState
    record: DeploymentRecord
    emit: Callable[[Event], None]
    dry_run: bool = False
    # Values for --secret NAME, read by the CLI from the environment or a no-echo prompt;
    # None keeps the stored value. Held in memory only.
    secret_values: Mapping[str, str | None] = field(default_factory=dict)
    step: str = ""
    # Secrets whose deletion was scheduled: id, ARN, date and the command that restores it.
    scheduled_deletions: list[dict[str, str]] = field(default_factory=list)
    # How often the runtime step asks for READY; None: its per-target default (dev asks
    # more often, for its own updates only).
    ready_poll_seconds: float | None = None

    @property
    def names(self) -> Names:
        return Names(self.config.name, self.target.region, self.target.account)

    @property
    def tags(self) -> dict[str, str]:
        """The tags every resource this deployment makes carries (ownership.py)."""
        return deployment_tags(self.record.key, self.record.deployment_id)

    def not_ours(self, tags: Mapping[str, str]) -> str | None:
        """None when `tags` mark a resource as this deployment's; else why it is not."""
        return refusal(tags, self.record.key, self.record.deployment_id)

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def progress(self, message: str) -> None:
        self.emit(Event("progress", self.step, message))

    def warn(self, message: str) -> None:
        self.emit(Event("warning", self.step, message))

    def save(self) -> None:
        """Record progress now: a kill after this line loses nothing already made."""
        if not self.dry_run:
            self.state.put(self.record)

    def fail(self, exc: Any, doing: str) -> Exception:
        return explain_client_error(exc, doing)
