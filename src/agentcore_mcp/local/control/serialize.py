"""Records → rest-json response bodies, field names as in the botocore model.

Timestamps are ISO 8601 strings in UTC: the model marks every DateTimestamp in these
outputs with `timestampFormat: iso8601`, and botocore parses them back to aware datetimes.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from agentcore_mcp.local.control.records import EndpointRecord, RuntimeRecord, VersionRecord

__all__ = [
    "endpoint_body",
    "endpoint_summary",
    "iso",
    "runtime_body",
    "runtime_summary",
    "workload_identity",
]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def workload_identity(rt: RuntimeRecord, region: str, account_id: str) -> dict[str, str]:
    return {
        "workloadIdentityArn": (
            f"arn:aws:bedrock-agentcore:{region}:{account_id}:workload-identity-directory/"
            f"default/workload-identity/{rt.runtime_id}"
        )
    }


def runtime_body(
    rt: RuntimeRecord, version: VersionRecord, *, region: str, account_id: str
) -> dict[str, Any]:
    """GetAgentRuntime: the stored request fields of `version` plus its state."""
    latest = version.version == rt.latest.version
    status = rt.status if latest else version.status
    body: dict[str, Any] = copy.deepcopy(version.raw)
    body.update(
        {
            "agentRuntimeArn": rt.arn,
            "agentRuntimeName": rt.name,
            "agentRuntimeId": rt.runtime_id,
            "agentRuntimeVersion": str(version.version),
            "createdAt": iso(rt.created_at),
            "lastUpdatedAt": iso(version.last_updated_at),
            "status": status,
            "workloadIdentityDetails": workload_identity(rt, region, account_id),
        }
    )
    if version.failure_reason is not None and status != "DELETING":
        body["failureReason"] = version.failure_reason
    return body


def runtime_summary(rt: RuntimeRecord, version: VersionRecord | None = None) -> dict[str, Any]:
    """One item of ListAgentRuntimes (the latest version) or ListAgentRuntimeVersions."""
    v = version or rt.latest
    status = rt.status if version is None else v.status
    return {
        "agentRuntimeArn": rt.arn,
        "agentRuntimeId": rt.runtime_id,
        "agentRuntimeVersion": str(v.version),
        "agentRuntimeName": rt.name,
        "description": v.config.description or "",
        "lastUpdatedAt": iso(rt.last_updated_at if version is None else v.last_updated_at),
        "status": status,
    }


def endpoint_summary(rt: RuntimeRecord, ep: EndpointRecord) -> dict[str, Any]:
    """One item of ListAgentRuntimeEndpoints."""
    body: dict[str, Any] = {
        "name": ep.name,
        "agentRuntimeEndpointArn": rt.endpoint_arn(ep.name),
        "agentRuntimeArn": rt.arn,
        "status": ep.status,
        "id": ep.endpoint_id,
        "targetVersion": str(ep.target_version),
        "createdAt": iso(ep.created_at),
        "lastUpdatedAt": iso(ep.last_updated_at),
    }
    if ep.live_version is not None:
        body["liveVersion"] = str(ep.live_version)
    if ep.description is not None:
        body["description"] = ep.description
    return body


def endpoint_body(rt: RuntimeRecord, ep: EndpointRecord) -> dict[str, Any]:
    """GetAgentRuntimeEndpoint."""
    body = endpoint_summary(rt, ep)
    if ep.failure_reason is not None:
        body["failureReason"] = ep.failure_reason
    return body
