"""Bearer tokens for OAuth runtimes: a Cognito access token kept fresh, in memory only.

Refresh order: the refresh token first; when Cognito refuses it (expired, revoked),
sign in again as the stored user, whose password is read from Secrets Manager at that
moment and never kept beyond the call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import httpx2

from agentcore_mcp.auth import CognitoAuthError, TokenSet, get_user_token, refresh
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode

#: Refresh this long before the access token expires, so a request never carries a token
#: that expires in flight.
REFRESH_MARGIN = timedelta(minutes=5)


class TokenSourceError(AgentCoreMcpError):
    """No usable bearer token; the message says what to fix."""

    exit_code = ExitCode.AUTH_ERROR


class StaticTokenSource:
    """A token given by the caller (for example from an environment variable)."""

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise TokenSourceError("the bearer token is empty")
        self._token = token.strip()

    def needs_refresh(self) -> bool:
        return False

    def token(self) -> str:
        return self._token


class CognitoTokenSource:
    """Cognito user-pool access tokens for one app client and one stored user.

    `cognito` and `secrets` are boto3 clients (`cognito-idp`, `secretsmanager`); the
    secret named `user_secret_id` is JSON with `username` and `password` (and optionally
    `client_id` / `client_secret`).
    """

    def __init__(
        self,
        cognito: Any,
        secrets: Any,
        *,
        client_id: str | None,
        user_secret_id: str | None,
        margin: timedelta = REFRESH_MARGIN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cognito = cognito
        self._secrets = secrets
        self._client_id = client_id
        self._secret_id = user_secret_id
        self._margin = margin
        self._clock = clock
        self._tokens: TokenSet | None = None
        self._username: str | None = None
        self._client_secret: str | None = None
        self._lock = threading.Lock()
        self.refreshes = 0
        self.sign_ins = 0

    def needs_refresh(self) -> bool:
        tokens = self._tokens
        return tokens is None or tokens.expired(self._clock(), margin=self._margin)

    def token(self) -> str:
        """A valid access token; may call Cognito (blocking) when it must be renewed."""
        with self._lock:
            if self.needs_refresh():
                self._tokens = self._renew()
            assert self._tokens is not None
            return self._tokens.access_token

    def _renew(self) -> TokenSet:
        old = self._tokens
        if old is not None and old.refresh_token and self._client_id:
            try:
                tokens = refresh(
                    self._cognito,
                    self._client_id,
                    old.refresh_token,
                    client_secret=self._client_secret,
                    username=self._username,
                )
                self.refreshes += 1
                return tokens
            except CognitoAuthError:
                pass  # expired or revoked refresh token: sign in again below
        return self._sign_in()

    def _sign_in(self) -> TokenSet:
        if not self._secret_id:
            raise TokenSourceError(
                "no stored Cognito user to sign in as: deploy with --oauth (it stores the "
                "user in Secrets Manager) or pass --user-secret-id"
            )
        user = self._read_user()
        client_id = self._client_id or user.get("client_id")
        if not client_id:
            raise TokenSourceError(
                "no Cognito app client id: pass --client-id or store client_id in the secret"
            )
        self._client_id = str(client_id)
        self._username = str(user["username"])
        secret = user.get("client_secret")
        self._client_secret = str(secret) if secret else None
        try:
            tokens = get_user_token(
                self._cognito,
                self._client_id,
                self._username,
                str(user["password"]),
                client_secret=self._client_secret,
            )
        except CognitoAuthError as exc:
            raise TokenSourceError(f"cannot sign in as the stored user: {exc}") from exc
        self.sign_ins += 1
        return tokens

    def _read_user(self) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            raw = self._secrets.get_secret_value(SecretId=self._secret_id)["SecretString"]
        except (ClientError, BotoCoreError, KeyError) as exc:
            raise TokenSourceError(
                f"cannot read the stored Cognito user from Secrets Manager "
                f"({self._secret_id}): {exc}. Check the secret exists in this region and that "
                "you may call secretsmanager:GetSecretValue on it"
            ) from exc
        try:
            user = json.loads(raw)
        except ValueError:
            user = None
        if not isinstance(user, dict) or not user.get("username") or not user.get("password"):
            raise TokenSourceError(
                f"the secret {self._secret_id} must be JSON with 'username' and 'password'"
            )
        return user


TokenSource = StaticTokenSource | CognitoTokenSource


class BearerAuth(httpx2.Auth):
    """`httpx2.Auth` that sends `Authorization: Bearer <access token>`, renewed off-loop."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.source.token()}"
        yield request

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        if self.source.needs_refresh():
            token = await anyio.to_thread.run_sync(self.source.token)
        else:
            token = self.source.token()
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
