"""Which request headers a runtime may allowlist, and which reach its instances.

The rules are the developer guide's ("Pass custom headers to Amazon Bedrock AgentCore
Runtime", late 2026; the contract's section 1): any valid header name may be listed
unless it is restricted; `x-amz-*` never (SigV4 owns them); `x-amzn-*` only with the
older `X-Amzn-Bedrock-AgentCore-Runtime-Custom-` prefix; `Authorization` is forwarded
only to runtimes with a custom JWT authorizer. Names compare case-insensitively.
"""

from __future__ import annotations

CUSTOM_HEADER_PREFIX = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-"
MAX_ALLOWLISTED_VALUE_BYTES = 4096

# The guide's restricted table, by category. Lower-case.
_RESTRICTED_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "authentication": ("proxy-authorization", "www-authenticate"),
    "content negotiation": (
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-location",
        "content-range",
    ),
    "caching": (
        "cache-control",
        "etag",
        "expires",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "pragma",
        "vary",
    ),
    "connection management": ("connection", "keep-alive", "proxy-connection", "upgrade"),
    "request context": ("host", "user-agent", "referer", "from"),
    "range and transfer": ("range", "accept-ranges", "transfer-encoding", "te", "trailer"),
    "server information": ("server", "date", "location", "retry-after"),
    "cookies": ("set-cookie", "cookie"),
    "security": (
        "content-security-policy",
        "content-security-policy-report-only",
        "strict-transport-security",
        "x-content-type-options",
        "x-frame-options",
        "x-xss-protection",
        "referrer-policy",
        "permissions-policy",
        "cross-origin-embedder-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
    ),
    "CORS": (
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-credentials",
        "access-control-expose-headers",
        "access-control-max-age",
        "access-control-request-method",
        "access-control-request-headers",
        "origin",
    ),
    "client hints": (
        "accept-ch",
        "accept-ch-lifetime",
        "dpr",
        "width",
        "viewport-width",
        "downlink",
        "ect",
        "rtt",
        "save-data",
    ),
    "experimental": (
        "clear-site-data",
        "feature-policy",
        "expect-ct",
        "public-key-pins",
        "public-key-pins-report-only",
    ),
    "proxy": (
        "via",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "x-requested-with",
        "x-csrf-token",
        "true-client-ip",
        "x-client-ip",
        "x-cluster-client-ip",
        "x-originating-ip",
        "x-source-ip",
        "x-original-url",
        "x-original-host",
        "x-rewrite-url",
        "cf-ray",
        "cf-connecting-ip",
        "x-cache",
        "x-served-by",
    ),
    "server push": ("link",),
    "websocket": (
        "sec-websocket-key",
        "sec-websocket-accept",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    ),
}
RESTRICTED_HEADERS: dict[str, str] = {
    name: category for category, names in _RESTRICTED_BY_CATEGORY.items() for name in names
}


def allowlist_refusal(name: str) -> str | None:
    """Why `name` cannot be allowlisted, or None when it can."""
    lower = name.lower()
    if lower in RESTRICTED_HEADERS:
        return f"{name!r} is a restricted header ({RESTRICTED_HEADERS[lower]})"
    if lower.startswith("x-amz-"):
        return f"{name!r} starts with x-amz-, which is reserved for SigV4 signing"
    prefix = CUSTOM_HEADER_PREFIX.lower()
    if lower.startswith("x-amzn-") and not (lower.startswith(prefix) and len(lower) > len(prefix)):
        return (
            f"{name!r} starts with x-amzn-, which is reserved; only {CUSTOM_HEADER_PREFIX}* "
            "may be used"
        )
    return None


def forwarded_custom_headers(
    received: list[tuple[str, str]], allowlist: tuple[str, ...], *, jwt_runtime: bool
) -> dict[str, str]:
    """The allowlisted headers of a request that reach the instance (lower-case names)."""
    allow = {h.lower() for h in allowlist}
    if not jwt_runtime:
        allow.discard("authorization")
    out: dict[str, str] = {}
    for key, value in received:
        if key in allow and len(value.encode()) <= MAX_ALLOWLISTED_VALUE_BYTES:
            out[key] = value
    return out
