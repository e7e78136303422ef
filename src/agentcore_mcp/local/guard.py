"""Who may talk to the local AgentCore, and how a refusal looks to each AWS SDK.

Three rules, checked by the gateway before any route:
1. **Host and Origin.** The `Host` must be a loopback name or address (or the address
   the local AgentCore was bound to), and a browser `Origin`, when sent, must be
   loopback. A web page that rebinds its own name to 127.0.0.1 sends its own name in
   both, so it is refused before anything runs (the server kit's Origin rule, applied
   to every route).
2. **Signed AWS requests.** Requests bound for the embedded AWS are SigV4-verified with
   the same keys as the control plane (header or presigned query) before moto sees
   them. moto checks no signature itself.
3. **What AWS serves unsigned stays unsigned**: the operations botocore's service
   models mark as needing no auth (Cognito's InitiateAuth, SignUp, ...; STS
   AssumeRoleWithWebIdentity and AssumeRoleWithSAML), and a user pool's `.well-known`
   documents.

A refusal is written in the calling service's own error shape (S3's XML, the query
protocol's XML, or the JSON protocols' `__type`), so boto3 raises what it raises
against AWS.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from agentcore_mcp.asgi import is_loopback_host, is_loopback_origin, split_host
from agentcore_mcp.auth import (
    SigV4Error,
    SigV4MissingAuthorizationError,
    SigV4SecurityTokenError,
    SigV4SignatureMismatchError,
    SigV4UnknownAccessKeyError,
)

# Services that speak the query protocol (form-encoded Action=..., XML answers).
QUERY_PROTOCOL_SERVICES = frozenset(
    {"iam", "sts", "sns", "ec2", "cloudformation", "monitoring", "autoscaling", "rds"}
)
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})
# Global services sign with us-east-1 whatever the client's region.
GLOBAL_SERVICES = frozenset({"iam", "sts", "cloudfront", "route53", "organizations"})

_WELL_KNOWN = re.compile(r"^/[^/]+/\.well-known/(openid-configuration|jwks\.json)$")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A finished HTTP answer: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def host_allowed(host_header: str | None, bind_host: str) -> bool:
    """Loopback names and addresses pass, and the address we were bound to."""
    if not host_header:
        return False  # HTTP/1.1 requires Host; every SDK sends one
    hostname = split_host(host_header)
    if is_loopback_host(hostname):
        return True
    return bind_host not in ("0.0.0.0", "::", "") and hostname == bind_host.strip("[]")


def origin_allowed(origin: str | None) -> bool:
    """No Origin (every SDK, curl) passes; a browser's must be a loopback http(s) origin."""
    return origin is None or is_loopback_origin(origin)


@functools.cache
def unsigned_operations(service: str) -> frozenset[str]:
    """The operations botocore's model for `service` marks as needing no signature."""
    from agentcore_mcp.local.control.model import service_model

    try:
        model = service_model(service)
    except Exception:  # an unknown service has no unsigned operations
        return frozenset()
    names = set()
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.auth_type == "none" or "smithy.api#noAuth" in (op.auth or ()):
            names.add(name)
    return frozenset(names)


def unsigned_operation(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> str | None:
    """The name of the AWS operation this request is, when AWS serves it unsigned."""
    if method == "GET" and _WELL_KNOWN.match(path):
        return "WellKnownDocument"
    target = headers.get("x-amz-target", "")
    if target.startswith("AWSCognitoIdentityProviderService."):
        op = target.split(".", 1)[1]
        return op if op in unsigned_operations("cognito-idp") else None
    action = _query_action(query, headers, body)
    if action is not None and action in unsigned_operations("sts"):
        return action
    return None


def _query_action(query: str, headers: dict[str, str], body: bytes) -> str | None:
    found = parse_qs(query).get("Action")
    if found:
        return found[0]
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        found = parse_qs(body[:4096].decode("latin-1")).get("Action")
        if found:
            return found[0]
    return None


def protocol_of(service: str | None, headers: dict[str, str], query: str, body: bytes) -> str:
    """'s3', 'query' or 'json': the error shape this caller's SDK parses."""
    if service is not None:
        if service in S3_SERVICES:
            return "s3"
        return "query" if service in QUERY_PROTOCOL_SERVICES else "json"
    if "x-amz-target" in headers:
        return "json"
    if _query_action(query, headers, body) is not None:
        return "query"
    return "s3"


def presigned_scope(query: str) -> tuple[str | None, str | None]:
    """(service, region) from a presigned URL's X-Amz-Credential, if it has one."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "X-Amz-Credential":
            parts = unquote(value).split("/")
            if len(parts) == 5:
                return parts[3], parts[2]
    return None, None


def sigv4_refusal(protocol: str, exc: SigV4Error) -> Refusal:
    """The service's own answer to a request whose signature did not verify."""
    message = str(exc)
    if protocol == "s3":
        if isinstance(exc, SigV4UnknownAccessKeyError):
            code = "InvalidAccessKeyId"
        elif isinstance(exc, SigV4SignatureMismatchError):
            code = "SignatureDoesNotMatch"
        elif isinstance(exc, SigV4SecurityTokenError):
            code = "InvalidToken"
        else:
            code = "AccessDenied"
        return _xml_refusal(403, f"<Error>{_xml_fields(code, message)}</Error>")
    if protocol == "query":
        if isinstance(exc, SigV4UnknownAccessKeyError | SigV4SecurityTokenError):
            code = "InvalidClientTokenId"
        elif isinstance(exc, SigV4MissingAuthorizationError):
            code = "MissingAuthenticationToken"
        else:
            code = "SignatureDoesNotMatch"
        return _xml_refusal(
            403,
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"{_xml_fields(code, message)}</Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )
    if isinstance(exc, SigV4UnknownAccessKeyError | SigV4SecurityTokenError):
        code = "UnrecognizedClientException"
    elif isinstance(exc, SigV4MissingAuthorizationError):
        return json_refusal(403, "MissingAuthenticationTokenException", message)
    else:  # a bad signature, an expired one, a wrong scope: as AWS's JSON services say
        code = "InvalidSignatureException"
    return json_refusal(400, code, message)


def json_refusal(status: int, code: str, message: str) -> Refusal:
    import json

    return Refusal(
        status,
        {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code},
        json.dumps({"__type": code, "message": message}).encode(),
    )


def _xml_fields(code: str, message: str) -> str:
    return f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"


def _xml_refusal(status: int, xml: str) -> Refusal:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'.encode()
    return Refusal(status, {"content-type": "application/xml"}, body)
