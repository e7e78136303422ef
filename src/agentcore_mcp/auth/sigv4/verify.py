"""Verifying: parse an Authorization header, check a signed or presigned request."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from agentcore_mcp.auth.messages import AUTHORIZATION_METHOD_MISMATCH
from agentcore_mcp.auth.sigv4.common import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    AMZ_DATE_RE,
    DEFAULT_MAX_SKEW,
    DEFAULT_SERVICE,
    MAX_PRESIGNED_EXPIRES,
    S3_SERVICES,
    SIGNATURE_RE,
    UNSIGNED_PAYLOAD,
    UNSIGNED_PAYLOAD_HASHES,
    HeadersInput,
    absolute_url,
    get_all,
    header_items,
    sha256_hex,
)
from agentcore_mcp.auth.sigv4.errors import (
    SigV4AuthorizationMethodMismatchError,
    SigV4HostNotSignedError,
    SigV4MalformedAuthorizationError,
    SigV4MissingAuthorizationError,
    SigV4MissingDateError,
    SigV4PayloadHashMismatchError,
    SigV4RequestExpiredError,
    SigV4RequestFromFutureError,
    SigV4ScopeDateMismatchError,
    SigV4SecurityTokenError,
    SigV4SignatureMismatchError,
    SigV4SignedHeaderMissingError,
    SigV4UnknownAccessKeyError,
    SigV4WrongRegionError,
    SigV4WrongServiceError,
)


@dataclass(frozen=True, slots=True)
class SigV4Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    date: str  # YYYYMMDD, from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]  # lower-case, as listed in the header
    signature: str  # 64 lower-case hex digits

    @property
    def credential_scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> SigV4Authorization:
    """Parse a SigV4 Authorization header; raise `SigV4MalformedAuthorizationError`."""
    expected = (
        f"expected '{ALGORITHM} Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request, "
        "SignedHeaders=h1;h2, Signature=<64 hex>'"
    )
    text = value.strip()
    algorithm, _, rest = text.partition(" ")
    if algorithm != ALGORITHM:
        if algorithm.lower() == "bearer":
            raise SigV4AuthorizationMethodMismatchError(
                f"{AUTHORIZATION_METHOD_MISMATCH} (got a Bearer token; this endpoint expects "
                "SigV4: sign the request with AWS credentials)"
            )
        raise SigV4MalformedAuthorizationError(
            f"unsupported Authorization scheme {algorithm[:40]!r}: {expected}"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep or key in fields:
            raise SigV4MalformedAuthorizationError(
                f"cannot parse {part.strip()[:60]!r}: {expected}"
            )
        fields[key] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing or len(fields) != 3:
        raise SigV4MalformedAuthorizationError(
            f"Authorization must have exactly Credential, SignedHeaders and Signature"
            f"{' (missing ' + ', '.join(missing) + ')' if missing else ''}: {expected}"
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise SigV4MalformedAuthorizationError(
            f"bad Credential {fields['Credential'][:80]!r}: {expected}"
        )
    akid, date, region, service, _ = scope
    if not re.fullmatch(r"\d{8}", date):
        raise SigV4MalformedAuthorizationError(f"bad credential-scope date {date!r}: {expected}")
    signed = tuple(fields["SignedHeaders"].split(";"))
    if not all(signed) or any(h != h.lower() for h in signed):
        raise SigV4MalformedAuthorizationError(
            "SignedHeaders must be a ';'-separated list of lower-case header names"
        )
    if not SIGNATURE_RE.fullmatch(fields["Signature"]):
        raise SigV4MalformedAuthorizationError(
            "Signature must be 64 lower-case hex digits (HMAC-SHA256)"
        )
    return SigV4Authorization(akid, date, region, service, signed, fields["Signature"])


def credential_scope_service(authorization: str | None) -> str | None:
    """The signing service named in a SigV4 Authorization header, or None if not SigV4."""
    parsed = _try_parse(authorization)
    return parsed.service if parsed else None


def credential_scope_region(authorization: str | None) -> str | None:
    """The region named in a SigV4 Authorization header, or None if not SigV4."""
    parsed = _try_parse(authorization)
    return parsed.region if parsed else None


def _try_parse(authorization: str | None) -> SigV4Authorization | None:
    if not authorization:
        return None
    try:
        return parse_authorization(authorization)
    except SigV4MalformedAuthorizationError:
        return None


@dataclass(frozen=True, slots=True)
class SigV4Secret:
    """What the verifier knows about an access key.

    With `session_token` set (temporary credentials), the request must carry exactly that
    X-Amz-Security-Token, and sign it.
    """

    secret_access_key: str = field(repr=False)  # never printed
    session_token: str | None = field(default=None, repr=False)


#: access key id -> its secret (or a SigV4Secret), or None for an unknown key.
SecretLookup = Callable[[str], str | SigV4Secret | None]


@dataclass(frozen=True, slots=True)
class SigV4Identity:
    """Who signed a request that verified."""

    access_key_id: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signed_at: datetime
    credential_scope: str
    session_token: str | None = None


class _ReceivedRequestSigV4Auth(botocore.auth.SigV4Auth):
    """botocore's SigV4 over exactly the headers the client listed in SignedHeaders.

    botocore, when signing, leaves out a blacklist of headers (user-agent, ...); a client
    may still have signed some of them, so the verifier must take the list as given.
    S3 differs from every other service in two ways botocore's S3 signers encode: the
    path is signed as sent (not normalised), and a presigned URL signs the constant
    UNSIGNED-PAYLOAD instead of a body hash.
    """

    def __init__(
        self,
        credentials: Credentials,
        service: str,
        region: str,
        signed: tuple[str, ...],
        *,
        presigned: bool = False,
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed
        self._s3 = service in S3_SERVICES
        self._presigned = presigned

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        out = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                out[name] = value
        return out

    def _normalize_url_path(self, path: str) -> str:
        return path if self._s3 else str(super()._normalize_url_path(path))  # type: ignore[misc]

    def payload(self, request: AWSRequest) -> str:
        if self._presigned and self._s3:
            return UNSIGNED_PAYLOAD
        return str(super().payload(request))


def verify_sigv4(
    method: str,
    url: str,
    headers: HeadersInput,
    body: bytes,
    *,
    lookup_secret: SecretLookup,
    expected_service: str = DEFAULT_SERVICE,
    expected_region: str,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    allow_unsigned_payload: bool = False,
    unknown_key_hint: str = "use credentials this endpoint knows",
) -> SigV4Identity:
    """Verify a SigV4-signed request; return who signed it or raise a `SigV4Error` subclass.

    `url` is either a full URL or the request target as received (`/path?query`), with
    the path and query exactly as on the wire (still percent-encoded). `headers` should
    keep repeated headers apart (a list of pairs, or httpx2/Starlette headers).
    `allow_unsigned_payload` accepts the X-Amz-Content-SHA256 values that leave the body
    unsigned (S3's UNSIGNED-PAYLOAD and aws-chunked uploads); the signature then covers
    the headers and that literal, as on S3. Chunk signatures are not checked.
    """
    items = header_items(headers)
    authorization = get_all(items, "authorization")
    if not authorization:
        raise SigV4MissingAuthorizationError(
            "missing Authorization header: sign the request with SigV4 "
            f"(service '{expected_service}', region '{expected_region}')"
        )
    if len(authorization) > 1:
        raise SigV4MalformedAuthorizationError("more than one Authorization header")
    auth = parse_authorization(authorization[0])

    if "host" not in auth.signed_headers:
        raise SigV4HostNotSignedError(
            "the Host header is not in SignedHeaders: sign 'host' (every SigV4 signer must)"
        )

    amz_dates = get_all(items, "x-amz-date")
    if not amz_dates:
        raise SigV4MissingDateError(
            "missing X-Amz-Date header: send the signing time as X-Amz-Date (YYYYMMDDTHHMMSSZ)"
        )
    amz_date = amz_dates[0].strip()
    if len(amz_dates) > 1 or not AMZ_DATE_RE.fullmatch(amz_date):
        raise SigV4MissingDateError(
            f"X-Amz-Date {amz_date[:40]!r} is not one timestamp of the form YYYYMMDDTHHMMSSZ"
        )
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SigV4MissingDateError(f"X-Amz-Date {amz_date!r} is not a valid time") from exc

    if auth.date != amz_date[:8]:
        raise SigV4ScopeDateMismatchError(
            f"credential scope date {auth.date} differs from X-Amz-Date day {amz_date[:8]}: "
            "derive both from the same signing time"
        )
    _check_scope(auth, expected_service, expected_region)

    current = (now or datetime.now(UTC)).astimezone(UTC)
    if signed_at < current - max_skew:
        raise SigV4RequestExpiredError(
            f"signature expired: X-Amz-Date {amz_date} is more than "
            f"{_fmt_delta(max_skew)} before the server time {current.strftime(AMZ_DATE_FORMAT)}; "
            "re-sign the request just before sending it and check the client's clock (NTP)"
        )
    if signed_at > current + max_skew:
        raise SigV4RequestFromFutureError(
            f"signature not yet valid: X-Amz-Date {amz_date} is more than "
            f"{_fmt_delta(max_skew)} after the server time {current.strftime(AMZ_DATE_FORMAT)}; "
            "the client's clock is ahead: sync it (NTP)"
        )

    present = {k.lower() for k, _ in items}
    absent = [h for h in auth.signed_headers if h not in present]
    if absent:
        raise SigV4SignedHeaderMissingError(
            f"signed header(s) {', '.join(absent)} not in the request: something between the "
            "signer and this server dropped them, or the client signed headers it did not send"
        )

    body_hash = sha256_hex(body)
    content_sha = get_all(items, "x-amz-content-sha256")
    claimed = content_sha[0].strip() if content_sha else None
    unsigned = allow_unsigned_payload and claimed in UNSIGNED_PAYLOAD_HASHES
    if claimed is not None and claimed != body_hash and not unsigned:
        hint = (
            "unsigned or streaming payloads are not accepted here: sign the body"
            if not re.fullmatch(r"[0-9a-f]{64}", claimed)
            else "the body changed after signing"
        )
        raise SigV4PayloadHashMismatchError(
            f"X-Amz-Content-SHA256 {claimed[:64]!r} is not the SHA-256 of the body received: {hint}"
        )
    return _check_signature(
        method,
        absolute_url(url, items),
        items,
        body,
        auth,
        amz_date,
        signed_at,
        lookup_secret,
        presigned=False,
        token_in_query=None,
        unknown_key_hint=unknown_key_hint,
    )


def _check_signature(
    method: str,
    absolute_url: str,
    items: list[tuple[str, str]],
    body: bytes,
    auth: SigV4Authorization,
    amz_date: str,
    signed_at: datetime,
    lookup_secret: SecretLookup,
    *,
    presigned: bool,
    token_in_query: str | None,
    unknown_key_hint: str = "use credentials this endpoint knows",
) -> SigV4Identity:
    """The key's secret, its session token, then botocore's signature over the request."""
    found = lookup_secret(auth.access_key_id)
    if found is None:
        raise SigV4UnknownAccessKeyError(
            f"unknown access key id {auth.access_key_id!r}: the security token included in the "
            f"request is invalid; {unknown_key_hint}"
        )
    secret = found if isinstance(found, SigV4Secret) else SigV4Secret(found)

    if presigned:
        token = token_in_query
    else:
        tokens = get_all(items, "x-amz-security-token")
        token = tokens[0] if tokens else None
        if token is not None and "x-amz-security-token" not in auth.signed_headers:
            raise SigV4SecurityTokenError(
                "X-Amz-Security-Token is present but not signed: include it in SignedHeaders"
            )
    if secret.session_token is not None:
        if token is None:
            raise SigV4SecurityTokenError(
                f"access key {auth.access_key_id!r} is temporary: send its session token as "
                "X-Amz-Security-Token and sign it"
            )
        if not hmac.compare_digest(token.encode(), secret.session_token.encode()):
            raise SigV4SecurityTokenError(
                f"the X-Amz-Security-Token does not belong to access key {auth.access_key_id!r}: "
                "use the session token issued with that key"
            )

    request = AWSRequest(method=method.upper(), url=absolute_url, data=body or None)
    for name, value in items:
        if name.lower() in auth.signed_headers:
            request.headers[name.lower()] = value
    request.context["timestamp"] = amz_date
    verifier = _ReceivedRequestSigV4Auth(
        Credentials(auth.access_key_id, secret.secret_access_key, token),
        auth.service,
        auth.region,
        auth.signed_headers,
        presigned=presigned,
    )
    canonical = verifier.canonical_request(request)
    string_to_sign = verifier.string_to_sign(request, canonical)
    expected = verifier.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise SigV4SignatureMismatchError(
            "signature does not match: the body, the path/query or a signed header changed after "
            "signing, or the secret key is wrong"
        )
    return SigV4Identity(
        access_key_id=auth.access_key_id,
        region=auth.region,
        service=auth.service,
        signed_headers=auth.signed_headers,
        signed_at=signed_at,
        credential_scope=auth.credential_scope,
        session_token=token,
    )


def is_presigned(query: str) -> bool:
    """Whether a raw query string carries SigV4 query authentication (a presigned URL)."""
    return "X-Amz-Signature=" in query and "X-Amz-Credential=" in query


def verify_sigv4_presigned(
    method: str,
    url: str,
    headers: HeadersInput,
    *,
    lookup_secret: SecretLookup,
    expected_service: str,
    expected_region: str,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    unknown_key_hint: str = "use credentials this endpoint knows",
) -> SigV4Identity:
    """Verify a presigned URL (SigV4 in the query string); raise a `SigV4Error` subclass.

    `url` is the request target as received (`/path?query`, still percent-encoded) or a
    full URL. The signature covers the query without X-Amz-Signature, the signed headers
    and, for S3, the constant UNSIGNED-PAYLOAD (other services sign an empty body).
    """
    items = header_items(headers)
    target = url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url.lstrip("/")
    path, _, query = ("/" + target).partition("?")
    params: dict[str, str] = {}
    kept: list[str] = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key.startswith("X-Amz-"):
            if key in params:
                raise SigV4MalformedAuthorizationError(f"{key} appears twice in the query")
            params[key] = unquote(value)
        if key != "X-Amz-Signature":
            kept.append(pair)
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise SigV4MalformedAuthorizationError(
            f"presigned URL must have X-Amz-Algorithm={ALGORITHM}"
        )
    missing = [
        k
        for k in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
        if k not in params
    ]
    if missing:
        raise SigV4MalformedAuthorizationError(
            f"presigned URL lacks {', '.join(missing)}: presign it again with an AWS SDK"
        )
    auth = parse_authorization(
        f"{ALGORITHM} Credential={params['X-Amz-Credential']}, "
        f"SignedHeaders={params['X-Amz-SignedHeaders']}, Signature={params['X-Amz-Signature']}"
    )
    if "host" not in auth.signed_headers:
        raise SigV4HostNotSignedError("the presigned URL does not sign 'host'")
    amz_date = params["X-Amz-Date"]
    if not AMZ_DATE_RE.fullmatch(amz_date):
        raise SigV4MissingDateError(f"X-Amz-Date {amz_date[:40]!r} is not YYYYMMDDTHHMMSSZ")
    signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    if auth.date != amz_date[:8]:
        raise SigV4ScopeDateMismatchError(
            f"credential scope date {auth.date} differs from X-Amz-Date day {amz_date[:8]}"
        )
    _check_scope(auth, expected_service, expected_region)
    expires_text = params.get("X-Amz-Expires", "3600")
    if not expires_text.isdigit() or not 1 <= int(expires_text) <= MAX_PRESIGNED_EXPIRES:
        raise SigV4MalformedAuthorizationError(
            f"X-Amz-Expires {expires_text[:20]!r} must be 1 to {MAX_PRESIGNED_EXPIRES} seconds"
        )
    current = (now or datetime.now(UTC)).astimezone(UTC)
    if signed_at > current + max_skew:
        raise SigV4RequestFromFutureError(
            f"presigned URL not yet valid: X-Amz-Date {amz_date} is in the future; "
            "sync the signer's clock (NTP)"
        )
    if current > signed_at + timedelta(seconds=int(expires_text)):
        raise SigV4RequestExpiredError(
            f"presigned URL expired: signed at {amz_date} for {expires_text} s; presign it again"
        )
    present = {k.lower() for k, _ in items}
    absent = [h for h in auth.signed_headers if h not in present]
    if absent:
        raise SigV4SignedHeaderMissingError(
            f"signed header(s) {', '.join(absent)} not in the request"
        )
    unsigned_query = "&".join(kept)
    return _check_signature(
        method,
        absolute_url(f"{path}?{unsigned_query}" if unsigned_query else path, items),
        items,
        b"",
        auth,
        amz_date,
        signed_at,
        lookup_secret,
        presigned=True,
        token_in_query=params.get("X-Amz-Security-Token"),
        unknown_key_hint=unknown_key_hint,
    )


def _check_scope(auth: SigV4Authorization, expected_service: str, expected_region: str) -> None:
    if auth.service != expected_service:
        raise SigV4WrongServiceError(
            f"request was signed for service '{auth.service}' but this endpoint expects "
            f"'{expected_service}': use signing name '{expected_service}'"
        )
    if auth.region != expected_region:
        raise SigV4WrongRegionError(
            f"request was signed for region '{auth.region}' but this endpoint is in "
            f"'{expected_region}': sign with region '{expected_region}'"
        )


def _fmt_delta(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
