"""Request validation for the control plane, with the service's patterns and limits.

Patterns and length limits come from botocore's `bedrock-agentcore-control` model; the
ranges the model does not carry (lifecycle 60..28800 s on microVMs, idle ≤ maxLifetime,
the header allowlist prefixes) come from the AgentCore developer guide. Every failure is
a `ValidationError` naming the field, so the message tells the user what to change.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from agentcore_mcp.local.control import model
from agentcore_mcp.local.control.config import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_LIFETIME_SECONDS,
    DEFAULT_SERVER_PROTOCOL,
    CodeArtifact,
    ContainerArtifact,
    ProtocolSettings,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.control.errors import ValidationError
from agentcore_mcp.local.control.headers import allowlist_refusal

__all__ = [
    "ENDPOINT_NAME_RE",
    "RUNTIME_ID_RE",
    "check_client_token",
    "check_endpoint_description",
    "check_endpoint_name",
    "check_runtime_id",
    "check_runtime_name",
    "check_tags",
    "check_version",
    "parse_runtime_config",
]

# From botocore's model (control/model.py): the service's own patterns and enums.
NAME_RE = model.pattern("AgentRuntimeName")
ENDPOINT_NAME_RE = model.pattern("EndpointName")
RUNTIME_ID_RE = model.pattern("AgentRuntimeId")
VERSION_RE = model.pattern("AgentRuntimeVersion")
ROLE_ARN_RE = model.pattern("RoleArn")
CLIENT_TOKEN_RE = model.pattern("ClientToken")
BUCKET_RE = model.pattern("S3LocationBucketString")
CONTAINER_URI_RE = model.pattern("RuntimeContainerUri")
DISCOVERY_URL_RE = model.pattern("DiscoveryUrl")
SERVER_PATH_RE = model.pattern("ServerPath")
HEADER_NAME_RE = model.pattern("HeaderName")
SCOPE_RE = model.pattern("AllowedScopeType")
TAG_KEY_RE = model.pattern("TagKey")
TAG_VALUE_RE = model.pattern("TagValue")
MAX_TAGS = 50
# The model's claim-name pattern `[A-Za-z0-9_.-:]+` reads `.-:` as a range (which would let
# `/` through); the developer guide lists the characters, so this one is written out.
CLAIM_NAME_RE = re.compile(r"[A-Za-z0-9_.\-:]+")
MATCH_VALUE_RE = model.pattern("MatchValueString")

MANAGED_RUNTIMES = model.enum("AgentManagedRuntimeType")
SERVER_PROTOCOLS = model.enum("ServerProtocol")
NETWORK_MODES = model.enum("NetworkMode")
LIFETIME_MIN, LIFETIME_MAX = 60, 28800
PORT_MIN, PORT_MAX, RESERVED_PORT = 8000, 12000, 8443
MAX_ENV_VARS = 50

# Modelled fields the local AgentCore stores and echoes back but does not act on.
PASSTHROUGH_FIELDS = (
    "hooksConfiguration",
    "metadataConfiguration",
    "filesystemConfigurations",
    "capacityProviderConfiguration",
    "platformVersion",
    "allowedPorts",
    "resourceConfigurations",
)


# --- small checks ----------------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(f"Invalid value for {field}: {message}", field=field)


def _string(
    body: Mapping[str, Any],
    key: str,
    field: str,
    *,
    required: bool = False,
    min_len: int = 1,
    max_len: int | None = None,
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError(f"Missing required field {field}.", field=field)
        return None
    if not isinstance(value, str):
        raise _fail(field, f"expected a string, got {type(value).__name__}.")
    if len(value) < min_len:
        raise _fail(field, f"must be at least {min_len} characters long.")
    if max_len is not None and len(value) > max_len:
        raise _fail(field, f"must be at most {max_len} characters long (got {len(value)}).")
    return value


def _object(
    body: Mapping[str, Any], key: str, field: str, *, required: bool = False
) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError(f"Missing required field {field}.", field=field)
        return None
    if not isinstance(value, dict):
        raise _fail(field, f"expected an object, got {type(value).__name__}.")
    return value


def _string_list(
    body: Mapping[str, Any],
    key: str,
    field: str,
    *,
    min_items: int = 1,
    max_items: int | None = None,
) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(field, "expected a list of strings.")
    if len(value) < min_items:
        raise _fail(field, f"must hold at least {min_items} item(s).")
    if max_items is not None and len(value) > max_items:
        raise _fail(field, f"must hold at most {max_items} items (got {len(value)}).")
    return list(value)


def _integer(body: Mapping[str, Any], key: str, field: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"expected an integer, got {type(value).__name__}.")
    return value


def _pattern(value: str, pattern: re.Pattern[str], field: str, hint: str) -> None:
    if pattern.fullmatch(value) is None:
        raise _fail(field, f"{value!r} does not match {pattern.pattern}. {hint}".rstrip())


def check_runtime_name(value: Any, field: str = "agentRuntimeName") -> str:
    if value is None:
        raise ValidationError(f"Missing required field {field}.", field=field)
    if not isinstance(value, str):
        raise _fail(field, "expected a string.")
    if NAME_RE.fullmatch(value) is not None:
        return value
    if not value:
        problem = "it is empty"
    elif "-" in value:
        problem = "no hyphens are allowed (use underscores instead)"
    elif not value[0].isascii() or not value[0].isalpha():
        problem = "it must start with a letter"
    elif len(value) > 48:
        problem = f"it is {len(value)} characters long; the limit is 48"
    else:
        problem = "only letters, digits and underscores are allowed"
    raise _fail(
        field,
        f"{value!r}: {problem}. Names match [a-zA-Z][a-zA-Z0-9_]{{0,47}}: a letter, then up "
        "to 47 letters, digits or underscores.",
    )


def check_endpoint_name(value: Any, field: str = "name") -> str:
    return check_runtime_name(value, field)


def check_runtime_id(value: str) -> str:
    if RUNTIME_ID_RE.fullmatch(value) is None:
        hint = (
            " Pass the runtime id (name-xxxxxxxxxx), not the ARN."
            if value.startswith("arn:")
            else ""
        )
        raise _fail("agentRuntimeId", f"{value!r} is not a runtime id.{hint}")
    return value


def check_tags(value: Any, field: str = "tags") -> dict[str, str]:
    """A TagsMap as botocore's model defines it: up to 50 keys of 1..128 characters and
    values of 0..256, both of [a-zA-Z0-9 ._:/=+@-]; keys starting aws: are AWS's own."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(field, "must be a map of tag keys to values.")
    if len(value) > MAX_TAGS:
        raise _fail(field, f"has {len(value)} tags; at most {MAX_TAGS}.")
    for key, tag_value in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not TAG_KEY_RE.fullmatch(key):
            raise _fail(field, f"tag key {key!r} must be 1..128 of [a-zA-Z0-9 ._:/=+@-].")
        if key.lower().startswith("aws:"):
            raise _fail(field, f"tag key {key!r}: the aws: prefix is reserved for AWS.")
        if (
            not isinstance(tag_value, str)
            or len(tag_value) > 256
            or not TAG_VALUE_RE.fullmatch(tag_value)
        ):
            raise _fail(field, f"tag value of {key!r} must be 0..256 of [a-zA-Z0-9 ._:/=+@-].")
    return dict(value)


def check_version(value: Any, field: str = "agentRuntimeVersion") -> int:
    if not isinstance(value, str) or VERSION_RE.fullmatch(value) is None:
        raise _fail(field, f"{value!r} is not a version number (1, 2, ...).")
    return int(value)


def check_client_token(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 33 <= len(value) <= 256:
        raise _fail("clientToken", "must be a string of 33 to 256 characters.")
    _pattern(value, CLIENT_TOKEN_RE, "clientToken", "")
    return value


def check_endpoint_description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 256:
        raise _fail("description", "must be a string of 1 to 256 characters.")
    return value


# --- the runtime configuration ---------------------------------------------------------


def _artifact(body: Mapping[str, Any]) -> CodeArtifact | ContainerArtifact:
    field = "agentRuntimeArtifact"
    spec = _object(body, field, field, required=True)
    assert spec is not None
    kinds = [k for k in ("containerConfiguration", "codeConfiguration") if spec.get(k) is not None]
    unknown = sorted(set(spec) - {"containerConfiguration", "codeConfiguration"})
    if unknown:
        raise _fail(field, f"unknown member(s) {', '.join(unknown)}.")
    if len(kinds) != 1:
        raise _fail(
            field,
            f"set exactly one of containerConfiguration or codeConfiguration (got {len(kinds)}).",
        )
    if kinds[0] == "containerConfiguration":
        container = _object(spec, "containerConfiguration", f"{field}.containerConfiguration")
        assert container is not None
        uri_field = f"{field}.containerConfiguration.containerUri"
        uri = _string(container, "containerUri", uri_field, required=True, max_len=1024)
        assert uri is not None
        _pattern(
            uri,
            CONTAINER_URI_RE,
            uri_field,
            "Use an ECR image: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST].",
        )
        return ContainerArtifact(container_uri=uri)
    code_field = f"{field}.codeConfiguration"
    code_cfg = _object(spec, "codeConfiguration", code_field)
    assert code_cfg is not None
    code = _object(code_cfg, "code", f"{code_field}.code", required=True)
    assert code is not None
    s3 = _object(code, "s3", f"{code_field}.code.s3", required=True)
    assert s3 is not None
    s3_field = f"{code_field}.code.s3"
    bucket = _string(s3, "bucket", f"{s3_field}.bucket", required=True, min_len=3, max_len=63)
    assert bucket is not None
    _pattern(bucket, BUCKET_RE, f"{s3_field}.bucket", "")
    prefix = _string(s3, "prefix", f"{s3_field}.prefix", required=True, max_len=1024)
    assert prefix is not None
    version_id = _string(s3, "versionId", f"{s3_field}.versionId", min_len=3, max_len=1024)
    runtime = _string(code_cfg, "runtime", f"{code_field}.runtime", required=True)
    if runtime not in MANAGED_RUNTIMES:
        raise _fail(
            f"{code_field}.runtime", f"{runtime!r} is not one of {', '.join(MANAGED_RUNTIMES)}."
        )
    entry_field = f"{code_field}.entryPoint"
    if code_cfg.get("entryPoint") is None:
        raise ValidationError(f"Missing required field {entry_field}.", field=entry_field)
    entry = _string_list(code_cfg, "entryPoint", entry_field, min_items=1, max_items=2)
    assert entry is not None
    if any(not 1 <= len(e) <= 128 for e in entry):
        raise _fail(entry_field, "each entry must be 1 to 128 characters long.")
    return CodeArtifact(
        bucket=bucket,
        prefix=prefix,
        version_id=version_id,
        runtime=runtime,
        entry_point=tuple(entry),
    )


def _protocol(body: Mapping[str, Any]) -> ProtocolSettings:
    field = "protocolConfiguration"
    spec = _object(body, field, field)
    if spec is None:
        return ProtocolSettings(DEFAULT_SERVER_PROTOCOL)
    proto = _string(spec, "serverProtocol", f"{field}.serverProtocol", required=True)
    if proto not in SERVER_PROTOCOLS:
        raise _fail(
            f"{field}.serverProtocol", f"{proto!r} is not one of {', '.join(SERVER_PROTOCOLS)}."
        )
    port = _integer(spec, "port", f"{field}.port")
    if port is not None:
        if not PORT_MIN <= port <= PORT_MAX:
            raise _fail(f"{field}.port", f"{port} is outside {PORT_MIN}..{PORT_MAX}.")
        if port == RESERVED_PORT:
            raise _fail(f"{field}.port", f"port {RESERVED_PORT} is reserved by AgentCore.")
    path = _string(spec, "path", f"{field}.path", max_len=2048)
    if path is not None:
        _pattern(path, SERVER_PATH_RE, f"{field}.path", "The path must begin with /.")
    return ProtocolSettings(proto, port or 0, path or "")


def _lifecycle(body: Mapping[str, Any]) -> tuple[int, int]:
    field = "lifecycleConfiguration"
    spec = _object(body, field, field) or {}
    idle = _integer(spec, "idleRuntimeSessionTimeout", f"{field}.idleRuntimeSessionTimeout")
    life = _integer(spec, "maxLifetime", f"{field}.maxLifetime")
    for name, value in (("idleRuntimeSessionTimeout", idle), ("maxLifetime", life)):
        if value is not None and not LIFETIME_MIN <= value <= LIFETIME_MAX:
            raise _fail(
                f"{field}.{name}", f"{value} s is outside {LIFETIME_MIN}..{LIFETIME_MAX} seconds."
            )
    max_lifetime = life if life is not None else DEFAULT_MAX_LIFETIME_SECONDS
    # An omitted idle timeout is the default 900 s, but never more than maxLifetime.
    idle_timeout = idle if idle is not None else min(DEFAULT_IDLE_TIMEOUT_SECONDS, max_lifetime)
    if idle_timeout > max_lifetime:
        raise _fail(
            f"{field}.idleRuntimeSessionTimeout",
            f"idleRuntimeSessionTimeout ({idle_timeout} s) must be less than or equal to "
            f"maxLifetime ({max_lifetime} s).",
        )
    return idle_timeout, max_lifetime


def _environment(body: Mapping[str, Any]) -> dict[str, str]:
    field = "environmentVariables"
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(field, "expected a map of strings.")
    if len(value) > MAX_ENV_VARS:
        raise _fail(field, f"at most {MAX_ENV_VARS} variables are allowed (got {len(value)}).")
    for key, val in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 100:
            raise _fail(field, f"name {key!r} must be 1 to 100 characters long.")
        if not isinstance(val, str) or len(val) > 5000:
            raise _fail(field, f"the value of {key} must be a string of at most 5000 characters.")
    return dict(value)


def _header_allowlist(body: Mapping[str, Any]) -> tuple[str, ...]:
    field = "requestHeaderConfiguration"
    spec = _object(body, field, field)
    if spec is None:
        return ()
    list_field = f"{field}.requestHeaderAllowlist"
    if spec.get("requestHeaderAllowlist") is None:
        raise ValidationError(f"Missing required field {list_field}.", field=list_field)
    names = _string_list(spec, "requestHeaderAllowlist", list_field, min_items=1, max_items=20)
    assert names is not None
    seen: set[str] = set()
    for name in names:
        if HEADER_NAME_RE.fullmatch(name) is None:
            raise _fail(list_field, f"{name!r} is not a valid header name.")
        if name.lower() in seen:
            raise _fail(list_field, f"{name!r} is listed twice (names are case-insensitive).")
        seen.add(name.lower())
        refusal = allowlist_refusal(name)
        if refusal is not None:
            raise _fail(list_field, f"{refusal}; it cannot be allowlisted.")
    return tuple(names)


def _authorizer(body: Mapping[str, Any]) -> dict[str, Any] | None:
    field = "authorizerConfiguration"
    spec = _object(body, field, field)
    if spec is None:
        return None
    jwt_field = f"{field}.customJWTAuthorizer"
    jwt = _object(spec, "customJWTAuthorizer", jwt_field, required=True)
    assert jwt is not None
    url = _string(jwt, "discoveryUrl", f"{jwt_field}.discoveryUrl", required=True)
    assert url is not None
    _pattern(
        url,
        DISCOVERY_URL_RE,
        f"{jwt_field}.discoveryUrl",
        "Use the issuer's discovery document, ending in /.well-known/openid-configuration "
        "or /.well-known/oauth-authorization-server.",
    )
    _string_list(jwt, "allowedAudience", f"{jwt_field}.allowedAudience")
    _string_list(jwt, "allowedClients", f"{jwt_field}.allowedClients")
    scopes = _string_list(jwt, "allowedScopes", f"{jwt_field}.allowedScopes")
    for scope in scopes or ():
        if not 1 <= len(scope) <= 255 or SCOPE_RE.fullmatch(scope) is None:
            raise _fail(f"{jwt_field}.allowedScopes", f"{scope!r} is not a valid scope.")
    _custom_claims(jwt, f"{jwt_field}.customClaims")
    return copy.deepcopy(jwt)


def _custom_claims(jwt: Mapping[str, Any], field: str) -> None:
    claims = jwt.get("customClaims")
    if claims is None:
        return
    if not isinstance(claims, list) or not claims:
        raise _fail(field, "expected a non-empty list.")
    for claim in claims:
        if not isinstance(claim, dict):
            raise _fail(field, "each claim rule must be an object.")
        name = _string(
            claim, "inboundTokenClaimName", f"{field}.inboundTokenClaimName", required=True
        )
        assert name is not None
        _pattern(name, CLAIM_NAME_RE, f"{field}.inboundTokenClaimName", "")
        kind = claim.get("inboundTokenClaimValueType")
        if kind not in ("STRING", "STRING_ARRAY"):
            raise _fail(
                f"{field}.inboundTokenClaimValueType", f"{kind!r} is not STRING or STRING_ARRAY."
            )
        match = _object(
            claim,
            "authorizingClaimMatchValue",
            f"{field}.authorizingClaimMatchValue",
            required=True,
        )
        assert match is not None
        op = match.get("claimMatchOperator")
        if op not in ("EQUALS", "CONTAINS", "CONTAINS_ANY"):
            raise _fail(
                f"{field}.authorizingClaimMatchValue.claimMatchOperator",
                f"{op!r} is not EQUALS, CONTAINS or CONTAINS_ANY.",
            )
        _object(
            match,
            "claimMatchValue",
            f"{field}.authorizingClaimMatchValue.claimMatchValue",
            required=True,
        )


def _network(body: Mapping[str, Any]) -> dict[str, Any]:
    field = "networkConfiguration"
    spec = _object(body, field, field)
    if spec is None:
        return {"networkMode": "PUBLIC"}
    mode = _string(spec, "networkMode", f"{field}.networkMode", required=True)
    if mode not in NETWORK_MODES:
        raise _fail(f"{field}.networkMode", f"{mode!r} is not PUBLIC or VPC.")
    if mode == "VPC":
        vpc_field = f"{field}.networkModeConfig"
        vpc = _object(spec, "networkModeConfig", vpc_field, required=True)
        assert vpc is not None
        for key in ("securityGroups", "subnets"):
            if vpc.get(key) is None:
                raise ValidationError(
                    f"Missing required field {vpc_field}.{key}.", field=f"{vpc_field}.{key}"
                )
            _string_list(vpc, key, f"{vpc_field}.{key}", max_items=16)
    return copy.deepcopy(spec)


def parse_runtime_config(body: Mapping[str, Any]) -> RuntimeVersionConfig:
    """Validate the configuration part of a Create/UpdateAgentRuntime body.

    Also rebuilds a stored version from its `raw` fields (they pass again unchanged).
    """
    artifact = _artifact(body)
    role_arn = _string(body, "roleArn", "roleArn", required=True, max_len=2048)
    assert role_arn is not None
    _pattern(role_arn, ROLE_ARN_RE, "roleArn", "Use arn:aws:iam::ACCOUNT:role/NAME.")
    network = _network(body)
    description = _string(body, "description", "description", max_len=4096)
    authorizer = _authorizer(body)
    allowlist = _header_allowlist(body)
    protocol = _protocol(body)
    idle, lifetime = _lifecycle(body)
    environment = _environment(body)

    raw: dict[str, Any] = {
        "agentRuntimeArtifact": copy.deepcopy(body["agentRuntimeArtifact"]),
        "roleArn": role_arn,
        "networkConfiguration": network,
        "lifecycleConfiguration": {"idleRuntimeSessionTimeout": idle, "maxLifetime": lifetime},
    }
    for key in (
        "description",
        "authorizerConfiguration",
        "requestHeaderConfiguration",
        "protocolConfiguration",
        "environmentVariables",
        *PASSTHROUGH_FIELDS,
    ):
        if body.get(key) is not None:
            raw[key] = copy.deepcopy(body[key])
    try:
        json.dumps(raw)
    except (TypeError, ValueError) as exc:  # pragma: no cover - JSON bodies always dump
        raise ValidationError(f"Cannot store the request: {exc}", reason="CannotParse") from exc

    return RuntimeVersionConfig(
        artifact=artifact,
        role_arn=role_arn,
        protocol=protocol,
        authorizer=authorizer,
        environment=MappingProxyType(environment),
        idle_timeout_seconds=idle,
        max_lifetime_seconds=lifetime,
        request_header_allowlist=allowlist,
        network_mode=str(network["networkMode"]),
        description=description,
        raw=MappingProxyType(raw),
    )
