"""Get and refresh Cognito user-pool tokens (InitiateAuth), for bearer auth to AgentCore.

Nothing here logs or prints passwords, client secrets or tokens; `TokenSet` hides its
tokens from `repr`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentcore_mcp.auth.errors import AuthError

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

__all__ = [
    "CognitoAuthError",
    "CognitoChallengeError",
    "CognitoNotAuthorizedError",
    "CognitoUserError",
    "TokenSet",
    "get_user_token",
    "refresh",
    "secret_hash",
]


class CognitoAuthError(AuthError):
    """Cognito did not issue tokens; the message says what to do."""


class CognitoNotAuthorizedError(CognitoAuthError):
    """Wrong password, disabled flow, bad client secret, or an invalid refresh token."""


class CognitoUserError(CognitoAuthError):
    """The user does not exist, is not confirmed, or must reset the password."""


class CognitoChallengeError(CognitoAuthError):
    """Cognito asked for a challenge (new password, MFA) instead of issuing tokens."""

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Tokens from InitiateAuth. Use `access_token` as the bearer token for AgentCore when
    the runtime's authorizer checks allowedClients (Cognito access tokens carry client_id),
    and `id_token` when it checks allowedAudience (ID tokens carry aud)."""

    access_token: str = field(repr=False)
    id_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int
    obtained_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.obtained_at + timedelta(seconds=self.expires_in)

    def expired(self, now: datetime | None = None, *, margin: timedelta = timedelta(0)) -> bool:
        """True when the access token expires within `margin` of `now`."""
        return (now or datetime.now(UTC)) + margin >= self.expires_at


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """Cognito's SECRET_HASH: Base64(HMAC-SHA256(client_secret, username + client_id))."""
    digest = hmac.new(
        client_secret.encode("utf-8"), (username + client_id).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def get_user_token(
    client: CognitoIdentityProviderClient,
    client_id: str,
    username: str,
    password: str,
    *,
    client_secret: str | None = None,
) -> TokenSet:
    """Sign a user in with USER_PASSWORD_AUTH and return their tokens.

    The app client must allow the flow (ExplicitAuthFlows ALLOW_USER_PASSWORD_AUTH); pass
    `client_secret` when the app client has one.
    """
    params = {"USERNAME": username, "PASSWORD": password}
    if client_secret:
        params["SECRET_HASH"] = secret_hash(username, client_id, client_secret)
    try:
        response = client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH", ClientId=client_id, AuthParameters=params
        )
    except ClientError as exc:
        raise _translate(exc, f"user {username!r}") from exc
    return _token_set(dict(response), previous_refresh=None)


def refresh(
    client: CognitoIdentityProviderClient,
    client_id: str,
    refresh_token: str,
    *,
    client_secret: str | None = None,
    username: str | None = None,
) -> TokenSet:
    """New access/ID tokens from a refresh token (REFRESH_TOKEN_AUTH).

    With a client secret, Cognito wants SECRET_HASH over the user's *username* (for pools
    that sign in by email alias, that is the `sub` / `cognito:username`, not the email).
    The returned set keeps the old refresh token unless Cognito rotated it.
    """
    params = {"REFRESH_TOKEN": refresh_token}
    if client_secret:
        if not username:
            raise CognitoAuthError(
                "refreshing with a client secret needs username= (the cognito:username) "
                "to compute SECRET_HASH"
            )
        params["SECRET_HASH"] = secret_hash(username, client_id, client_secret)
    try:
        response = client.initiate_auth(
            AuthFlow="REFRESH_TOKEN_AUTH", ClientId=client_id, AuthParameters=params
        )
    except ClientError as exc:
        raise _translate(exc, "the refresh token") from exc
    return _token_set(dict(response), previous_refresh=refresh_token)


def _token_set(response: dict[str, Any], previous_refresh: str | None) -> TokenSet:
    challenge = response.get("ChallengeName")
    if challenge:
        hint = {
            "NEW_PASSWORD_REQUIRED": (
                "the user must set a new password first (e.g. `aws cognito-idp "
                "admin-set-user-password --permanent`)"
            ),
            "SOFTWARE_TOKEN_MFA": "the user has TOTP MFA enabled; this flow cannot answer it",
            "SMS_MFA": "the user has SMS MFA enabled; this flow cannot answer it",
        }.get(str(challenge), "answer it with RespondToAuthChallenge")
        raise CognitoChallengeError(
            f"Cognito asked for the {challenge} challenge instead of issuing tokens: {hint}",
            str(challenge),
        )
    result = response.get("AuthenticationResult")
    if not isinstance(result, dict) or not result.get("AccessToken"):
        raise CognitoAuthError("Cognito returned no AuthenticationResult.AccessToken")
    return TokenSet(
        access_token=str(result["AccessToken"]),
        id_token=result.get("IdToken"),
        refresh_token=result.get("RefreshToken") or previous_refresh,
        token_type=str(result.get("TokenType") or "Bearer"),
        expires_in=int(result.get("ExpiresIn") or 3600),
        obtained_at=datetime.now(UTC),
    )


def _translate(exc: ClientError, subject: str) -> CognitoAuthError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    # Cognito's own message never contains the password; keep it for the details.
    detail = str(error.get("Message", "")).strip()
    suffix = f" (Cognito: {code}: {detail})" if detail else f" (Cognito: {code})"
    if code == "NotAuthorizedException":
        return CognitoNotAuthorizedError(
            f"Cognito refused {subject}: wrong username/password, an expired or revoked "
            "refresh token, a wrong client secret, or the app client does not allow this "
            f"auth flow{suffix}"
        )
    if code == "UserNotFoundException":
        return CognitoUserError(f"{subject} does not exist in this user pool{suffix}")
    if code == "UserNotConfirmedException":
        return CognitoUserError(
            f"{subject} is not confirmed: confirm the sign-up (or admin-confirm-sign-up){suffix}"
        )
    if code == "PasswordResetRequiredException":
        return CognitoUserError(f"{subject} must reset the password first{suffix}")
    if code == "InvalidParameterException" and "flow" in detail.lower():
        return CognitoNotAuthorizedError(
            "the app client does not allow this auth flow: enable ALLOW_USER_PASSWORD_AUTH "
            f"(and ALLOW_REFRESH_TOKEN_AUTH) in its ExplicitAuthFlows{suffix}"
        )
    if code == "ResourceNotFoundException":
        return CognitoAuthError(f"the app client id or user pool does not exist{suffix}")
    return CognitoAuthError(f"Cognito InitiateAuth failed for {subject}{suffix}")
