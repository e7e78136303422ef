"""S3 presigned URLs of the older (SigV2) form, which boto3 still makes for S3 unless told
`signature_version="s3v4"`: verified with botocore's HmacV1 string to sign, failing with
the same `SigV4Error` types as SigV4."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import botocore.auth
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from agentcore_mcp.auth.sigv4.common import HeadersInput, absolute_url, header_items
from agentcore_mcp.auth.sigv4.errors import (
    SigV4MalformedAuthorizationError,
    SigV4RequestExpiredError,
    SigV4SecurityTokenError,
    SigV4SignatureMismatchError,
    SigV4UnknownAccessKeyError,
)
from agentcore_mcp.auth.sigv4.verify import SecretLookup, SigV4Secret

_V2_QUERY_KEYS = ("AWSAccessKeyId", "Signature", "Expires")


class _ReceivedHmacV1QueryAuth(botocore.auth.HmacV1Auth):
    """botocore's SigV2 string to sign, with the URL's Expires where the Date goes."""

    def __init__(self, credentials: Credentials, expires: str) -> None:
        super().__init__(credentials)
        self._expires_at = expires

    def _get_date(self) -> str:
        return self._expires_at


def is_presigned_v2(query: str) -> bool:
    """Whether a raw query string is an S3 presigned URL of the older (SigV2) form, which
    boto3 still makes for S3 unless told `signature_version="s3v4"`."""
    return all(f"{k}=" in query for k in _V2_QUERY_KEYS)


def verify_s3_presigned_v2(
    method: str,
    url: str,
    headers: HeadersInput,
    *,
    lookup_secret: SecretLookup,
    now: datetime | None = None,
    unknown_key_hint: str = "use credentials this endpoint knows",
) -> str:
    """Verify an S3 SigV2 presigned URL with botocore's HmacV1 string to sign; return the
    access key id, or raise a `SigV4Error` subclass (the same types as for SigV4)."""
    items = header_items(headers)
    target = url if "://" in url else absolute_url(url, items)
    split = urlsplit(target)
    params: dict[str, str] = {}
    for pair in split.query.split("&"):
        key, _, value = pair.partition("=")
        if key in _V2_QUERY_KEYS or key == "x-amz-security-token":
            params[key] = unquote(value)
    expires = params.get("Expires", "")
    if not expires.isdigit():
        raise SigV4MalformedAuthorizationError("Expires must be a Unix time in seconds")
    current = (now or datetime.now(UTC)).astimezone(UTC)
    if current.timestamp() > int(expires):
        raise SigV4RequestExpiredError("presigned URL expired: presign it again")
    access_key_id = params["AWSAccessKeyId"]
    found = lookup_secret(access_key_id)
    if found is None:
        raise SigV4UnknownAccessKeyError(
            f"unknown access key id {access_key_id!r}: {unknown_key_hint}"
        )
    secret = found if isinstance(found, SigV4Secret) else SigV4Secret(found)
    token = params.get("x-amz-security-token")
    if secret.session_token is not None and token != secret.session_token:
        raise SigV4SecurityTokenError(
            f"access key {access_key_id!r} is temporary: the URL must carry its session token"
        )
    signer = _ReceivedHmacV1QueryAuth(
        Credentials(access_key_id, secret.secret_access_key, token), expires
    )
    canonical_headers = HTTPHeaders()
    for name, value in items:
        lname = name.lower()
        if lname in ("content-md5", "content-type") or (
            lname.startswith("x-amz-") and lname != "x-amz-security-token"
        ):
            canonical_headers[lname] = value
    if token is not None:
        canonical_headers["x-amz-security-token"] = token
    string_to_sign = signer.canonical_string(
        method.upper(),
        split,
        canonical_headers,  # type: ignore[arg-type]
    )
    expected = signer.sign_string(string_to_sign)
    if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
        raise SigV4SignatureMismatchError(
            "signature does not match: the URL was changed after presigning, or the secret "
            "key is wrong"
        )
    return access_key_id
