"""The HTTP transport under every runtime connection: bounded retries and refusals that
say what to fix.

- A cold start (424), a `RetryableConflict`, a throttle and the platform's transient
  failures are retried by `client.retries`, the policy the proxy's forwarder runs too.
- A refusal from the platform (it carries `x-amzn-ErrorType`) keeps its status, and its
  JSON-RPC error message gets the hint for this case (wrong method, expired token, ID
  token, client id not allowed, missing permission, ...). Non-JSON-RPC refusals (424's
  `{"message": ...}`) become a JSON-RPC error for the request's id, so the official
  client shows the hint instead of "Server returned an error response".
Answers that are not platform refusals pass through untouched and unread (streams stay
streams).
"""

from __future__ import annotations

import json

import httpx2

from agentcore_mcp.client.retries import (
    ERROR_TYPE_HEADER,
    Refusal,
    RetryPolicy,
    read_refusal,
    send_with_retries,
)
from agentcore_mcp.jsonrpc import request_id

__all__ = [
    "ERROR_TYPE_HEADER",
    "RetryPolicy",
    "RuntimeTransport",
    "explain_refusal",
    "explained",
]


def explain_refusal(
    status: int, error_type: str, detail: str, auth: str | None, *, suggest_test_auth: bool = True
) -> str:
    """What to fix, for a refusal from the data plane. `auth` is the method used;
    `suggest_test_auth` False when the caller is `test-auth` itself."""
    text = detail.lower()
    if "authorization method mismatch" in text or "different authorization method" in text:
        other = "--oauth" if auth == "sigv4" else "--sigv4"
        more = (
            " (or run `agentcore-mcp test-auth` to see which method it accepts)"
            if suggest_test_auth
            else ""
        )
        return f"this runtime does not use {auth or 'this auth method'}: retry with {other}{more}"
    if "id token" in text:
        return (
            "an ID token was sent where an access token is needed: Cognito ID tokens carry "
            "aud and no client_id; send the access token (agentcore-mcp does this itself)"
        )
    if "expired" in text and status == 401:
        return "the bearer token expired: get a new one (the proxy and `--oauth` renew it)"
    if "allowedclients" in text.replace(" ", "") or ("client_id" in text and "not" in text):
        return (
            "the token's client id is not in the runtime's allowedClients: use the app client "
            "the runtime was deployed with, or add this client id to allowedClients"
        )
    if "invokeagentruntime" in text or "not authorized to perform" in text:
        return (
            "your IAM identity lacks bedrock-agentcore:InvokeAgentRuntime on this runtime: "
            "add it to the identity's policy"
        )
    if status == 403 and ("access key" in text or "security token" in text):
        return (
            "AWS refused the credentials (unknown, revoked or expired access key): refresh "
            "them (`aws sso login`, new keys) and check `aws sts get-caller-identity`"
        )
    if status == 403 and "signature" in text:
        return "the SigV4 signature did not verify: check the region and the system clock"
    if status == 401:
        return (
            "the runtime uses OAuth and refused the bearer token: check the token comes from "
            "the runtime's discovery URL's issuer and is an access token"
        )
    if status == 403:
        return "access denied: check the auth method (--sigv4/--oauth) and IAM permissions"
    if "being deleted" in text:
        return "the runtime is being deleted: redeploy it (`agentcore-mcp deploy`) or pick another"
    if status == 404 or error_type == "ResourceNotFoundException":
        return (
            "the runtime (or its session) does not exist: check the ARN, region and qualifier, "
            "or redeploy (`agentcore-mcp deploy`)"
        )
    if status == 424 or error_type == "RuntimeClientError":
        return (
            "the runtime did not start or the tool failed: read its logs "
            "(CloudWatch /aws/bedrock-agentcore/runtimes/..., or `agentcore-mcp local logs`)"
        )
    if error_type in ("ThrottlingException", "ServiceQuotaExceededException"):
        return "rate or session quota exceeded: slow down or raise the quota"
    if error_type == "RetryableConflictException":
        return "the session is busy with another operation: retry shortly"
    if error_type == "ValidationException":
        return "the request was invalid for the data plane; see the detail"
    return "see the detail"


def explained(
    status: int,
    error_type: str,
    body: bytes,
    request_body: bytes,
    auth: str | None,
    *,
    suggest_test_auth: bool = True,
) -> tuple[bytes, bool] | None:
    """A refusal's body with the hint added: (JSON-RPC error, whether its content type is
    now application/json), or None when the body is neither JSON-RPC nor a refusal (it
    passes through as it came). Shared by `RuntimeTransport` and the proxy's forwarder."""
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        error = doc["error"]
        data = error.get("data")
        detail = str(data.get("detail", "")) if isinstance(data, dict) else ""
        hint = explain_refusal(
            status, error_type, detail, auth, suggest_test_auth=suggest_test_auth
        )
        base = str(error.get("message", ""))
        error["message"] = f"{base}: {detail} -> {hint}" if detail else f"{base} -> {hint}"
        return json.dumps(doc).encode(), False
    if (isinstance(doc, dict) and "message" in doc) or status >= 400:
        detail = str(doc.get("message", "")) if isinstance(doc, dict) else ""
        detail = detail or body.decode("utf-8", "replace")[:500]
        hint = explain_refusal(
            status, error_type, detail, auth, suggest_test_auth=suggest_test_auth
        )
        doc = {
            "jsonrpc": "2.0",
            "id": request_id(request_body),
            "error": {
                "code": -32603,
                "message": f"HTTP {status} {error_type}: {detail} -> {hint}".replace("  ", " "),
                "data": {"detail": detail, "status": status, "errorType": error_type},
            },
        }
        return json.dumps(doc).encode(), True
    return None


class RuntimeTransport(httpx2.AsyncBaseTransport):
    """Wraps an `httpx2.AsyncHTTPTransport`: retries transient refusals and explains others."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport | None = None,
        *,
        auth_method: str | None = None,
        policy: RetryPolicy | None = None,
        suggest_test_auth: bool = True,
    ) -> None:
        self.inner = inner or httpx2.AsyncHTTPTransport()
        self.auth_method = auth_method
        self.suggest_test_auth = suggest_test_auth
        self.policy = policy or RetryPolicy()
        self.retries = 0
        #: answers that were not platform refusals: a runtime session exists once one came
        self.answered = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        async def send() -> tuple[httpx2.Response, Refusal | None]:
            response = await self.inner.handle_async_request(request)
            error_type = response.headers.get(ERROR_TYPE_HEADER)
            if error_type is None and response.status_code < 400:
                return response, None  # the common path: nothing read, nothing copied
            try:
                body = await read_refusal(response.aiter_raw())
            finally:
                await response.aclose()
            return response, Refusal(response.status_code, error_type, body)

        response, refusal, retries = await send_with_retries(send, self.policy)
        self.retries += retries
        if refusal is None:
            self.answered += 1
            return response
        return self._explained(request, response, refusal.error_type or "", refusal.body)

    def _explained(
        self, request: httpx2.Request, response: httpx2.Response, error_type: str, body: bytes
    ) -> httpx2.Response:
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        ]
        try:
            request_body = request.content
        except httpx2.RequestNotRead:
            request_body = b""
        status = response.status_code
        result = explained(
            status,
            error_type,
            body,
            request_body,
            self.auth_method,
            suggest_test_auth=self.suggest_test_auth,
        )
        if result is None:
            return httpx2.Response(
                status,
                headers=headers,
                content=body,
                request=request,
                extensions=response.extensions,
            )
        content, json_type = result
        if json_type:
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("content-type", "application/json"))
        return httpx2.Response(status, headers=headers, content=content, request=request)
