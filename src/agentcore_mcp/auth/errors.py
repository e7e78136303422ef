"""The one base of every auth failure: SigV4, JWT and Cognito errors all derive from it."""

from __future__ import annotations

__all__ = ["AuthError"]


class AuthError(Exception):
    """A request or token could not be signed, verified or obtained; the message says why."""
