"""RuntimeRegistry: the control plane's store of runtimes, versions and endpoints.

State rules (copied from the service; the package docstring lists the choices):
- a runtime's status is its latest version's status (or DELETING);
- an endpoint targets one version; it goes READY (liveVersion = target) when that
  version is READY, and keeps its previous liveVersion when the target fails;
- DEFAULT is created with the runtime and retargeted to every new version;
  custom endpoints stay on the version they were created or updated with.

Mutations happen on the event loop that runs the ControlPlaneApp; every public method
takes the registry lock, so other threads may call `resolve_invocation` and `runtimes`.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from pathlib import Path

from agentcore_mcp.local.control.config import (
    EndpointSummary,
    ResolvedRuntime,
    RuntimeSummary,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.control.errors import (
    ConflictError,
    ResourceNotFoundError,
    RuntimeNotFound,
    RuntimeNotReady,
    ValidationError,
)
from agentcore_mcp.local.control.persistence import FILE_NAME, load_runtimes, save_runtimes
from agentcore_mcp.local.control.records import (
    CREATE_FAILED,
    CREATING,
    DEFAULT_ENDPOINT,
    DELETING,
    FAILED,
    IN_PROGRESS,
    READY,
    UPDATE_FAILED,
    UPDATING,
    EndpointRecord,
    RuntimeRecord,
    VersionRecord,
    utcnow,
)
from agentcore_mcp.local.control.validation import MAX_TAGS, VERSION_RE

__all__ = ["RuntimeRegistry"]

_ALNUM = string.ascii_letters + string.digits
_RUNTIME_ARN_RE = re.compile(
    r"arn:aws(?:-[^:]+)?:bedrock-agentcore:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"runtime/(?P<id>[^/]+)"
)


def _suffix() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(10))


def _version_label(n: int | None) -> str | None:
    return None if n is None else str(n)


class RuntimeRegistry:
    """All runtimes of one local AgentCore (one region, one account)."""

    def __init__(self, *, region: str, account_id: str, persist_dir: Path | None = None) -> None:
        self.region = region
        self.account_id = account_id
        self.persist_dir = persist_dir
        self._lock = threading.RLock()
        self._runtimes: dict[str, RuntimeRecord] = {}
        if persist_dir is not None:
            saved = load_runtimes(persist_dir / FILE_NAME, region=region, account_id=account_id)
            for rt in saved:
                for ep in rt.endpoints.values():
                    self._reconcile(rt, ep)
                self._runtimes[rt.runtime_id] = rt
            self._save()

    @property
    def persist_path(self) -> Path | None:
        return None if self.persist_dir is None else self.persist_dir / FILE_NAME

    # --- reads for the data plane and `local status` ------------------------------------

    def resolve_invocation(self, arn_or_id: str, qualifier: str | None) -> ResolvedRuntime:
        """The version an invocation of `arn_or_id` with `qualifier` runs.

        `qualifier` is an endpoint name (default DEFAULT) or a version number. An endpoint
        serves its liveVersion, so a runtime that is UPDATING keeps serving the last
        READY version. Raises RuntimeNotFound or RuntimeNotReady.
        """
        runtime_id = self._runtime_id_from(arn_or_id)
        with self._lock:
            rt = self._runtimes.get(runtime_id)
            if rt is None:
                raise RuntimeNotFound(
                    f"No agent runtime {arn_or_id!r} in this local AgentCore (region "
                    f"{self.region}, account {self.account_id}). Check the ARN, or create the "
                    "runtime with CreateAgentRuntime."
                )
            if rt.deleting:
                raise RuntimeNotReady(
                    f"Agent runtime {runtime_id} is being deleted.",
                    runtime_id=runtime_id,
                    status=DELETING,
                    server_protocol=rt.latest.config.protocol.server_protocol,
                )
            q = qualifier or DEFAULT_ENDPOINT
            if VERSION_RE.fullmatch(q):
                version = rt.versions.get(int(q))
                if version is None:
                    raise RuntimeNotFound(
                        f"Agent runtime {runtime_id} has no version {q} (versions: "
                        f"{', '.join(str(n) for n in sorted(rt.versions))})."
                    )
                if version.status != READY:
                    raise self._not_ready(rt, version)
                return self._resolved(rt, version, q)
            endpoint = rt.endpoints.get(q)
            if endpoint is None:
                raise RuntimeNotFound(
                    f"Agent runtime {runtime_id} has no endpoint {q!r} (endpoints: "
                    f"{', '.join(sorted(rt.endpoints))})."
                )
            if endpoint.live_version is None or endpoint.live_version not in rt.versions:
                target = rt.versions.get(endpoint.target_version, rt.latest)
                raise self._not_ready(rt, target)
            return self._resolved(rt, rt.versions[endpoint.live_version], q)

    def runtimes(self) -> list[RuntimeSummary]:
        with self._lock:
            return [self._summary(rt) for rt in self.list_runtimes()]

    # --- reads for the handlers -------------------------------------------------------

    def list_runtimes(self) -> list[RuntimeRecord]:
        with self._lock:
            return sorted(self._runtimes.values(), key=lambda rt: (rt.created_at, rt.runtime_id))

    def get(self, runtime_id: str) -> RuntimeRecord:
        with self._lock:
            rt = self._runtimes.get(runtime_id)
            if rt is None:
                raise ResourceNotFoundError(f"Agent runtime {runtime_id} not found.")
            return rt

    def get_version(self, runtime_id: str, version: int) -> VersionRecord:
        rt = self.get(runtime_id)
        found = rt.versions.get(version)
        if found is None:
            raise ResourceNotFoundError(f"Agent runtime {runtime_id} has no version {version}.")
        return found

    def get_endpoint(self, runtime_id: str, name: str) -> EndpointRecord:
        rt = self.get(runtime_id)
        found = rt.endpoints.get(name)
        if found is None:
            raise ResourceNotFoundError(
                f"Agent runtime endpoint {name} not found for runtime {runtime_id}."
            )
        return found

    def check_name_free(self, name: str) -> None:
        """ConflictError when a runtime already has this name."""
        with self._lock:
            for rt in self._runtimes.values():
                if rt.name == name:
                    raise _name_conflict(rt)

    # --- runtime mutations ------------------------------------------------------------

    def create_runtime(
        self, name: str, config: RuntimeVersionConfig, tags: dict[str, str] | None = None
    ) -> RuntimeRecord:
        """Version 1 (CREATING) and the DEFAULT endpoint targeting it."""
        with self._lock:
            self.check_name_free(name)
            suffix = _suffix()
            while f"{name}-{suffix}" in self._runtimes:  # pragma: no cover - 62**10 space
                suffix = _suffix()
            runtime_id = f"{name}-{suffix}"
            now = utcnow()
            rt = RuntimeRecord(
                runtime_id=runtime_id,
                arn=f"arn:aws:bedrock-agentcore:{self.region}:{self.account_id}:runtime/{runtime_id}",
                name=name,
                created_at=now,
                last_updated_at=now,
                tags=dict(tags or {}),
            )
            rt.versions[1] = VersionRecord(1, config, CREATING, now, now)
            rt.endpoints[DEFAULT_ENDPOINT] = EndpointRecord(
                name=DEFAULT_ENDPOINT,
                endpoint_id=f"{DEFAULT_ENDPOINT}-{_suffix()}",
                target_version=1,
                status=CREATING,
                created_at=now,
                last_updated_at=now,
            )
            self._runtimes[runtime_id] = rt
            self._save()
            return rt

    def add_version(self, runtime_id: str, config: RuntimeVersionConfig) -> VersionRecord:
        """UpdateAgentRuntime: version N+1 (UPDATING); DEFAULT retargets to it."""
        with self._lock:
            rt = self.get(runtime_id)
            if rt.deleting:
                raise ConflictError(f"Agent runtime {runtime_id} is being deleted.")
            if rt.status in IN_PROGRESS:
                raise ConflictError(
                    f"Agent runtime {runtime_id} is {rt.status} (version {rt.latest.version}); "
                    "wait until it is READY or failed, then update it."
                )
            now = utcnow()
            number = max(rt.versions) + 1
            version = VersionRecord(number, config, UPDATING, now, now)
            rt.versions[number] = version
            default = rt.endpoints[DEFAULT_ENDPOINT]
            default.target_version = number
            self._reconcile(rt, default)
            rt.touch(now)
            self._save()
            return version

    def finish_version(self, runtime_id: str, version: int, failure_reason: str | None) -> None:
        """Preparation ended: READY, or CREATE_FAILED / UPDATE_FAILED with the reason."""
        with self._lock:
            rt = self._runtimes.get(runtime_id)
            if rt is None or rt.deleting:
                return
            record = rt.versions.get(version)
            if record is None or record.status not in IN_PROGRESS:
                return
            now = utcnow()
            if failure_reason is None:
                record.status = READY
            else:
                record.status = CREATE_FAILED if record.status == CREATING else UPDATE_FAILED
                record.failure_reason = failure_reason
            record.last_updated_at = now
            for endpoint in rt.endpoints.values():
                if endpoint.target_version == version:
                    self._reconcile(rt, endpoint)
            rt.touch(now)
            self._save()

    def begin_delete(self, runtime_id: str) -> RuntimeRecord:
        """DeleteAgentRuntime: DELETING now; `remove_runtime` once sessions are stopped."""
        with self._lock:
            rt = self.get(runtime_id)
            if rt.deleting:
                return rt
            custom = sorted(n for n in rt.endpoints if n != DEFAULT_ENDPOINT)
            if custom:
                raise ConflictError(
                    f"Agent runtime {runtime_id} has endpoints that must be deleted first: "
                    f"{', '.join(custom)}. Delete them with DeleteAgentRuntimeEndpoint; the "
                    "DEFAULT endpoint goes with the runtime."
                )
            now = utcnow()
            rt.deleting = True
            rt.endpoints[DEFAULT_ENDPOINT].status = DELETING
            rt.endpoints[DEFAULT_ENDPOINT].last_updated_at = now
            rt.touch(now)
            self._save()
            return rt

    def remove_runtime(self, runtime_id: str) -> None:
        with self._lock:
            if self._runtimes.pop(runtime_id, None) is not None:
                self._save()

    def delete_version(self, runtime_id: str, version: int) -> VersionRecord:
        """DeleteAgentRuntime with a version: only a version no endpoint uses."""
        with self._lock:
            rt = self.get(runtime_id)
            if rt.deleting:
                raise ConflictError(f"Agent runtime {runtime_id} is being deleted.")
            record = self.get_version(runtime_id, version)
            users = sorted(
                e.name
                for e in rt.endpoints.values()
                if version in (e.target_version, e.live_version)
            )
            if users:
                raise ConflictError(
                    f"Version {version} of agent runtime {runtime_id} is in use by endpoint(s) "
                    f"{', '.join(users)}; point them at another version first."
                )
            del rt.versions[version]
            rt.touch()
            self._save()
            return record

    # --- endpoint mutations -----------------------------------------------------------

    def create_endpoint(
        self, runtime_id: str, name: str, version: int | None, description: str | None
    ) -> EndpointRecord:
        """A custom endpoint pinned to `version` (default: the latest), CREATING."""
        with self._lock:
            rt = self.get(runtime_id)
            if rt.deleting:
                raise ConflictError(f"Agent runtime {runtime_id} is being deleted.")
            if name in rt.endpoints:
                raise ConflictError(
                    f"Agent runtime endpoint {name} already exists for runtime {runtime_id}."
                )
            target = self._usable_version(rt, version)
            now = utcnow()
            endpoint = EndpointRecord(
                name=name,
                endpoint_id=f"{name}-{_suffix()}",
                target_version=target,
                status=CREATING,
                created_at=now,
                last_updated_at=now,
                description=description,
            )
            rt.endpoints[name] = endpoint
            self._save()
            return endpoint

    def update_endpoint(
        self, runtime_id: str, name: str, version: int | None, description: str | None
    ) -> EndpointRecord:
        with self._lock:
            rt = self.get(runtime_id)
            if name == DEFAULT_ENDPOINT:
                raise ValidationError(
                    "The DEFAULT endpoint cannot be updated: it always follows the latest "
                    "version. Create a custom endpoint to pin a version.",
                    field="endpointName",
                )
            endpoint = self.get_endpoint(runtime_id, name)
            if rt.deleting or endpoint.status == DELETING:
                raise ConflictError(f"Agent runtime endpoint {name} is being deleted.")
            if version is not None:
                endpoint.target_version = self._usable_version(rt, version)
            if description is not None:
                endpoint.description = description
            endpoint.status = CREATING if endpoint.live_version is None else UPDATING
            endpoint.failure_reason = None
            endpoint.last_updated_at = utcnow()
            self._save()
            return endpoint

    def settle_endpoint(self, runtime_id: str, name: str) -> None:
        """Bring a CREATING/UPDATING endpoint in line with its target version."""
        with self._lock:
            rt = self._runtimes.get(runtime_id)
            endpoint = None if rt is None else rt.endpoints.get(name)
            if rt is None or endpoint is None or rt.deleting:
                return
            self._reconcile(rt, endpoint)
            self._save()

    def delete_endpoint(self, runtime_id: str, name: str) -> EndpointRecord:
        with self._lock:
            rt = self.get(runtime_id)
            if name == DEFAULT_ENDPOINT:
                raise ConflictError(
                    "Default endpoints are removed when you delete the agent runtime; the "
                    "DEFAULT endpoint cannot be deleted on its own."
                )
            endpoint = self.get_endpoint(runtime_id, name)
            del rt.endpoints[name]
            endpoint.status = DELETING
            endpoint.last_updated_at = utcnow()
            self._save()
            return endpoint

    # --- helpers ------------------------------------------------------------------------

    # --- tags (TagResource, UntagResource, ListTagsForResource) --------------------------

    def _tagged(self, resource_arn: str) -> RuntimeRecord:
        """The runtime an ARN of this region and account names; ResourceNotFound otherwise
        (AWS answers the same for an ARN of another account or a deleted runtime)."""
        match = _RUNTIME_ARN_RE.fullmatch(resource_arn)
        if (
            match is None
            or match["region"] != self.region
            or match["account"] != self.account_id
            or match["id"] not in self._runtimes
        ):
            raise ResourceNotFoundError(f"Resource {resource_arn} not found.")
        return self._runtimes[match["id"]]

    def tags_of(self, resource_arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._tagged(resource_arn).tags)

    def tag(self, resource_arn: str, tags: dict[str, str]) -> None:
        with self._lock:
            rt = self._tagged(resource_arn)
            merged = {**rt.tags, **tags}
            if len(merged) > MAX_TAGS:
                raise ValidationError(
                    f"A resource can have at most {MAX_TAGS} tags; this request would make "
                    f"{len(merged)}.",
                    field="tags",
                )
            rt.tags = merged
            self._save()

    def untag(self, resource_arn: str, keys: list[str]) -> None:
        with self._lock:
            rt = self._tagged(resource_arn)
            rt.tags = {k: v for k, v in rt.tags.items() if k not in keys}
            self._save()

    def _runtime_id_from(self, arn_or_id: str) -> str:
        if not arn_or_id.startswith("arn:"):
            return arn_or_id
        match = _RUNTIME_ARN_RE.fullmatch(arn_or_id)
        if match is None:
            raise RuntimeNotFound(
                f"{arn_or_id!r} is not an agent runtime ARN "
                "(arn:aws:bedrock-agentcore:REGION:ACCOUNT:runtime/ID)."
            )
        if match["region"] != self.region or match["account"] != self.account_id:
            raise RuntimeNotFound(
                f"Agent runtime {arn_or_id!r} is in region {match['region']}, account "
                f"{match['account']}; this local AgentCore serves region {self.region}, "
                f"account {self.account_id}."
            )
        return match["id"]

    def _usable_version(self, rt: RuntimeRecord, version: int | None) -> int:
        number = max(rt.versions) if version is None else version
        record = rt.versions.get(number)
        if record is None:
            raise ValidationError(
                f"Agent runtime {rt.runtime_id} has no version {number} (versions: "
                f"{', '.join(str(n) for n in sorted(rt.versions))}).",
                field="agentRuntimeVersion",
            )
        if record.status in FAILED:
            raise ValidationError(
                f"Version {number} of agent runtime {rt.runtime_id} is {record.status} "
                f"({record.failure_reason}); an endpoint cannot serve it.",
                field="agentRuntimeVersion",
            )
        return number

    @staticmethod
    def _reconcile(rt: RuntimeRecord, endpoint: EndpointRecord) -> None:
        target = rt.versions.get(endpoint.target_version)
        if endpoint.status == DELETING or target is None:
            return
        before = (endpoint.status, endpoint.live_version, endpoint.failure_reason)
        if target.status == READY:
            endpoint.live_version = target.version
            endpoint.status = READY
            endpoint.failure_reason = None
        elif target.status in FAILED:
            endpoint.status = CREATE_FAILED if endpoint.live_version is None else UPDATE_FAILED
            endpoint.failure_reason = (
                f"Version {target.version} is {target.status}: {target.failure_reason}"
            )
        else:
            endpoint.status = CREATING if endpoint.live_version is None else UPDATING
            endpoint.failure_reason = None
        if (endpoint.status, endpoint.live_version, endpoint.failure_reason) != before:
            endpoint.last_updated_at = utcnow()

    def _not_ready(self, rt: RuntimeRecord, version: VersionRecord) -> RuntimeNotReady:
        what = f"Agent runtime {rt.runtime_id} version {version.version} is {version.status}"
        if version.status in FAILED:
            message = (
                f"{what}: {version.failure_reason}. Fix the artifact or configuration and "
                "call UpdateAgentRuntime."
            )
        else:
            message = (
                f"{what}; it has no READY version yet. Poll GetAgentRuntime until the status "
                "is READY, then retry."
            )
        return RuntimeNotReady(
            message,
            runtime_id=rt.runtime_id,
            status=version.status,
            failure_reason=version.failure_reason,
            server_protocol=version.config.protocol.server_protocol,
        )

    @staticmethod
    def _resolved(rt: RuntimeRecord, version: VersionRecord, qualifier: str) -> ResolvedRuntime:
        return ResolvedRuntime(
            runtime_id=rt.runtime_id,
            arn=rt.arn,
            name=rt.name,
            version=str(version.version),
            endpoint_name=qualifier,
            config=version.config,
        )

    @staticmethod
    def _summary(rt: RuntimeRecord) -> RuntimeSummary:
        return RuntimeSummary(
            runtime_id=rt.runtime_id,
            arn=rt.arn,
            name=rt.name,
            status=rt.status,
            latest_version=str(rt.latest.version),
            failure_reason=rt.failure_reason,
            created_at=rt.created_at,
            last_updated_at=rt.last_updated_at,
            endpoints=tuple(
                EndpointSummary(
                    name=e.name,
                    status=e.status,
                    live_version=_version_label(e.live_version),
                    target_version=_version_label(e.target_version),
                    failure_reason=e.failure_reason,
                )
                for e in rt.endpoints.values()
            ),
        )

    def _save(self) -> None:
        path = self.persist_path
        if path is not None:
            save_runtimes(
                path, list(self._runtimes.values()), region=self.region, account_id=self.account_id
            )


def _name_conflict(rt: RuntimeRecord) -> ConflictError:
    state = " and is being deleted" if rt.deleting else ""
    return ConflictError(
        f"An agent runtime named {rt.name} already exists ({rt.runtime_id}){state}. Use "
        "UpdateAgentRuntime to change it, or pick another name."
    )
