"""The registry on disk: one JSON file, written atomically with mode 0600.

What it holds: every runtime with its versions (the stored request fields, including
environment variable values, which are configuration the user gave) and endpoints.
What it never holds: client tokens, credentials, bearer tokens or anything from a
request's headers.

Versions that were CREATING or UPDATING when the local AgentCore stopped come back
as CREATE_FAILED / UPDATE_FAILED with failureReason INTERRUPTED; runtimes that were
being deleted come back deleted.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from agentcore_mcp.files import write_atomically
from agentcore_mcp.local.control.errors import RegistryLoadError
from agentcore_mcp.local.control.records import (
    CREATE_FAILED,
    CREATING,
    UPDATE_FAILED,
    UPDATING,
    EndpointRecord,
    RuntimeRecord,
    VersionRecord,
)
from agentcore_mcp.local.control.validation import parse_runtime_config

__all__ = ["FILE_NAME", "FORMAT", "INTERRUPTED", "load_runtimes", "save_runtimes"]

FILE_NAME = "runtimes.json"
FORMAT = "agentcore-mcp/local-control/1"
INTERRUPTED = (
    "interrupted by a local AgentCore restart; call UpdateAgentRuntime with the same "
    "configuration to try again"
)


def _ts(value: datetime) -> str:
    return value.isoformat()


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _dump_runtime(rt: RuntimeRecord) -> dict[str, Any]:
    return {
        "runtimeId": rt.runtime_id,
        "arn": rt.arn,
        "name": rt.name,
        "createdAt": _ts(rt.created_at),
        "lastUpdatedAt": _ts(rt.last_updated_at),
        "tags": dict(rt.tags),
        "versions": [
            {
                "version": v.version,
                "status": v.status,
                "failureReason": v.failure_reason,
                "createdAt": _ts(v.created_at),
                "lastUpdatedAt": _ts(v.last_updated_at),
                "request": v.raw,
            }
            for v in sorted(rt.versions.values(), key=lambda v: v.version)
        ],
        "endpoints": [
            {
                "name": e.name,
                "id": e.endpoint_id,
                "description": e.description,
                "targetVersion": e.target_version,
                "liveVersion": e.live_version,
                "status": e.status,
                "failureReason": e.failure_reason,
                "createdAt": _ts(e.created_at),
                "lastUpdatedAt": _ts(e.last_updated_at),
            }
            for e in rt.endpoints.values()
        ],
    }


def _load_runtime(doc: dict[str, Any]) -> RuntimeRecord:
    rt = RuntimeRecord(
        runtime_id=str(doc["runtimeId"]),
        arn=str(doc["arn"]),
        name=str(doc["name"]),
        created_at=_dt(doc["createdAt"]),
        last_updated_at=_dt(doc["lastUpdatedAt"]),
        tags={str(k): str(v) for k, v in (doc.get("tags") or {}).items()},
    )
    for v in doc["versions"]:
        status, reason = str(v["status"]), v.get("failureReason")
        if status in (CREATING, UPDATING):
            status = CREATE_FAILED if status == CREATING else UPDATE_FAILED
            reason = INTERRUPTED
        rt.versions[int(v["version"])] = VersionRecord(
            version=int(v["version"]),
            config=parse_runtime_config(v["request"]),
            status=status,
            failure_reason=reason,
            created_at=_dt(v["createdAt"]),
            last_updated_at=_dt(v["lastUpdatedAt"]),
        )
    for e in doc["endpoints"]:
        rt.endpoints[str(e["name"])] = EndpointRecord(
            name=str(e["name"]),
            endpoint_id=str(e["id"]),
            description=e.get("description"),
            target_version=int(e["targetVersion"]),
            live_version=_opt_int(e.get("liveVersion")),
            status=str(e["status"]),
            failure_reason=e.get("failureReason"),
            created_at=_dt(e["createdAt"]),
            last_updated_at=_dt(e["lastUpdatedAt"]),
        )
    return rt


def save_runtimes(
    path: Path, runtimes: list[RuntimeRecord], *, region: str, account_id: str
) -> None:
    """Write atomically, mode 0600 (`files.write_atomically`)."""
    payload = {
        "format": FORMAT,
        "region": region,
        "accountId": account_id,
        "runtimes": [_dump_runtime(rt) for rt in runtimes if not rt.deleting],
    }
    write_atomically(path, json.dumps(payload, indent=1, sort_keys=True))


def load_runtimes(
    path: Path, *, region: str | None = None, account_id: str | None = None
) -> list[RuntimeRecord]:
    """The runtimes saved at `path`; [] when there is no file yet.

    With `region`/`account_id`, a file saved for another region or account is refused:
    its ARNs name that region and account, so they could not be called here.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        saved = (doc.get("region"), doc.get("accountId"))
        for name, value, want in (
            ("region", saved[0], region),
            ("account", saved[1], account_id),
        ):
            if want is not None and value is not None and value != want:
                raise ValueError(
                    f"it holds the runtimes of {name} {value!r}, not {want!r}; start with "
                    f"that {name}, or use another --home"
                )
        return [_load_runtime(rt) for rt in doc["runtimes"]]
    except Exception as exc:
        raise RegistryLoadError(
            f"Cannot read the local AgentCore registry {path}: {exc}. Move the file aside "
            "to start with no runtimes."
        ) from exc
