"""The authorizer configuration (`CustomJWTAuthorizerConfiguration`) and its constants."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from agentcore_mcp.auth.jwt.errors import (
    AuthorizerConfigError,
)

ALLOWED_ALGORITHMS = frozenset(
    {
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA", "Ed25519", "Ed448",
    }
)  # fmt: skip
DEFAULT_LEEWAY = timedelta(seconds=60)
DEFAULT_CACHE_TTL = timedelta(minutes=10)
DEFAULT_MIN_REFETCH_INTERVAL = timedelta(seconds=30)
DEFAULT_FETCH_TIMEOUT = 5.0

# From the service model's DiscoveryUrl shape.
DISCOVERY_URL_PATTERN = re.compile(
    r"[^\s?#]+/\.well-known/(openid-configuration|oauth-authorization-server)(/[^\s?#]+)?"
)

ClaimValueType = Literal["STRING", "STRING_ARRAY"]
ClaimMatchOperator = Literal["EQUALS", "CONTAINS", "CONTAINS_ANY"]


@dataclass(frozen=True, slots=True)
class CustomClaimRule:
    """One `CustomClaimValidationType`.

    - STRING + EQUALS + matchValueString: the claim is a string equal to the value.
    - STRING_ARRAY + CONTAINS + matchValueString: the claim is a list containing the value.
    - STRING_ARRAY + CONTAINS_ANY + matchValueStringList: the claim is a list containing at
      least one of the values.
    """

    claim_name: str
    value_type: ClaimValueType
    operator: ClaimMatchOperator
    match_value: str | None = None
    match_values: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = f"custom claim rule for {self.claim_name!r}"
        if not self.claim_name:
            raise AuthorizerConfigError("inboundTokenClaimName must not be empty")
        if self.value_type not in ("STRING", "STRING_ARRAY"):
            raise AuthorizerConfigError(
                f"{where}: inboundTokenClaimValueType must be STRING or STRING_ARRAY"
            )
        if self.operator not in ("EQUALS", "CONTAINS", "CONTAINS_ANY"):
            raise AuthorizerConfigError(
                f"{where}: claimMatchOperator must be EQUALS, CONTAINS or CONTAINS_ANY"
            )
        if (self.match_value is None) == (self.match_values is None):
            raise AuthorizerConfigError(
                f"{where}: claimMatchValue takes exactly one of matchValueString and "
                "matchValueStringList"
            )
        if self.operator == "EQUALS" and self.value_type != "STRING":
            raise AuthorizerConfigError(f"{where}: EQUALS applies to STRING claims only")
        if self.operator != "EQUALS" and self.value_type != "STRING_ARRAY":
            raise AuthorizerConfigError(
                f"{where}: {self.operator} applies to STRING_ARRAY claims only"
            )
        if self.operator in ("EQUALS", "CONTAINS") and self.match_value is None:
            raise AuthorizerConfigError(f"{where}: {self.operator} needs matchValueString")
        if self.operator == "CONTAINS_ANY" and not self.match_values:
            raise AuthorizerConfigError(
                f"{where}: CONTAINS_ANY needs a non-empty matchValueStringList"
            )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CustomClaimRule:
        try:
            match = data["authorizingClaimMatchValue"]
            value = match["claimMatchValue"]
            strings = value.get("matchValueStringList")
            return cls(
                claim_name=str(data["inboundTokenClaimName"]),
                value_type=data["inboundTokenClaimValueType"],
                operator=match["claimMatchOperator"],
                match_value=value.get("matchValueString"),
                match_values=tuple(strings) if strings is not None else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise AuthorizerConfigError(
                "a customClaims entry needs inboundTokenClaimName, inboundTokenClaimValueType "
                "and authorizingClaimMatchValue {claimMatchValue, claimMatchOperator}"
                f" (problem: {exc!r})"
            ) from exc

    def to_api(self) -> dict[str, Any]:
        value: dict[str, Any] = (
            {"matchValueString": self.match_value}
            if self.match_value is not None
            else {"matchValueStringList": list(self.match_values or ())}
        )
        return {
            "inboundTokenClaimName": self.claim_name,
            "inboundTokenClaimValueType": self.value_type,
            "authorizingClaimMatchValue": {
                "claimMatchValue": value,
                "claimMatchOperator": self.operator,
            },
        }

    def describe(self) -> str:
        wanted: object = self.match_value
        if wanted is None:
            wanted = list(self.match_values or ())
        return f"{self.claim_name!r} {self.value_type} {self.operator} {wanted!r}"


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    """AgentCore's `customJWTAuthorizer` (`CustomJWTAuthorizerConfiguration`).

    Empty tuples mean "not configured" (the API's lists have at least one member when set).
    """

    discovery_url: str
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()
    allowed_scopes: tuple[str, ...] = ()
    custom_claims: tuple[CustomClaimRule, ...] = ()
    # allowedScopes entry -> the scope advertised in metadata and WWW-Authenticate instead.
    advertised_scope_mapping: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not DISCOVERY_URL_PATTERN.fullmatch(self.discovery_url):
            raise AuthorizerConfigError(
                f"discoveryUrl {self.discovery_url!r} must end in "
                "/.well-known/openid-configuration or /.well-known/oauth-authorization-server"
            )
        unknown = set(self.advertised_scope_mapping) - set(self.allowed_scopes)
        if unknown:
            raise AuthorizerConfigError(
                f"advertisedScopeMapping keys {sorted(unknown)} are not in allowedScopes"
            )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> AuthorizerConfig:
        """From `{"customJWTAuthorizer": {...}}` (an `authorizerConfiguration`) or its inside."""
        inner = data.get("customJWTAuthorizer", data)
        if not isinstance(inner, Mapping) or "discoveryUrl" not in inner:
            raise AuthorizerConfigError("customJWTAuthorizer needs a discoveryUrl")

        def strings(key: str) -> tuple[str, ...]:
            value = inner.get(key)
            if value is None:
                return ()
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                raise AuthorizerConfigError(f"{key} must be a non-empty list of strings")
            return tuple(value)

        claims = inner.get("customClaims")
        if claims is not None and (not isinstance(claims, list) or not claims):
            raise AuthorizerConfigError("customClaims must be a non-empty list")
        mapping = inner.get("advertisedScopeMapping") or {}
        if not isinstance(mapping, Mapping):
            raise AuthorizerConfigError("advertisedScopeMapping must be a map of strings")
        return cls(
            discovery_url=str(inner["discoveryUrl"]),
            allowed_clients=strings("allowedClients"),
            allowed_audience=strings("allowedAudience"),
            allowed_scopes=strings("allowedScopes"),
            custom_claims=tuple(CustomClaimRule.from_api(c) for c in claims or ()),
            advertised_scope_mapping={str(k): str(v) for k, v in mapping.items()},
        )

    def to_api(self) -> dict[str, Any]:
        """The inner `customJWTAuthorizer` dict, as the control plane returns it."""
        out: dict[str, Any] = {"discoveryUrl": self.discovery_url}
        if self.allowed_audience:
            out["allowedAudience"] = list(self.allowed_audience)
        if self.allowed_clients:
            out["allowedClients"] = list(self.allowed_clients)
        if self.allowed_scopes:
            out["allowedScopes"] = list(self.allowed_scopes)
        if self.custom_claims:
            out["customClaims"] = [c.to_api() for c in self.custom_claims]
        if self.advertised_scope_mapping:
            out["advertisedScopeMapping"] = dict(self.advertised_scope_mapping)
        return out

    def advertised_scopes(self) -> list[str]:
        """allowedScopes as advertised to clients (after advertisedScopeMapping)."""
        return [self.advertised_scope_mapping.get(s, s) for s in self.allowed_scopes]
