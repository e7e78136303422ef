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
   AssumeRoleWithWebIdentity, whose token `webidentity` verifies as STS does), and a
   user pool's `.well-known` documents. A request counts as one of these only in a shape
   the embedded AWS routes and dispatches to that very operation (`unsigned_operation`):
   moto picks the service from the target header or the form body and the operation from
   the form, the query string or the target, so a label an attacker puts anywhere else
   (`?Action=AssumeRoleWithWebIdentity` on what moto serves as an S3 listing) counts
   for nothing.
4. **moto's own routes are not AWS.** `/moto-api/...` (reset, a state dump with every
   secret key, seeding, recording, proxy passthrough, canned results), its dashboard and
   its instance-metadata emulation (`/latest/meta-data/`, `/latest/api/`) are refused
   before any signature is looked at (`moto_own_route`): a signed request with a
   well-known key must not wipe or dump the embedded AWS.
5. **The well-known pair signs no URL.** `test`/`test` is public, and a presigned URL
   needs no header and no CORS: `<img src>` on any web page would send it. So the pair
   is refused on presigned requests and on query-protocol GETs that change something.

A refusal is written in the calling service's own error shape (S3's XML, the query
protocol's XML, or the JSON protocols' `__type`), so boto3 raises what it raises
against AWS.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, unquote
from xml.sax.saxutils import escape

from agentcore_mcp.asgi import is_loopback_host, is_loopback_origin, split_host
from agentcore_mcp.auth import (
    SecretLookup,
    SigV4Error,
    SigV4MissingAuthorizationError,
    SigV4Secret,
    SigV4SecurityTokenError,
    SigV4SignatureMismatchError,
    SigV4UnknownAccessKeyError,
)
from agentcore_mcp.local.credentials import WELL_KNOWN_KEY

# Services that speak the query protocol (form-encoded Action=..., XML answers).
QUERY_PROTOCOL_SERVICES = frozenset(
    {"iam", "sts", "sns", "ec2", "cloudformation", "monitoring", "autoscaling", "rds"}
)
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})
# Global services sign with us-east-1 whatever the client's region.
GLOBAL_SERVICES = frozenset({"iam", "sts", "cloudfront", "route53", "organizations"})

# moto's server routes these paths to itself (moto_server/werkzeug_app.py, by path
# alone, whatever the Host or signature), never to an AWS service model.
_MOTO_OWN_PREFIXES = ("/moto-api", "/latest/meta-data/", "/latest/api/")
_MOTO_OWN_PATHS = frozenset({"/favicon.ico", "/latest/meta-data", "/latest/api"})

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


def moto_own_route(*paths: str) -> bool:
    """Whether any of `paths` (as received, or as decoded) reaches one of moto's own routes
    rather than an AWS API: looked at the way moto or anything on the way could read it,
    percent-decoded, with `//`, `.` and `..` segments folded and in any letter case."""
    for path in paths:
        for candidate in {path, unquote(path)}:
            folded = _fold_path(candidate).lower()
            if folded in _MOTO_OWN_PATHS or folded.startswith(_MOTO_OWN_PREFIXES):
                return True
    return False


def _fold_path(path: str) -> str:
    """`path` with empty, `.` and `..` segments folded as a URL normalizer would."""
    kept: list[str] = []
    for segment in path.split("?", 1)[0].split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    return "/" + "/".join(kept) + ("/" if path.endswith("/") and kept else "")


@functools.cache
def unsigned_operations(service: str) -> frozenset[str]:
    """The operations botocore's model for `service` marks as needing no signature."""
    from agentcore_mcp.runtime_rules import service_model

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
    """The AWS operation this unsigned request is, when AWS serves it unsigned.

    Only a shape that the embedded AWS routes *and* dispatches to that operation counts.
    moto's router (no Authorization header) picks the service from `X-Amz-Target`, then
    from an `Action` in a form body, then from the path, else S3; each service then takes
    the operation from the form body, else the query string, else the target. So:
    - Cognito: POST `/`, `X-Amz-Target: AWSCognitoIdentityProviderService.<op>`, a JSON
      body, no query string and no `Action` anywhere moto looks before the target: the
      query, the body read as a form (`{"x": "&Action=AdminCreateUser&"}` is one), or,
      for an empty body, the headers;
    - STS: POST `/`, a form body naming the operation exactly once, no target header, no
      query string (whose parameters moto would read before the form's);
    - a user pool's `.well-known` documents: GET with no body and no target header.
    Anything else needs a signature, whatever it says about itself.
    """
    if headers.get("content-encoding", "identity").lower() != "identity":
        return None  # moto inflates the body after routing on the compressed one
    target = headers.get("x-amz-target")
    if method == "GET" and _WELL_KNOWN.match(path) and target is None and not body:
        return "WellKnownDocument"
    if method != "POST" or path != "/" or query:
        return None
    content_type = headers.get("content-type", "").lower()
    if target is not None:
        service, _, op = target.partition(".")
        if (
            service == "AWSCognitoIdentityProviderService"
            and content_type.startswith("application/x-amz-json")
            and op in unsigned_operations("cognito-idp")
            and not _names_an_action(body, headers)
        ):
            return op
        return None
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    params = form_params(body)
    action = params.get("Action") if params is not None else None
    if action is not None and action in unsigned_operations("sts"):
        return action
    return None


def _names_an_action(body: bytes, headers: dict[str, str]) -> bool:
    """Whether moto, finding no form and no query string, would take an operation from
    this body read as a form, or else from an `Action` header, before the target's."""
    if "action" in headers:
        return True
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return True  # not what an SDK sends; not worth reasoning about
    return any(name == "Action" for name, _ in parse_qsl(text, keep_blank_values=True))


def form_params(body: bytes) -> dict[str, str] | None:
    """A query-protocol form body as one value per name, or None when moto's router and
    its form parser could read it differently (a name twice, a pair without '=' or with
    two, an encoded `Action`, a body that is not UTF-8): such a body is not unsigned."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    pairs = text.split("&") if text else []
    if any(pair.count("=") != 1 for pair in pairs):
        return None  # moto's router then finds no Action, and routes elsewhere
    parsed = parse_qs(text, keep_blank_values=True)
    if any(len(values) != 1 for values in parsed.values()):
        return None
    as_routed = dict(pair.split("=", 1) for pair in pairs)  # moto's router: no decoding
    if len(as_routed) != len(pairs):
        return None
    params = {name: values[0] for name, values in parsed.items()}
    if as_routed.get("Action") != params.get("Action"):
        return None  # `Act%69on=...`: moto would route on no Action, then run one
    return params


def _query_action(query: str, headers: dict[str, str], body: bytes) -> str | None:
    found = parse_qs(query).get("Action")
    if found:
        return found[0]
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        found = parse_qs(body[:4096].decode("latin-1")).get("Action")
        if found:
            return found[0]
    return None


# Query-protocol operations that only read. STS's other Get* mint credentials.
_READ_PREFIXES = ("Get", "List", "Describe")
_STS_READS = frozenset({"GetCallerIdentity", "GetAccessKeyInfo"})


def changes_state_by_get(
    method: str, service: str | None, query: str, headers: dict[str, str], body: bytes
) -> bool:
    """A GET or HEAD that the query protocol makes an operation which changes something
    (`GET /?Action=CreateUser&...`): what a web page can make a browser send, with no
    Origin header, from a URL alone. Every `Action` counts, the query's and a form
    body's (which moto reads first)."""
    if method not in ("GET", "HEAD") or service not in QUERY_PROTOCOL_SERVICES:
        return False
    names = parse_qs(query).get("Action", [])
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        names += parse_qs(body.decode("latin-1")).get("Action", [])
    if service == "sts":
        return any(name not in _STS_READS for name in names)
    return any(not name.startswith(_READ_PREFIXES) for name in names)


def without_well_known_pair(lookup: SecretLookup, where: str) -> SecretLookup:
    """`lookup`, except that the well-known pair is refused `where`, as an unknown key."""

    def lookup_secret(access_key_id: str) -> str | SigV4Secret | None:
        if access_key_id == WELL_KNOWN_KEY:
            raise SigV4UnknownAccessKeyError(
                f"the well-known pair {WELL_KNOWN_KEY}/{WELL_KNOWN_KEY} is not accepted {where}: "
                "any web page can make a browser fetch such a URL. Sign with this local "
                'AgentCore\'s own key instead (`eval "$(agentcore-mcp local env)"`)'
            )
        return lookup(access_key_id)

    return lookup_secret


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
        return query_refusal(403, code, message)
    if isinstance(exc, SigV4UnknownAccessKeyError | SigV4SecurityTokenError):
        code = "UnrecognizedClientException"
    elif isinstance(exc, SigV4MissingAuthorizationError):
        return json_refusal(403, "MissingAuthenticationTokenException", message)
    else:  # a bad signature, an expired one, a wrong scope: as AWS's JSON services say
        code = "InvalidSignatureException"
    return json_refusal(400, code, message)


def too_large_refusal(protocol: str, message: str) -> Refusal:
    """413 for a request body over the gateway's bound, in the service's error shape."""
    if protocol == "s3":
        return _xml_refusal(413, f"<Error>{_xml_fields('EntityTooLarge', message)}</Error>")
    if protocol == "query":
        return query_refusal(413, "RequestEntityTooLarge", message)
    return json_refusal(413, "RequestEntityTooLargeException", message)


def query_refusal(status: int, code: str, message: str) -> Refusal:
    """An error of a query-protocol service (IAM, STS, ...): the XML botocore parses."""
    return _xml_refusal(
        status,
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"{_xml_fields(code, message)}</Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
    )


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
