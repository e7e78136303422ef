"""The AWS services that are not ours, from moto's server embedded in this process.

moto runs on a private loopback port; the gateway forwards iam, sts, cognito-idp, s3,
ecr, ssm, secretsmanager and logs requests to it. Being in-process lets the data plane
look up IAM access keys' secrets directly, which SigV4 verification needs.

moto signs the tokens of every user pool with one RSA key that ships in its package, so
anyone could sign a token the embedded Cognito would seem to have issued. Each start
replaces it with a fresh key (`_use_own_cognito_key`): only this process can sign, and
the JWKS it publishes is that key's.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2

from agentcore_mcp.auth import SigV4Secret

# The most a discovery document or JWKS fetched for a token check may be: real ones are a
# few kB, and whoever answers the URL must not fill this process's memory.
MAX_DOCUMENT_BYTES = 1 << 20
# The key id moto's Cognito writes into every token it signs.
_MOTO_COGNITO_KID = "dummy"

# A Cognito discovery or JWKS URL of the real form.
COGNITO_URL = re.compile(
    r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[^/]+)"
    r"/\.well-known/(?P<doc>openid-configuration|jwks\.json)$"
)


@dataclass
class EmbeddedAws:
    """moto's server on 127.0.0.1, plus the lookups the local AgentCore needs from it."""

    account_id: str = "123456789012"
    port: int = 0
    _server: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        # Port 0 lets the kernel choose while binding: a port probed free and bound later
        # can be taken in between by any other process on the host.
        _use_own_cognito_key()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def secret_for_access_key(self, access_key_id: str) -> str | SigV4Secret | None:
        """The secret of an access key the embedded AWS issued: an IAM user's, or an assumed
        role's (with its session token, which a request must then carry), while valid."""
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        for _account_id, sts_account in list(sts_backends.items()):
            for partition in ("aws", "aws-cn", "aws-us-gov"):
                try:
                    sts = sts_account[partition]
                except KeyError:
                    continue
                role = sts.get_assumed_role_from_access_key(access_key_id)
                if role is not None:
                    if role.expiration.replace(tzinfo=None) < datetime.now(UTC).replace(
                        tzinfo=None
                    ):
                        return None
                    return SigV4Secret(
                        secret_access_key=str(role.secret_access_key),
                        session_token=str(role.session_token),
                    )
        for _account_id, account in list(iam_backends.items()):
            for partition in ("aws", "aws-cn", "aws-us-gov"):
                try:
                    backend = account[partition]
                except KeyError:
                    continue
                key = backend.access_keys.get(access_key_id)
                if key is not None and getattr(key, "status", "Active") == "Active":
                    return str(key.secret_access_key)
        return None

    def boto3_client(self, service: str, region: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # moto does not check; never a user secret
        )

    def local_url_for(self, url: str) -> str | None:
        """The embedded Cognito's URL for a real-form Cognito discovery or JWKS URL."""
        match = COGNITO_URL.match(url)
        if match is None:
            return None
        return f"{self.url}/{match['pool']}/.well-known/{match['doc']}"

    def make_fetcher(self, timeout: float = 5.0) -> Callable[[str], dict[str, Any]]:
        """An HTTP JSON fetcher for `auth.jwt` that resolves Cognito URLs locally.

        Bounded: `timeout` per read and about that again for the whole answer, at most
        MAX_DOCUMENT_BYTES, no redirects (a redirect would let whoever answers choose
        the keys)."""

        def fetch(url: str) -> dict[str, Any]:
            deadline = time.monotonic() + timeout
            local = self.local_url_for(url)
            # The embedded Cognito is on loopback: no proxy. Anything else may need the
            # user's HTTPS_PROXY, as before.
            with httpx2.stream(
                "GET", local or url, timeout=timeout, trust_env=local is None
            ) as response:
                if response.is_redirect:
                    raise ValueError(f"{url} redirects ({response.status_code}); not followed")
                response.raise_for_status()
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_DOCUMENT_BYTES:
                        raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise ValueError(f"{url} took longer than {timeout:g} s to answer")
            doc = json.loads(bytes(data))
            if not isinstance(doc, dict):
                raise ValueError(f"{url} did not return a JSON object")
            return doc

        return fetch


def _use_own_cognito_key() -> None:
    """Make the embedded Cognito sign with a key made now, and publish only that key.

    moto loads its packaged private key for every new user pool and serves the matching
    public JWKS; both lookups are replaced here, in this process only.
    """
    import moto.cognitoidp.models as cognito_models
    import moto.cognitoidp.responses as cognito_responses
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(
        2048, parameters={"kid": _MOTO_COGNITO_KID, "alg": "RS256", "use": "sig"}, private=True
    )
    private = key.as_dict(private=True)
    public = key.as_dict(private=False)
    packaged_load = cognito_models.load_resource  # type: ignore[attr-defined]

    def load_resource(resource: str) -> Any:
        if resource.endswith("jwks-private.json"):
            return dict(private)
        return packaged_load(resource)

    cognito_models.load_resource = load_resource  # type: ignore[attr-defined]
    cognito_responses.CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(
        {"keys": [public]}
    ).encode()
