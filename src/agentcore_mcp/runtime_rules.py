"""AgentCore Runtime's rules for a runtime's settings, in one place.

The deployer checks its settings with these before it writes anything, and the local
AgentCore's control plane checks CreateAgentRuntime / UpdateAgentRuntime with the same
functions, so what one refuses the other refuses, in the same words.

Patterns, enums and length limits come from botocore's `bedrock-agentcore-control` model,
the same service model boto3 is built from (a botocore upgrade that changes a rule changes
ours with it). What the model does not carry is written here from the AgentCore developer
guide: the lifecycle range on microVMs (60..28800 s, idle at most maxLifetime; the model
allows up to 14 days), and the header allowlist's restricted names and prefixes ("Pass
custom headers to Amazon Bedrock AgentCore Runtime", late 2026): any valid header name may
be listed unless it is restricted; `x-amz-*` never (SigV4 owns them); `x-amzn-*` only with
the `X-Amzn-Bedrock-AgentCore-Runtime-Custom-` prefix. Header names compare
case-insensitively.

Each `*_problem` function returns None when the value is accepted, else one sentence
saying what is wrong and what is allowed; the caller puts its own field name in front
(the API's field on the control plane, the flag in the deployer).

botocore is imported on first use: the deploy, local and client extras all install it,
and the server kit never imports this module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

SERVICE = "bedrock-agentcore-control"

# API field names, as the control plane's ValidationException names them.
NAME_FIELD = "agentRuntimeName"
IDLE_TIMEOUT_FIELD = "lifecycleConfiguration.idleRuntimeSessionTimeout"
MAX_LIFETIME_FIELD = "lifecycleConfiguration.maxLifetime"
HEADER_ALLOWLIST_FIELD = "requestHeaderConfiguration.requestHeaderAllowlist"

LIFETIME_MIN, LIFETIME_MAX = 60, 28800
DEFAULT_IDLE_TIMEOUT_SECONDS = 900
DEFAULT_MAX_LIFETIME_SECONDS = 28800
MAX_ENV_VARS = 50  # the model's EnvironmentVariablesMap max
CUSTOM_HEADER_PREFIX = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-"


# --- botocore's model ------------------------------------------------------------------


@functools.cache
def _model() -> Any:
    return service_model(SERVICE)


def service_model(service: str) -> Any:
    """botocore's model of `service`, read straight from botocore's data files: a session
    would read the user's AWS config first, and a broken AWS_PROFILE must not stop the
    local AgentCore (or a command that only validates names)."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model(service, "service-2"), service)


@functools.cache
def pattern(shape: str) -> re.Pattern[str]:
    """The shape's `pattern`, compiled for `fullmatch` (the model's patterns are whole-value)."""
    found = _model().shape_for(shape).metadata.get("pattern")
    if not isinstance(found, str):
        raise LookupError(f"{SERVICE} shape {shape} has no pattern")
    return re.compile(found)


def enum(shape: str) -> tuple[str, ...]:
    """The shape's allowed values, in the model's order."""
    values = _model().shape_for(shape).enum
    if not values:
        raise LookupError(f"{SERVICE} shape {shape} has no enum")
    return tuple(str(v) for v in values)


def length(shape: str) -> tuple[int | None, int | None]:
    """The shape's (min, max) length or count, as the model declares them."""
    meta = _model().shape_for(shape).metadata
    low, high = meta.get("min"), meta.get("max")
    return (int(low) if low is not None else None, int(high) if high is not None else None)


# --- the runtime's name ----------------------------------------------------------------


def runtime_name_problem(name: str) -> str | None:
    """What is wrong with `name` as a runtime (or endpoint) name, or None."""
    if pattern("AgentRuntimeName").fullmatch(name) is not None:
        return None
    if not name:
        problem = "it is empty"
    elif "-" in name:
        problem = "no hyphens are allowed (use underscores instead)"
    elif not name[0].isascii() or not name[0].isalpha():
        problem = "it must start with a letter"
    elif len(name) > 48:
        problem = f"it is {len(name)} characters long; the limit is 48"
    else:
        problem = "only letters, digits and underscores are allowed"
    return (
        f"{name!r}: {problem}. Names match [a-zA-Z][a-zA-Z0-9_]{{0,47}}: a letter, then up "
        "to 47 letters, digits or underscores."
    )


# --- lifecycle -------------------------------------------------------------------------


def lifecycle_settings(idle_timeout: int | None, max_lifetime: int | None) -> tuple[int, int]:
    """The (idle timeout, max lifetime) a runtime gets: an omitted maxLifetime is 28800 s;
    an omitted idle timeout is 900 s, but never more than maxLifetime."""
    life = max_lifetime if max_lifetime is not None else DEFAULT_MAX_LIFETIME_SECONDS
    idle = idle_timeout if idle_timeout is not None else min(DEFAULT_IDLE_TIMEOUT_SECONDS, life)
    return idle, life


def lifecycle_problem(idle_timeout: int | None, max_lifetime: int | None) -> tuple[str, str] | None:
    """(the API field at fault, what is wrong), or None when AgentCore accepts the pair."""
    for field, value in ((IDLE_TIMEOUT_FIELD, idle_timeout), (MAX_LIFETIME_FIELD, max_lifetime)):
        if value is not None and not LIFETIME_MIN <= value <= LIFETIME_MAX:
            return field, f"{value} s is outside {LIFETIME_MIN}..{LIFETIME_MAX} seconds."
    idle, life = lifecycle_settings(idle_timeout, max_lifetime)
    if idle > life:
        return (
            IDLE_TIMEOUT_FIELD,
            f"idleRuntimeSessionTimeout ({idle} s) must be less than or equal to "
            f"maxLifetime ({life} s).",
        )
    return None


# --- the request header allowlist ------------------------------------------------------

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
    """Why `name`, a well-formed header name, cannot be allowlisted, or None when it can."""
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


def header_allowlist_problem(names: Sequence[str]) -> str | None:
    """What is wrong with `names` as a runtime's request header allowlist, or None."""
    low, high = length("RequestHeaderAllowlist")
    if low is not None and len(names) < low:
        return f"must hold at least {low} item(s)."
    if high is not None and len(names) > high:
        return f"must hold at most {high} items (got {len(names)})."
    seen: set[str] = set()
    for name in names:
        if pattern("HeaderName").fullmatch(name) is None:
            return f"{name!r} is not a valid header name."
        if name.lower() in seen:
            return f"{name!r} is listed twice (names are case-insensitive)."
        seen.add(name.lower())
        refusal = allowlist_refusal(name)
        if refusal is not None:
            return f"{refusal}; it cannot be allowlisted."
    return None
