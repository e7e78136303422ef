"""SigV4: signing with botocore/boto3 and our adapters, verifying with verify_sigv4."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import botocore.auth
import httpx2
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from agentcore_mcp.auth import (
    AuthError,
    SecretLookup,
    SigV4AuthorizationMethodMismatchError,
    SigV4Error,
    SigV4HostNotSignedError,
    SigV4Httpx2Auth,
    SigV4Identity,
    SigV4MalformedAuthorizationError,
    SigV4MissingAuthorizationError,
    SigV4MissingDateError,
    SigV4PayloadHashMismatchError,
    SigV4RequestExpiredError,
    SigV4RequestFromFutureError,
    SigV4ScopeDateMismatchError,
    SigV4Secret,
    SigV4SecurityTokenError,
    SigV4SignatureMismatchError,
    SigV4SignedHeaderMissingError,
    SigV4Signer,
    SigV4SigningError,
    SigV4UnknownAccessKeyError,
    SigV4WrongRegionError,
    SigV4WrongServiceError,
    credential_scope_region,
    credential_scope_service,
    parse_authorization,
    verify_sigv4,
)
from tests.auth._servers import CapturedRequest, CaptureServer, capture_server

AKID = "AKIDEXAMPLE1234567890"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
REGION = "us-west-2"
SERVICE = "bedrock-agentcore"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
ARN = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/my_server-AbCdEf1234"
HOST = f"bedrock-agentcore.{REGION}.amazonaws.com"
TARGET = f"/runtimes/{quote(ARN, safe='')}/invocations?qualifier=DEFAULT"
BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'


def lookup(akid: str) -> str | SigV4Secret | None:
    return SECRET if akid == AKID else None


def lookup_with_token(akid: str) -> str | SigV4Secret | None:
    return SigV4Secret(SECRET, TOKEN) if akid == AKID else None


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    with capture_server() as s:
        yield s


def verify_captured(
    req: CapturedRequest, *, lookup_secret: SecretLookup = lookup, region: str = REGION
) -> SigV4Identity:
    return verify_sigv4(
        req.method,
        req.target,
        req.headers,
        req.body,
        lookup_secret=lookup_secret,
        expected_service=SERVICE,
        expected_region=region,
    )


# --------------------------------------------------------------------------- interop


def test_real_boto3_invoke_agent_runtime_verifies(server: CaptureServer) -> None:
    """A request signed by boto3's own bedrock-agentcore client passes verify_sigv4."""
    client = boto3.client(
        "bedrock-agentcore",
        region_name=REGION,
        endpoint_url=server.base_url,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        config=Config(retries={"max_attempts": 1}),
    )
    # the stub's response need not parse; the request is what we test
    with contextlib.suppress(Exception):
        client.invoke_agent_runtime(
            agentRuntimeArn=ARN,
            qualifier="DEFAULT",
            payload=BODY,
            contentType="application/json",
            accept="application/json, text/event-stream",
            mcpSessionId="session-123",
        )
    req = server.last
    assert req.target.startswith("/runtimes/arn%3Aaws%3Abedrock-agentcore")
    auth = dict((k.lower(), v) for k, v in req.headers)["authorization"]
    assert credential_scope_service(auth) == SERVICE
    assert credential_scope_region(auth) == REGION

    identity = verify_captured(req, lookup_secret=lookup_with_token)
    assert identity.access_key_id == AKID
    assert identity.service == SERVICE and identity.region == REGION
    assert identity.session_token == TOKEN
    assert "host" in identity.signed_headers
    assert "x-amz-security-token" in identity.signed_headers
    assert "mcp-session-id" in identity.signed_headers


def test_signer_is_byte_identical_to_botocore_add_auth() -> None:
    creds = Credentials(AKID, SECRET, TOKEN)
    headers = {"Content-Type": "application/json", "Mcp-Session-Id": "abc"}
    request = AWSRequest("POST", f"https://{HOST}{TARGET}", headers=headers, data=BODY)
    botocore.auth.SigV4Auth(creds, SERVICE, REGION).add_auth(request)
    signed_at = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=UTC
    )
    ours = SigV4Signer(creds, REGION).sign(
        "POST", f"https://{HOST}{TARGET}", headers, BODY, now=signed_at
    )
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Security-Token"] == TOKEN


def test_sigv4_auth_sync_with_boto3_session(server: CaptureServer) -> None:
    session = boto3.Session(
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        region_name=REGION,
    )
    auth = SigV4Httpx2Auth(SigV4Signer.from_session(session))
    with httpx2.Client(auth=auth) as client:
        r = client.post(
            f"{server.base_url}{TARGET}",
            content=BODY,
            headers={"Content-Type": "application/json", "Mcp-Session-Id": "s1"},
        )
    assert r.status_code == 200
    identity = verify_captured(server.last, lookup_secret=lookup_with_token)
    assert identity.session_token == TOKEN
    # headers a proxy may rewrite are not signed
    for unsigned in ("user-agent", "connection", "accept-encoding", "content-length"):
        assert unsigned not in identity.signed_headers


def test_sigv4_auth_signs_streaming_body_and_repeated_headers(server: CaptureServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"jsonrpc":"2.0",'
        yield b'"id":7,"method":"ping"}'

    auth = SigV4Httpx2Auth(Credentials(AKID, SECRET), REGION)
    with httpx2.Client(auth=auth) as client:
        r = client.post(
            f"{server.base_url}/runtimes/x/invocations?b=2&a=1&a=0",
            content=chunks(),
            headers=[("X-Custom", "one"), ("X-Custom", "two")],
        )
    assert r.status_code == 200
    assert server.last.body == b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
    identity = verify_captured(server.last)
    assert "x-custom" in identity.signed_headers


def test_sigv4_auth_async(server: CaptureServer) -> None:
    async def go() -> None:
        auth = SigV4Httpx2Auth(Credentials(AKID, SECRET, TOKEN), REGION)
        async with httpx2.AsyncClient(auth=auth) as client:
            r = await client.post(f"{server.base_url}{TARGET}", content=BODY)
            assert r.status_code == 200

    asyncio.run(go())
    verify_captured(server.last, lookup_secret=lookup_with_token)


def test_sigv4_auth_sync_and_async_get(server: CaptureServer) -> None:
    auth = SigV4Httpx2Auth(Credentials(AKID, SECRET), REGION)
    with httpx2.Client(auth=auth) as client:
        assert client.post(f"{server.base_url}{TARGET}", content=BODY).status_code == 200
    verify_captured(server.last)

    async def go() -> None:
        async with httpx2.AsyncClient(auth=auth) as client:
            r = await client.get(f"{server.base_url}/ping?x=a%20b")
            assert r.status_code == 200

    asyncio.run(go())
    assert server.last.method == "GET"
    verify_captured(server.last)


def test_retry_resigns_cleanly(server: CaptureServer) -> None:
    """Signing an already-signed request replaces, not duplicates, the auth headers."""
    auth = SigV4Httpx2Auth(Credentials(AKID, SECRET, TOKEN), REGION)
    request = httpx2.Request("POST", f"{server.base_url}{TARGET}", content=BODY)
    auth.signer.sign_in_place(request)
    auth.signer.sign_in_place(request)
    assert len(request.headers.get_list("authorization")) == 1
    assert len(request.headers.get_list("x-amz-security-token")) == 1
    with httpx2.Client() as client:
        client.send(request)
    verify_captured(server.last, lookup_secret=lookup_with_token)


def test_signer_needs_region_and_credentials() -> None:
    with pytest.raises(SigV4SigningError, match="region"):
        SigV4Signer(Credentials(AKID, SECRET), "")

    class NoCreds:
        region_name = REGION

        def get_credentials(self) -> None:
            return None

    with pytest.raises(SigV4SigningError, match="no AWS credentials"):
        SigV4Signer.from_session(NoCreds())


# --------------------------------------------------------------------------- negative matrix


def signed(
    *,
    method: str = "POST",
    target: str = TARGET,
    body: bytes = BODY,
    headers: dict[str, str] | None = None,
    creds: Credentials | None = None,
    service: str = SERVICE,
    region: str = REGION,
    now: datetime = NOW,
) -> list[tuple[str, str]]:
    base = {
        "Host": HOST,
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Mcp-Session-Id": "session-123",
        **(headers or {}),
    }
    signer = SigV4Signer(creds or Credentials(AKID, SECRET), region, service)
    out = signer.sign(method, f"https://{HOST}{target}", base, body, now=now)
    return [*base.items(), *out.items(), ("User-Agent", "test/1.0")]


def check(
    headers: list[tuple[str, str]],
    *,
    method: str = "POST",
    target: str = TARGET,
    body: bytes = BODY,
    now: datetime = NOW,
    lookup_secret: SecretLookup = lookup,
) -> SigV4Identity:
    return verify_sigv4(
        method,
        target,
        headers,
        body,
        lookup_secret=lookup_secret,
        expected_service=SERVICE,
        expected_region=REGION,
        now=now,
    )


def replace_header(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k.lower() == name.lower() else v) for k, v in headers]


def drop_header(headers: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != name.lower()]


def auth_of(headers: list[tuple[str, str]]) -> str:
    return next(v for k, v in headers if k.lower() == "authorization")


def test_valid_request_verifies_with_path_or_full_url() -> None:
    h = signed()
    identity = check(h)
    assert identity.signed_at == NOW
    assert identity.credential_scope == f"20250601/{REGION}/{SERVICE}/aws4_request"
    assert check(h, target=f"https://{HOST}{TARGET}").access_key_id == AKID


def test_unsigned_header_may_change() -> None:
    h = replace_header(signed(), "User-Agent", "something-else/2.0")
    check(h)


def test_tampered_body() -> None:
    with pytest.raises(SigV4SignatureMismatchError, match="body"):
        check(signed(), body=BODY.replace(b"tools/list", b"tools/call"))


def test_tampered_signed_header() -> None:
    h = replace_header(signed(), "Mcp-Session-Id", "someone-else")
    with pytest.raises(SigV4SignatureMismatchError, match="signed header changed"):
        check(h)


def test_tampered_path_and_query() -> None:
    with pytest.raises(SigV4SignatureMismatchError):
        check(signed(), target=TARGET.replace("DEFAULT", "PROD"))
    with pytest.raises(SigV4SignatureMismatchError):
        check(signed(), target=TARGET.replace("my_server", "other_srv"))


def test_wrong_method() -> None:
    with pytest.raises(SigV4SignatureMismatchError):
        check(signed(), method="PUT")


def test_wrong_secret() -> None:
    h = signed(creds=Credentials(AKID, "not-the-secret"))
    with pytest.raises(SigV4SignatureMismatchError, match="secret key is wrong"):
        check(h)


def test_wrong_service() -> None:
    with pytest.raises(SigV4WrongServiceError, match=r"'execute-api'.*'bedrock-agentcore'"):
        check(signed(service="execute-api"))


def test_wrong_region() -> None:
    with pytest.raises(SigV4WrongRegionError, match=r"'eu-west-1'.*'us-west-2'"):
        check(signed(region="eu-west-1"))


def test_expired_ten_minutes_old() -> None:
    h = signed(now=NOW - timedelta(minutes=10))
    with pytest.raises(SigV4RequestExpiredError, match=r"expired.*clock"):
        check(h)


def test_future_beyond_skew_and_within_skew() -> None:
    with pytest.raises(SigV4RequestFromFutureError, match="ahead"):
        check(signed(now=NOW + timedelta(minutes=10)))
    check(signed(now=NOW + timedelta(minutes=4)))
    check(signed(now=NOW - timedelta(minutes=4)))


def test_unknown_access_key() -> None:
    h = signed(creds=Credentials("AKIDUNKNOWN000000000", SECRET))
    with pytest.raises(SigV4UnknownAccessKeyError, match="AKIDUNKNOWN"):
        check(h)


def test_host_not_signed() -> None:
    h = signed()
    auth = auth_of(h).replace("host;", "")
    assert "host" not in auth
    with pytest.raises(SigV4HostNotSignedError, match="Host"):
        check(replace_header(h, "Authorization", auth))


@pytest.mark.parametrize(
    "value",
    [
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA1 Credential=a/20250601/us-west-2/bedrock-agentcore/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=a/20250601/us-west-2/bedrock-agentcore, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=a/20250601/us-west-2/bedrock-agentcore/aws4_request, "
        "SignedHeaders=host, Signature=xyz",
        "AWS4-HMAC-SHA256 Credential=a/20250601/us-west-2/bedrock-agentcore/aws4_request, "
        "Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=a/2025-06-01/us-west-2/bedrock-agentcore/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=a/20250601/us-west-2/bedrock-agentcore/aws4_request, "
        "SignedHeaders=Host;X-Amz-Date, Signature=" + "0" * 64,
        "Basic dXNlcjpwYXNz",
        "garbage",
    ],
)
def test_malformed_authorization(value: str) -> None:
    h = replace_header(signed(), "Authorization", value)
    with pytest.raises(SigV4MalformedAuthorizationError, match=r"expected|must|Signature"):
        check(h)


def test_bearer_token_is_an_authorization_method_mismatch() -> None:
    h = replace_header(signed(), "Authorization", "Bearer eyJhbGciOi.x.y")
    with pytest.raises(
        SigV4AuthorizationMethodMismatchError, match="Authorization method mismatch"
    ):
        check(h)


def test_missing_authorization() -> None:
    with pytest.raises(SigV4MissingAuthorizationError, match="sign the request"):
        check(drop_header(signed(), "Authorization"))


def test_missing_or_bad_amz_date() -> None:
    with pytest.raises(SigV4MissingDateError, match="X-Amz-Date"):
        check(drop_header(signed(), "X-Amz-Date"))
    with pytest.raises(SigV4MissingDateError, match="YYYYMMDDTHHMMSSZ"):
        check(replace_header(signed(), "X-Amz-Date", "2025-06-01T12:00:00Z"))


def test_scope_date_differs_from_amz_date() -> None:
    h = signed()
    h = replace_header(h, "Authorization", auth_of(h).replace("/20250601/", "/20250531/"))
    with pytest.raises(SigV4ScopeDateMismatchError, match="20250531"):
        check(h)


def test_signed_header_dropped_in_transit() -> None:
    with pytest.raises(SigV4SignedHeaderMissingError, match="mcp-session-id"):
        check(drop_header(signed(), "Mcp-Session-Id"))


def test_content_sha256_must_match_body() -> None:
    h = signed(headers={"X-Amz-Content-SHA256": "0" * 64})
    with pytest.raises(SigV4PayloadHashMismatchError, match="body changed"):
        check(h)
    h = signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(SigV4PayloadHashMismatchError, match="unsigned"):
        check(h)


def test_content_sha256_matching_body_is_fine() -> None:
    import hashlib

    h = signed(headers={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert "x-amz-content-sha256" in check(h).signed_headers


def test_session_token_requirements() -> None:
    with_token = signed(creds=Credentials(AKID, SECRET, TOKEN))
    assert check(with_token, lookup_secret=lookup_with_token).session_token == TOKEN

    without = signed()
    with pytest.raises(SigV4SecurityTokenError, match="temporary"):
        check(without, lookup_secret=lookup_with_token)

    other = signed(creds=Credentials(AKID, SECRET, "another-token"))
    with pytest.raises(SigV4SecurityTokenError, match="does not belong"):
        check(other, lookup_secret=lookup_with_token)

    # a token sent but left out of SignedHeaders could be swapped in transit
    auth = auth_of(with_token).replace(";x-amz-security-token", "")
    with pytest.raises(SigV4SecurityTokenError, match="not signed"):
        check(replace_header(with_token, "Authorization", auth), lookup_secret=lookup_with_token)


def test_every_failure_has_its_own_class() -> None:
    classes = {
        SigV4MissingAuthorizationError,
        SigV4MalformedAuthorizationError,
        SigV4AuthorizationMethodMismatchError,
        SigV4HostNotSignedError,
        SigV4MissingDateError,
        SigV4ScopeDateMismatchError,
        SigV4WrongServiceError,
        SigV4WrongRegionError,
        SigV4RequestExpiredError,
        SigV4RequestFromFutureError,
        SigV4SignedHeaderMissingError,
        SigV4UnknownAccessKeyError,
        SigV4SecurityTokenError,
        SigV4PayloadHashMismatchError,
        SigV4SignatureMismatchError,
    }
    assert all(issubclass(c, SigV4Error) for c in classes)
    # One base for every auth failure, SigV4 and JWT alike.
    assert all(issubclass(c, AuthError) for c in classes | {SigV4Error, SigV4SigningError})


def test_credential_scope_helpers() -> None:
    auth = auth_of(signed(service="execute-api", region="eu-central-1"))
    assert credential_scope_service(auth) == "execute-api"
    assert credential_scope_region(auth) == "eu-central-1"
    assert credential_scope_service(None) is None
    assert credential_scope_service("Bearer abc") is None
    assert credential_scope_region("AWS4-HMAC-SHA256 nonsense") is None
    parsed = parse_authorization(auth)
    assert parsed.access_key_id == AKID
    assert parsed.signed_headers[0] == "accept"
