"""AWS Signature Version 4: sign outgoing requests and verify incoming ones.

The package: `sign` (signing and the httpx2 `Auth` adapter), `verify` (parsing and
verification), `presigned_v2` (S3's SigV2 presigned URLs), `errors` (every `SigV4Error`,
all `AuthError`s), `common` (shared constants and header helpers). Everything is
importable from here.

Both directions use botocore's own SigV4 implementation (`botocore.auth.SigV4Auth`) for
the canonical request, the string to sign and the signature, so a request signed here
verifies against AWS, and a request signed by boto3 (or any SDK that follows the spec)
verifies here.

Signing: `SigV4Signer` is the one core; `SigV4Httpx2Auth` is the thin adapter that plugs it
into `httpx2` (the MCP SDK's HTTP client, and this package's) as `auth=`.

Verifying: `verify_sigv4(...)` checks an incoming request and returns a `SigV4Identity`,
or raises a subclass of `SigV4Error` whose message says what to fix.
"""

from __future__ import annotations

from agentcore_mcp.auth.sigv4.common import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    DEFAULT_MAX_SKEW,
    DEFAULT_SERVICE,
    EMPTY_SHA256,
    MAX_PRESIGNED_EXPIRES,
    UNSIGNED_PAYLOAD,
    UNSIGNED_PAYLOAD_HASHES,
    HeadersInput,
)
from agentcore_mcp.auth.sigv4.errors import (
    SigV4AuthorizationMethodMismatchError,
    SigV4ClockSkewError,
    SigV4Error,
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
    SigV4SigningError,
    SigV4UnknownAccessKeyError,
    SigV4WrongRegionError,
    SigV4WrongServiceError,
)
from agentcore_mcp.auth.sigv4.presigned_v2 import is_presigned_v2, verify_s3_presigned_v2
from agentcore_mcp.auth.sigv4.sign import (
    SigV4Httpx2Auth,
    SigV4Signer,
)
from agentcore_mcp.auth.sigv4.verify import (
    SecretLookup,
    SigV4Authorization,
    SigV4Identity,
    SigV4Secret,
    credential_scope_region,
    credential_scope_service,
    is_presigned,
    parse_authorization,
    verify_sigv4,
    verify_sigv4_presigned,
)

__all__ = [
    "ALGORITHM",
    "AMZ_DATE_FORMAT",
    "DEFAULT_MAX_SKEW",
    "DEFAULT_SERVICE",
    "EMPTY_SHA256",
    "MAX_PRESIGNED_EXPIRES",
    "UNSIGNED_PAYLOAD",
    "UNSIGNED_PAYLOAD_HASHES",
    "HeadersInput",
    "SecretLookup",
    "SigV4Authorization",
    "SigV4AuthorizationMethodMismatchError",
    "SigV4ClockSkewError",
    "SigV4Error",
    "SigV4HostNotSignedError",
    "SigV4Httpx2Auth",
    "SigV4Identity",
    "SigV4MalformedAuthorizationError",
    "SigV4MissingAuthorizationError",
    "SigV4MissingDateError",
    "SigV4PayloadHashMismatchError",
    "SigV4RequestExpiredError",
    "SigV4RequestFromFutureError",
    "SigV4ScopeDateMismatchError",
    "SigV4Secret",
    "SigV4SecurityTokenError",
    "SigV4SignatureMismatchError",
    "SigV4SignedHeaderMissingError",
    "SigV4Signer",
    "SigV4SigningError",
    "SigV4UnknownAccessKeyError",
    "SigV4WrongRegionError",
    "SigV4WrongServiceError",
    "credential_scope_region",
    "credential_scope_service",
    "is_presigned",
    "is_presigned_v2",
    "parse_authorization",
    "verify_s3_presigned_v2",
    "verify_sigv4",
    "verify_sigv4_presigned",
]
