"""RFC 9728 protected-resource metadata and the 401 WWW-Authenticate challenge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentcore_mcp.auth.jwt.jwks import (
    DiscoveryDocument,
)


def protected_resource_metadata(
    resource_url: str,
    discovery_doc_or_issuer: DiscoveryDocument | Mapping[str, Any] | str,
    scopes: Iterable[str] = (),
) -> dict[str, Any]:
    """The RFC 9728 OAuth protected resource metadata document for `resource_url`.

    `scopes` should be the advertised ones (`AuthorizerConfig.advertised_scopes()`);
    `scopes_supported` is left out when there are none.
    """
    if isinstance(discovery_doc_or_issuer, DiscoveryDocument):
        issuer = discovery_doc_or_issuer.issuer
    elif isinstance(discovery_doc_or_issuer, Mapping):
        found = discovery_doc_or_issuer.get("issuer")
        if not isinstance(found, str) or not found:
            raise ValueError("the discovery document has no 'issuer'")
        issuer = found
    else:
        issuer = discovery_doc_or_issuer
    doc: dict[str, Any] = {"resource": resource_url, "authorization_servers": [issuer]}
    scope_list = list(dict.fromkeys(scopes))
    if scope_list:
        doc["scopes_supported"] = scope_list
    doc["bearer_methods_supported"] = ["header"]
    return doc


def www_authenticate_header(
    metadata_url: str,
    *,
    error: str | None = None,
    error_description: str | None = None,
    scope: Iterable[str] | None = None,
) -> str:
    """`Bearer resource_metadata="..."`, plus RFC 6750 error parameters when given."""
    params = [f"resource_metadata={_quote(metadata_url)}"]
    if error:
        params.append(f"error={_quote(error)}")
    if error_description:
        params.append(f"error_description={_quote(error_description)}")
    if scope is not None:
        joined = " ".join(scope)
        if joined:
            params.append(f"scope={_quote(joined)}")
    return "Bearer " + ", ".join(params)


def _quote(value: str) -> str:
    # quoted-string (RFC 9110 5.6.4); control characters would break the header line.
    clean = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'
