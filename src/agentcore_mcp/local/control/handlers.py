"""ControlPlaneApp: the `bedrock-agentcore-control` runtime operations as an ASGI app.

The gateway verifies SigV4 and forwards PUT/GET/DELETE/POST under /runtimes/ here.
Requests and responses are rest-json; errors carry `x-amzn-ErrorType` and
`{"message": ...}` so boto3 raises `client.exceptions.<Name>`.

Artifact preparation runs in background tasks on the app's event loop; a version is
CREATING/UPDATING until `preparer.prepare` returns (READY) or raises ArtifactError
(CREATE_FAILED/UPDATE_FAILED with that failureReason).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from agentcore_mcp.asgi import ClientDisconnected, read_body, serve_lifespan
from agentcore_mcp.local.control.config import (
    ArtifactPreparer,
    DiscardsArtifacts,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.control.errors import (
    ArtifactError,
    ControlPlaneError,
    InternalServerError,
    ValidationError,
)
from agentcore_mcp.local.control.idempotency import IdempotencyCache, StoredResponse, fingerprint
from agentcore_mcp.local.control.records import RuntimeRecord
from agentcore_mcp.local.control.registry import RuntimeRegistry
from agentcore_mcp.local.control.routing import match_route, routes_for
from agentcore_mcp.local.control.serialize import (
    endpoint_body,
    endpoint_summary,
    iso,
    runtime_body,
    runtime_summary,
    workload_identity,
)
from agentcore_mcp.local.control.validation import (
    check_client_token,
    check_endpoint_description,
    check_endpoint_name,
    check_runtime_id,
    check_runtime_name,
    check_tags,
    check_version,
    parse_runtime_config,
)

__all__ = ["ControlPlaneApp", "RoleChecker", "RuntimeDeletedHook"]

log = logging.getLogger(__name__)

RoleChecker = Callable[[str], Awaitable[str | None]]
RuntimeDeletedHook = Callable[[str], Awaitable[None]]

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 100


@dataclass(frozen=True)
class _Request:
    method: str
    # The path's labels by their model names: agentRuntimeId, endpointName, resourceArn.
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Mapping[str, Any]


@dataclass(frozen=True)
class _Response:
    status: int
    body: Mapping[str, Any]


_Handler = Callable[[_Request], Awaitable[_Response]]


class ControlPlaneApp:
    """ASGI app for /runtimes/...: runtimes, versions and endpoints."""

    endpoint_settle_seconds = 0.05

    def __init__(
        self,
        registry: RuntimeRegistry,
        *,
        role_checker: RoleChecker,
        preparer: ArtifactPreparer,
        on_runtime_deleted: RuntimeDeletedHook | None = None,
    ) -> None:
        self.registry = registry
        self._role_checker = role_checker
        self._preparer = preparer
        self._on_runtime_deleted = on_runtime_deleted
        self._tokens = IdempotencyCache()
        self._tasks: set[asyncio.Task[None]] = set()
        self._prepare_tasks: dict[str, asyncio.Task[None]] = {}
        # The operations implemented here; which request is which comes from botocore's
        # model (routing.py), so the paths are the ones every AWS SDK sends.
        self._handlers: dict[str, _Handler] = {
            "CreateAgentRuntime": self._create_runtime,
            "ListAgentRuntimes": self._list_runtimes,
            "UpdateAgentRuntime": self._update_runtime,
            "GetAgentRuntime": self._get_runtime,
            "DeleteAgentRuntime": self._delete_runtime,
            "ListAgentRuntimeVersions": self._list_versions,
            "CreateAgentRuntimeEndpoint": self._create_endpoint,
            "ListAgentRuntimeEndpoints": self._list_endpoints,
            "GetAgentRuntimeEndpoint": self._get_endpoint,
            "UpdateAgentRuntimeEndpoint": self._update_endpoint,
            "DeleteAgentRuntimeEndpoint": self._delete_endpoint,
            "TagResource": self._tag_resource,
            "ListTagsForResource": self._list_tags,
            "UntagResource": self._untag_resource,
        }
        self._routes = routes_for(frozenset(self._handlers))

    @property
    def operations(self) -> frozenset[str]:
        """The bedrock-agentcore-control operations this app implements."""
        return frozenset(self._handlers)

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send, shutdown=self.aclose)
            return
        if scope["type"] != "http":  # pragma: no cover - websockets are not routed here
            return
        request_id = str(uuid.uuid4())
        try:
            response = await self._dispatch(scope, receive)
        except ControlPlaneError as exc:
            await _send_error(send, exc, request_id)
            return
        except Exception as exc:
            log.exception("control plane request failed")
            err = InternalServerError(f"Internal error in the local AgentCore control plane: {exc}")
            await _send_error(send, err, request_id)
            return
        await _send_json(send, response.status, response.body, request_id, None)

    async def aclose(self) -> None:
        """Cancel background work (preparations, deletions, endpoint settling)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- routing ------------------------------------------------------------------------

    async def _dispatch(self, scope: Scope, receive: Receive) -> _Response:
        method = str(scope["method"]).upper()
        route, params = match_route(self._routes, method, _raw_path(scope))
        operation, handler = route.operation, self._handlers[route.operation]
        if "agentRuntimeId" in params:
            check_runtime_id(params["agentRuntimeId"])
        raw_query = bytes(scope.get("query_string") or b"").decode("latin-1")
        query = dict(parse_qsl(raw_query))
        if operation == "UntagResource":  # tagKeys=... repeats; the dict keeps only one
            query["tagKeys"] = json.dumps([v for k, v in parse_qsl(raw_query) if k == "tagKeys"])
        request = _Request(method, params, query, await _read_json(receive))
        token = check_client_token(request.body.get("clientToken") or query.get("clientToken"))
        if token is None:
            return await handler(request)
        key = (operation, *params.values(), token)
        digest = fingerprint(request.body, query)
        async with self._tokens.guard(key):
            stored = self._tokens.lookup(key, digest)
            if stored is not None:
                return _Response(stored.status, stored.body)
            response = await handler(request)
            self._tokens.remember(key, digest, StoredResponse(response.status, response.body))
            return response

    # --- runtimes -----------------------------------------------------------------------

    async def _create_runtime(self, req: _Request) -> _Response:
        name = check_runtime_name(req.body.get("agentRuntimeName"))
        config = parse_runtime_config(req.body)
        tags = check_tags(req.body.get("tags"))
        self.registry.check_name_free(name)
        await self._check_role(config.role_arn)
        rt = self.registry.create_runtime(name, config, tags)
        self._start_prepare(rt.runtime_id, 1, config)
        return _Response(
            202,
            {
                "agentRuntimeArn": rt.arn,
                "agentRuntimeId": rt.runtime_id,
                "agentRuntimeVersion": "1",
                "createdAt": iso(rt.created_at),
                "status": rt.status,
                "workloadIdentityDetails": self._identity(rt),
            },
        )

    async def _update_runtime(self, req: _Request) -> _Response:
        runtime_id = req.params["agentRuntimeId"]
        self.registry.get(runtime_id)
        config = parse_runtime_config(req.body)
        await self._check_role(config.role_arn)
        version = self.registry.add_version(runtime_id, config)
        rt = self.registry.get(runtime_id)
        self._start_prepare(runtime_id, version.version, config)
        return _Response(
            202,
            {
                "agentRuntimeArn": rt.arn,
                "agentRuntimeId": rt.runtime_id,
                "agentRuntimeVersion": str(version.version),
                "createdAt": iso(rt.created_at),
                "lastUpdatedAt": iso(rt.last_updated_at),
                "status": rt.status,
                "workloadIdentityDetails": self._identity(rt),
            },
        )

    async def _get_runtime(self, req: _Request) -> _Response:
        runtime_id = req.params["agentRuntimeId"]
        rt = self.registry.get(runtime_id)
        raw_version = req.query.get("version")
        if raw_version is None:
            version = rt.latest
        else:
            version = self.registry.get_version(runtime_id, check_version(raw_version))
        return _Response(
            200,
            runtime_body(
                rt, version, region=self.registry.region, account_id=self.registry.account_id
            ),
        )

    async def _delete_runtime(self, req: _Request) -> _Response:
        runtime_id = req.params["agentRuntimeId"]
        raw_version = req.query.get("version")
        if raw_version is not None:
            deleted = self.registry.delete_version(runtime_id, check_version(raw_version))
            return _Response(
                202,
                {
                    "status": "DELETING",
                    "agentRuntimeId": runtime_id,
                    "agentRuntimeVersion": str(deleted.version),
                },
            )
        already = self.registry.get(runtime_id).deleting
        self.registry.begin_delete(runtime_id)
        if not already:
            self._spawn(self._finish_delete(runtime_id))
        return _Response(202, {"status": "DELETING", "agentRuntimeId": runtime_id})

    async def _list_runtimes(self, req: _Request) -> _Response:
        items, token = _paginate(self.registry.list_runtimes(), req.query)
        return _Response(
            200, _with_token({"agentRuntimes": [runtime_summary(rt) for rt in items]}, token)
        )

    async def _list_versions(self, req: _Request) -> _Response:
        rt = self.registry.get(req.params["agentRuntimeId"])
        versions = sorted(rt.versions.values(), key=lambda v: v.version, reverse=True)
        items, token = _paginate(versions, req.query)
        return _Response(
            200, _with_token({"agentRuntimes": [runtime_summary(rt, v) for v in items]}, token)
        )

    # --- tags (runtimes only: the rest of the service's resources are moto's) ------------

    async def _tag_resource(self, req: _Request) -> _Response:
        self.registry.tag(req.params["resourceArn"], check_tags(req.body.get("tags")))
        return _Response(204, {})

    async def _list_tags(self, req: _Request) -> _Response:
        return _Response(200, {"tags": self.registry.tags_of(req.params["resourceArn"])})

    async def _untag_resource(self, req: _Request) -> _Response:
        self.registry.untag(req.params["resourceArn"], json.loads(req.query["tagKeys"]))
        return _Response(204, {})

    # --- endpoints ----------------------------------------------------------------------

    async def _create_endpoint(self, req: _Request) -> _Response:
        runtime_id = req.params["agentRuntimeId"]
        self.registry.get(runtime_id)
        name = check_endpoint_name(req.body.get("name"))
        version = _optional_version(req.body.get("agentRuntimeVersion"))
        description = check_endpoint_description(req.body.get("description"))
        ep = self.registry.create_endpoint(runtime_id, name, version, description)
        rt = self.registry.get(runtime_id)
        self._spawn(self._settle(runtime_id, name))
        return _Response(
            202,
            {
                "targetVersion": str(ep.target_version),
                "agentRuntimeEndpointArn": rt.endpoint_arn(name),
                "agentRuntimeArn": rt.arn,
                "agentRuntimeId": runtime_id,
                "endpointName": name,
                "status": ep.status,
                "createdAt": iso(ep.created_at),
            },
        )

    async def _update_endpoint(self, req: _Request) -> _Response:
        runtime_id, name = req.params["agentRuntimeId"], req.params["endpointName"]
        version = _optional_version(req.body.get("agentRuntimeVersion"))
        description = check_endpoint_description(req.body.get("description"))
        ep = self.registry.update_endpoint(runtime_id, name, version, description)
        rt = self.registry.get(runtime_id)
        self._spawn(self._settle(runtime_id, name))
        body: dict[str, Any] = {
            "targetVersion": str(ep.target_version),
            "agentRuntimeEndpointArn": rt.endpoint_arn(name),
            "agentRuntimeArn": rt.arn,
            "status": ep.status,
            "createdAt": iso(ep.created_at),
            "lastUpdatedAt": iso(ep.last_updated_at),
        }
        if ep.live_version is not None:
            body["liveVersion"] = str(ep.live_version)
        return _Response(202, body)

    async def _get_endpoint(self, req: _Request) -> _Response:
        runtime_id, name = req.params["agentRuntimeId"], req.params["endpointName"]
        ep = self.registry.get_endpoint(runtime_id, name)
        return _Response(200, endpoint_body(self.registry.get(runtime_id), ep))

    async def _delete_endpoint(self, req: _Request) -> _Response:
        runtime_id, name = req.params["agentRuntimeId"], req.params["endpointName"]
        ep = self.registry.delete_endpoint(runtime_id, name)
        return _Response(
            202,
            {
                "status": ep.status,
                "agentRuntimeId": runtime_id,
                "endpointName": name,
            },
        )

    async def _list_endpoints(self, req: _Request) -> _Response:
        rt = self.registry.get(req.params["agentRuntimeId"])
        items, token = _paginate(list(rt.endpoints.values()), req.query)
        return _Response(
            200,
            _with_token({"runtimeEndpoints": [endpoint_summary(rt, ep) for ep in items]}, token),
        )

    # --- background work ------------------------------------------------------------------

    async def _check_role(self, role_arn: str) -> None:
        problem = await self._role_checker(role_arn)
        if problem is not None:
            raise ValidationError(problem, field="roleArn")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start_prepare(self, runtime_id: str, version: int, config: RuntimeVersionConfig) -> None:
        task = self._spawn(self._prepare(runtime_id, version, config))
        self._prepare_tasks[runtime_id] = task

        def _forget(done: asyncio.Task[None]) -> None:
            if self._prepare_tasks.get(runtime_id) is done:
                del self._prepare_tasks[runtime_id]

        task.add_done_callback(_forget)

    async def _prepare(self, runtime_id: str, version: int, config: RuntimeVersionConfig) -> None:
        reason: str | None = None
        try:
            await self._preparer.prepare(runtime_id, str(version), config)
        except ArtifactError as exc:
            reason = exc.failure_reason
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("preparing %s version %s failed", runtime_id, version)
            reason = f"Internal error while preparing the artifact: {exc}"
        self.registry.finish_version(runtime_id, version, reason)

    async def _settle(self, runtime_id: str, endpoint_name: str) -> None:
        await asyncio.sleep(self.endpoint_settle_seconds)
        self.registry.settle_endpoint(runtime_id, endpoint_name)

    async def _finish_delete(self, runtime_id: str) -> None:
        task = self._prepare_tasks.pop(runtime_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._on_runtime_deleted is not None:
            try:
                await self._on_runtime_deleted(runtime_id)
            except Exception:
                log.exception("on_runtime_deleted(%s) failed", runtime_id)
        if isinstance(self._preparer, DiscardsArtifacts):
            # After the sessions stopped: nothing runs from these files any more.
            try:
                await self._preparer.discard(runtime_id)
            except Exception:
                log.exception("discarding the artifacts of %s failed", runtime_id)
        self.registry.remove_runtime(runtime_id)

    def _identity(self, rt: RuntimeRecord) -> dict[str, str]:
        return workload_identity(rt, self.registry.region, self.registry.account_id)


# --- request/response helpers ---------------------------------------------------------------


def _raw_path(scope: Scope) -> str:
    """The path as sent (percent-encoding kept, so an encoded `/` stays in its segment)."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else str(scope["path"])


async def _read_json(receive: Receive) -> Mapping[str, Any]:
    try:
        data = await read_body(receive)
    except ClientDisconnected:
        data = b""
    if not data.strip():
        return {}
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            f"The request body is not valid JSON: {exc}", reason="CannotParse"
        ) from exc
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.", reason="CannotParse")
    return body


def _optional_version(value: Any) -> int | None:
    return None if value is None else check_version(value)


def _paginate(items: list[Any], query: Mapping[str, str]) -> tuple[list[Any], str | None]:
    raw_max = query.get("maxResults")
    limit = DEFAULT_MAX_RESULTS
    if raw_max is not None:
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= MAX_RESULTS:
            raise ValidationError(
                f"maxResults must be between 1 and {MAX_RESULTS}.", field="maxResults"
            )
        limit = int(raw_max)
    start = 0
    raw_token = query.get("nextToken")
    if raw_token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(raw_token.encode()))["offset"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise ValidationError(
                "nextToken is not a token this API returned.", field="nextToken"
            ) from exc
        if start < 0:
            raise ValidationError("nextToken is not a token this API returned.", field="nextToken")
    page = items[start : start + limit]
    end = start + len(page)
    if end >= len(items):
        return page, None
    token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return page, token


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        body["nextToken"] = token
    return body


async def _send_json(
    send: Send, status: int, body: Mapping[str, Any], request_id: str, error_type: str | None
) -> None:
    payload = b"" if status == 204 else json.dumps(body).encode()  # 204 carries no body
    await _send_payload(send, status, payload, request_id, error_type)


async def _send_error(send: Send, error: ControlPlaneError, request_id: str) -> None:
    status, headers, payload = error.render()  # the one renderer of AWS service errors
    await _send_payload(send, status, payload, request_id, headers["x-amzn-errortype"])


async def _send_payload(
    send: Send, status: int, payload: bytes, request_id: str, error_type: str | None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-amzn-requestid", request_id.encode()),
    ]
    if error_type is not None:
        headers.append((b"x-amzn-errortype", error_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
