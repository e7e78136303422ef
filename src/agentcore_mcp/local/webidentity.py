"""STS `AssumeRoleWithWebIdentity`, checked as STS checks it before the embedded STS issues keys.

AWS serves the operation unsigned: the web identity token is the only proof. moto checks
nothing (any token, any role, even one that does not exist, gets keys), so the gateway asks
`WebIdentityCheck` first, and forwards the request to moto only when every step passes:

1. the token is a JWT whose issuer is `https://...` (or `http://` to a loopback host,
   for an identity provider running on this machine);
2. the embedded IAM of the role's account has an OIDC provider for that issuer
   (`CreateOpenIDConnectProvider`), else `InvalidIdentityToken`, as STS says it;
3. the signature verifies against the issuer's JWKS (found through its discovery
   document; a `cognito-idp` issuer is the embedded Cognito, resolved locally as the JWT
   authorizer does), with `exp`/`nbf`/`iat`/`iss` checked and `aud` one of the provider's
   client ids; else `InvalidIdentityToken`, `ExpiredTokenException`, or
   `IDPCommunicationError` when the issuer's keys cannot be fetched;
4. the role exists and its trust policy allows it: an `Allow` statement whose principal
   is `Federated` = the provider's ARN, whose action covers
   `sts:AssumeRoleWithWebIdentity`, and whose conditions on `<provider>:aud`, `:sub`,
   `:azp`, `:oaud` hold, with no `Deny` that applies; else `AccessDenied`.

Conditions: `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
`StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, with `ForAnyValue:` /
`ForAllValues:` and `...IfExists`. Any other operator fails closed: an `Allow` with it
does not apply, a `Deny` with it does. Thumbprints are stored but not compared: AWS no
longer uses them for providers whose certificate chains to a trusted CA, and the fetch
here verifies TLS with the system's CAs.

`AssumeRoleWithSAML` is refused: the embedded IAM has no SAML providers to check an
assertion against.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from agentcore_mcp.asgi import is_loopback_host
from agentcore_mcp.auth import (
    AudienceNotAllowedError,
    AuthorizerConfig,
    AuthorizerConfigError,
    DiscoveryError,
    Fetch,
    JwksCache,
    JwtError,
    TokenExpiredError,
    verify_bearer,
)
from agentcore_mcp.local.guard import Refusal, form_params, query_refusal

logger = logging.getLogger("agentcore_mcp.local.webidentity")

ACTION = "sts:AssumeRoleWithWebIdentity"
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):role/.+$"
)
_NOT_AUTHORIZED = f"Not authorized to perform {ACTION}"
# Condition keys of an OIDC provider, by the claim they read (AWS's mapping: `aud` is the
# token's `azp` when it has one, and then `oaud` is its `aud`).
_CONDITION_CLAIMS = ("aud", "sub", "azp", "oaud", "amr", "email")
_STRING_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    }
)


class WebIdentityRefused(Exception):
    """STS's answer to a web identity it does not accept: code, status, message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def refusal(self) -> Refusal:
        return query_refusal(self.status, self.code, str(self))


@dataclass(frozen=True, slots=True)
class Provider:
    arn: str
    url: str  # as IAM keeps it: host and path, no scheme
    client_ids: tuple[str, ...]


class WebIdentityCheck:
    """Checks unsigned STS requests before they reach the embedded STS."""

    def __init__(self, fetch: Fetch) -> None:
        # An unknown kid re-fetches a JWKS at most every 5 s per URL, as the JWT authorizer.
        self.jwks = JwksCache(fetch, min_refetch_interval=timedelta(seconds=5))

    async def refusal(self, operation: str, body: bytes) -> Refusal | None:
        """None when the embedded STS may answer this unsigned request; else STS's error."""
        try:
            if operation == "AssumeRoleWithWebIdentity":
                await asyncio.to_thread(self.check, form_params(body) or {})
            elif operation == "AssumeRoleWithSAML":
                raise WebIdentityRefused(
                    "InvalidIdentityToken",
                    400,
                    "the local AgentCore's IAM has no SAML providers, so no SAML assertion "
                    "can be verified: use AssumeRoleWithWebIdentity with an OIDC provider, "
                    "or AssumeRole signed with a key it knows",
                )
            else:  # an unsigned operation STS may add later: not verified, so not served
                raise WebIdentityRefused(
                    "MissingAuthenticationToken",
                    403,
                    f"{operation} needs a signature on the local AgentCore",
                )
        except WebIdentityRefused as refused:
            logger.info("refused %s: %s: %s", operation, refused.code, refused)
            return refused.refusal()
        except Exception as exc:  # refuse, never forward, whatever went wrong
            logger.exception("checking %s failed", operation)
            return query_refusal(
                500, "InternalFailure", f"the local AgentCore could not check the token: {exc}"
            )
        return None

    def check(self, params: Mapping[str, str]) -> None:
        """Raise WebIdentityRefused unless STS would issue keys for these parameters."""
        role_arn, token = params.get("RoleArn"), params.get("WebIdentityToken")
        for name, value in (("roleArn", role_arn), ("webIdentityToken", token)):
            if not value:
                raise WebIdentityRefused(
                    "ValidationError",
                    400,
                    f"1 validation error detected: Value null at '{name}' failed to satisfy "
                    "constraint: Member must not be null",
                )
        assert role_arn is not None and token is not None
        role_match = _ROLE_ARN.match(role_arn)
        if role_match is None:
            raise WebIdentityRefused(
                "ValidationError", 400, f"{role_arn[:200]!r} is not a valid IAM role ARN"
            )
        partition, account = role_match["partition"], role_match["account"]
        issuer = _unverified_issuer(token)
        provider = _provider(partition, account, issuer)
        if not provider.client_ids:
            raise WebIdentityRefused("InvalidIdentityToken", 400, "Incorrect token audience")
        claims = self._verified_claims(token, issuer, provider)
        policy = _trust_policy(partition, account, role_arn)
        _authorize(policy, provider, claims, role_arn)

    def _verified_claims(self, token: str, issuer: str, provider: Provider) -> Mapping[str, Any]:
        try:
            config = AuthorizerConfig(
                discovery_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
                allowed_audience=provider.client_ids,
            )
        except AuthorizerConfigError as exc:
            raise WebIdentityRefused(
                "InvalidIdentityToken", 400, f"The token's issuer is not a usable URL: {exc}"
            ) from exc
        try:
            return verify_bearer(token, config, self.jwks).claims
        except TokenExpiredError as exc:
            raise WebIdentityRefused("ExpiredTokenException", 400, f"Token expired: {exc}") from exc
        except AudienceNotAllowedError as exc:
            raise WebIdentityRefused(
                "InvalidIdentityToken",
                400,
                f"Incorrect token audience ({exc}; the provider's client ids: "
                f"{list(provider.client_ids)})",
            ) from exc
        except DiscoveryError as exc:
            raise WebIdentityRefused(
                "IDPCommunicationError",
                400,
                f"Couldn't retrieve verification key from your identity provider ({exc})",
            ) from exc
        except JwtError as exc:
            raise WebIdentityRefused("InvalidIdentityToken", 400, str(exc)) from exc


def _unverified_issuer(token: str) -> str:
    """The `iss` of a JWT, read before its signature is checked, to find its provider."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise WebIdentityRefused(
            "InvalidIdentityToken", 400, "Couldn't parse the token: it is not a signed JWT"
        )
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise WebIdentityRefused(
            "InvalidIdentityToken", 400, "Couldn't parse the token: its payload is not JSON"
        ) from exc
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise WebIdentityRefused("InvalidIdentityToken", 400, "The token has no 'iss' claim")
    parts_of = urlsplit(issuer)
    secure = parts_of.scheme == "https" or (
        parts_of.scheme == "http" and is_loopback_host(parts_of.hostname or "")
    )
    if not secure or not parts_of.netloc or parts_of.query or parts_of.fragment:
        raise WebIdentityRefused(
            "InvalidIdentityToken",
            400,
            f"The token's issuer {issuer[:200]!r} is not an https URL (http only to a "
            "loopback host, for an identity provider on this machine)",
        )
    return issuer


def _iam(partition: str, account: str) -> Any:
    from moto.iam.models import iam_backends

    # Membership first: indexing a BackendDict creates the account.
    if account not in iam_backends:
        return None
    return iam_backends[account][partition]


def _provider(partition: str, account: str, issuer: str) -> Provider:
    parts = urlsplit(issuer)
    url = f"{parts.netloc}{parts.path}".rstrip("/")
    iam = _iam(partition, account)
    found = None
    if iam is not None:
        for candidate in list(iam.open_id_providers.values()):
            if str(candidate.url).rstrip("/") == url:
                found = candidate
                break
    if found is None:
        raise WebIdentityRefused(
            "InvalidIdentityToken",
            400,
            f"No OpenIDConnect provider found in your account for {issuer}: create one with "
            f"`aws iam create-open-id-connect-provider --url {issuer} --client-id-list ...`",
        )
    return Provider(
        arn=str(found.arn), url=url, client_ids=tuple(str(c) for c in found.client_id_list)
    )


def _trust_policy(partition: str, account: str, role_arn: str) -> Mapping[str, Any]:
    from moto.iam.exceptions import NotFoundException

    iam = _iam(partition, account)
    try:
        role = iam.get_role_by_arn(role_arn) if iam is not None else None
    except NotFoundException:
        role = None
    if role is None:
        raise WebIdentityRefused(
            "AccessDenied", 403, f"{_NOT_AUTHORIZED} (the role {role_arn} does not exist)"
        )
    try:
        policy = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        policy = None
    if not isinstance(policy, dict):
        raise WebIdentityRefused(
            "AccessDenied", 403, f"{_NOT_AUTHORIZED} (the role's trust policy is not JSON)"
        )
    return policy


def _authorize(
    policy: Mapping[str, Any], provider: Provider, claims: Mapping[str, Any], role_arn: str
) -> None:
    context = _condition_context(provider, claims)
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict):
            continue
        effect = statement.get("Effect")
        applies = _statement_applies(statement, provider.arn, context, deny=effect == "Deny")
        if effect == "Deny" and applies:
            raise WebIdentityRefused(
                "AccessDenied", 403, f"{_NOT_AUTHORIZED} (denied by the trust policy of {role_arn})"
            )
        if effect == "Allow" and applies:
            allowed = True
    if not allowed:
        raise WebIdentityRefused(
            "AccessDenied",
            403,
            f"{_NOT_AUTHORIZED}: no statement of the trust policy of {role_arn} allows "
            f"{ACTION} for the federated principal {provider.arn} with this token's claims",
        )


def _condition_context(provider: Provider, claims: Mapping[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for claim in _CONDITION_CLAIMS:
        value = claims.get(claim)
        if claim == "aud" and isinstance(claims.get("azp"), str):
            value = claims["azp"]
        elif claim == "oaud":
            value = claims.get("aud")
        if isinstance(value, str):
            values[f"{provider.url}:{claim}".lower()] = [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[f"{provider.url}:{claim}".lower()] = list(value)
    return values


def _statement_applies(
    statement: Mapping[str, Any], provider_arn: str, context: dict[str, list[str]], *, deny: bool
) -> bool:
    """Whether a statement covers this call. What cannot be evaluated here counts against
    the caller: it keeps an Allow from applying and makes a Deny apply."""
    if "NotPrincipal" in statement or "NotAction" in statement:
        return deny
    principal = statement.get("Principal")
    federated = principal.get("Federated") if isinstance(principal, dict) else None
    if provider_arn not in _strings(federated):
        return False
    if not any(
        _like(pattern.lower(), ACTION.lower()) for pattern in _strings(statement.get("Action"))
    ):
        return False
    conditions = statement.get("Condition", {})
    if not isinstance(conditions, dict):
        return deny
    for operator, block in conditions.items():
        if not isinstance(block, dict):
            return deny
        for key, expected in block.items():
            outcome = _condition(str(operator), _strings(expected), context.get(str(key).lower()))
            if outcome is None:
                return deny
            if not outcome:
                return False
    return True


def _condition(operator: str, expected: list[str], actual: list[str] | None) -> bool | None:
    """One condition's outcome; None for an operator not evaluated here."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _STRING_OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    if actual is None:
        return if_exists or "Not" in base
    negated = "Not" in base
    ignore_case = base.endswith("IgnoreCase")
    like = base.endswith("Like")

    def matches(value: str) -> bool:
        for pattern in expected:
            if like and _like(pattern, value):
                return True
            if not like and (pattern.lower() == value.lower() if ignore_case else pattern == value):
                return True
        return False

    if qualifier == "ForAllValues":
        return all(matches(v) != negated for v in actual)
    if negated:
        return not any(matches(v) for v in actual)
    return any(matches(v) for v in actual)


def _like(pattern: str, value: str) -> bool:
    """IAM's `StringLike`: `*` any run of characters, `?` one character, nothing else."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
