"""Signing: `SigV4Signer`, and `SigV4Httpx2Auth`, its `auth=` adapter for httpx2."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import UTC, datetime
from typing import Protocol

import anyio.to_thread
import botocore.auth
import httpx2
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials

from agentcore_mcp.auth.sigv4.common import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    DEFAULT_SERVICE,
    NOT_SIGNED,
    HeadersInput,
    header_items,
)
from agentcore_mcp.auth.sigv4.errors import (
    SigV4SigningError,
)


class _CredentialSource(Protocol):
    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


class SigV4Signer:
    """Signs requests with botocore's SigV4 for one service and region.

    `credentials` is a botocore `Credentials` (for instance `boto3.Session().get_credentials()`);
    it is frozen on every request, so refreshable credentials (SSO, assumed roles) stay fresh.
    """

    def __init__(
        self,
        credentials: Credentials | ReadOnlyCredentials | _CredentialSource,
        region: str,
        service: str = DEFAULT_SERVICE,
    ) -> None:
        if not region:
            raise SigV4SigningError("no AWS region: pass region= or set AWS_REGION")
        self._credentials = credentials
        self.region = region
        self.service = service

    @classmethod
    def from_session(
        cls,
        session: _SessionLike,
        *,
        region: str | None = None,
        service: str = DEFAULT_SERVICE,
    ) -> SigV4Signer:
        """A signer over a boto3 (or botocore) session's credentials and region."""
        creds = session.get_credentials()
        if creds is None:
            raise SigV4SigningError(
                "no AWS credentials found: configure a profile, environment variables "
                "or an instance role (see `aws configure`)"
            )
        resolved = region or _session_region(session)
        if not resolved:
            raise SigV4SigningError(
                "no AWS region: pass region= or set AWS_REGION / a profile region"
            )
        return cls(creds, resolved, service)

    def frozen_credentials(self) -> ReadOnlyCredentials:
        creds = self._credentials
        if isinstance(creds, ReadOnlyCredentials):
            return creds
        return creds.get_frozen_credentials()

    def needs_refresh(self) -> bool:
        """True when freezing the credentials would call out (STS, SSO) first."""
        creds = self._credentials
        return isinstance(creds, RefreshableCredentials) and creds.refresh_needed()

    def sign(
        self,
        method: str,
        url: str,
        headers: HeadersInput,
        body: bytes,
        *,
        now: datetime | None = None,
        credentials: ReadOnlyCredentials | None = None,
    ) -> dict[str, str]:
        """The headers to set on the request: X-Amz-Date, Authorization and, with temporary
        credentials, X-Amz-Security-Token.

        `url` must carry the path and query exactly as they go on the wire (percent-encoding
        included), and `headers` must include `Host` as sent; every other header is signed
        except the ones a proxy may rewrite (see `NOT_SIGNED` and botocore's blacklist).
        """
        creds = credentials or self.frozen_credentials()
        if not creds.access_key or not creds.secret_key:
            raise SigV4SigningError("the AWS credentials have no access key or secret key")
        when = (now or datetime.now(UTC)).astimezone(UTC)
        timestamp = when.strftime(AMZ_DATE_FORMAT)

        request = AWSRequest(method=method.upper(), url=url, data=body or None)
        for name, value in header_items(headers):
            if name.lower() not in NOT_SIGNED:
                request.headers[name] = value  # HTTPMessage appends: repeats are kept
        request.headers["X-Amz-Date"] = timestamp
        if creds.token:
            request.headers["X-Amz-Security-Token"] = creds.token
        request.context["timestamp"] = timestamp

        signer = botocore.auth.SigV4Auth(creds, self.service, self.region)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        signature = signer.signature(string_to_sign, request)
        signed_headers = signer.signed_headers(signer.headers_to_sign(request))

        out = {
            "X-Amz-Date": timestamp,
            "Authorization": (
                f"{ALGORITHM} Credential={signer.scope(request)}, "
                f"SignedHeaders={signed_headers}, Signature={signature}"
            ),
        }
        if creds.token:
            out["X-Amz-Security-Token"] = creds.token
        return out

    def sign_in_place(
        self, request: _HttpxLikeRequest, credentials: ReadOnlyCredentials | None = None
    ) -> None:
        """Sign an httpx2 request whose body has been read."""
        url = request.url
        wire_url = f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.decode('ascii')}"
        for stale in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if stale in request.headers:
                del request.headers[stale]
        signed = self.sign(
            request.method,
            wire_url,
            request.headers.multi_items(),
            request.content,
            credentials=credentials,
        )
        for name, value in signed.items():
            request.headers[name] = value


class _SessionLike(Protocol):
    def get_credentials(self) -> Credentials | None: ...


def _session_region(session: _SessionLike) -> str | None:
    region = getattr(session, "region_name", None)  # boto3.Session
    if isinstance(region, str) and region:
        return region
    get_var = getattr(session, "get_config_variable", None)  # botocore Session
    if callable(get_var):
        value = get_var("region")
        return value if isinstance(value, str) and value else None
    return None


class _UrlLike(Protocol):
    @property
    def scheme(self) -> str: ...
    @property
    def netloc(self) -> bytes: ...
    @property
    def raw_path(self) -> bytes: ...


class _HeadersLike(Protocol):
    def multi_items(self) -> list[tuple[str, str]]: ...
    def __contains__(self, key: object) -> bool: ...
    def __setitem__(self, key: str, value: str) -> None: ...
    def __delitem__(self, key: str) -> None: ...


class _HttpxLikeRequest(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> _UrlLike: ...
    @property
    def headers(self) -> _HeadersLike: ...
    @property
    def content(self) -> bytes: ...


_Credentials = Credentials | ReadOnlyCredentials | _CredentialSource | SigV4Signer


class SigV4Httpx2Auth(httpx2.Auth):
    """`httpx2.Auth` (the HTTP client of the MCP SDK, and of this package) that SigV4-signs
    every request, body included (streams are read first).

    Usage: ``httpx2.Client(auth=SigV4Httpx2Auth(session.get_credentials(), "us-east-1"))``
    or ``SigV4Httpx2Auth(SigV4Signer.from_session(boto3.Session()))``.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: _Credentials,
        region: str | None = None,
        service: str = DEFAULT_SERVICE,
    ) -> None:
        if isinstance(credentials, SigV4Signer):
            self.signer = credentials
        else:
            if not region:
                raise SigV4SigningError("no AWS region: pass region=")
            self.signer = SigV4Signer(credentials, region, service)

    async def _async_credentials(self) -> ReadOnlyCredentials:
        # Refreshing may call STS/SSO over the network: keep that off the event loop.
        if self.signer.needs_refresh():
            return await anyio.to_thread.run_sync(self.signer.frozen_credentials)
        return self.signer.frozen_credentials()

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        self.signer.sign_in_place(request)
        yield request

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        self.signer.sign_in_place(request, await self._async_credentials())
        yield request
