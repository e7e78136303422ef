"""Constants and header helpers both SigV4 directions share."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta

import botocore.auth

#: The signing name of both AgentCore planes (`bedrock-agentcore` and `-control`).
DEFAULT_SERVICE = "bedrock-agentcore"
ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = botocore.auth.SIGV4_TIMESTAMP  # 20250101T120000Z
DEFAULT_MAX_SKEW = timedelta(minutes=5)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Never signed by us, on top of botocore's own blacklist (user-agent, connection, expect,
# transfer-encoding, te, trace headers, ...): our own output headers (replaced on every
# signing, so a retry re-signs cleanly) and headers a proxy or the HTTP stack may rewrite
# in transit. The body itself is covered by the payload hash.
NOT_SIGNED = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "content-length",
        "accept-encoding",
    }
)

SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: X-Amz-Content-SHA256 values that say the body is not covered by the signature (S3's
#: unsigned and aws-chunked uploads). Accepted only where the caller allows it.
UNSIGNED_PAYLOAD_HASHES = frozenset(
    {
        UNSIGNED_PAYLOAD,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
#: Longest a presigned URL may live (AWS's limit for SigV4 query signing: 7 days).
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z")


HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]]


def header_items(headers: HeadersInput) -> list[tuple[str, str]]:
    """(name, value) pairs, keeping repeated headers apart where the container allows."""
    multi = getattr(headers, "multi_items", None)
    if callable(multi):  # httpx2 Headers merge repeats in .items()
        return [(str(k), str(v)) for k, v in multi()]
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def get_all(items: list[tuple[str, str]], name: str) -> list[str]:
    lname = name.lower()
    return [v for k, v in items if k.lower() == lname]


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256


def absolute_url(url: str, items: list[tuple[str, str]]) -> str:
    """`url` made absolute with the request's Host (a path-only URL is what ASGI gives)."""
    if "://" in url.split("?", 1)[0]:
        return url
    hosts = get_all(items, "host")
    host = hosts[0].strip() if hosts else "localhost"
    return f"https://{host}{url if url.startswith('/') else '/' + url}"
