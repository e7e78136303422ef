"""clientToken idempotency for the mutating operations.

botocore fills `clientToken` with a fresh UUID on every call (the model marks it
`idempotencyToken`) and keeps it across its own retries. So: the same token with the
same request gets the first answer again; the same token with a different request is a
ValidationException with reason IdempotentParameterMismatchException (a reason the
model's ValidationExceptionReason enum carries). Tokens live in memory for 8 hours and
are never written to disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from agentcore_mcp.local.control.errors import ValidationError

__all__ = ["IdempotencyCache", "StoredResponse", "fingerprint"]

TOKEN_TTL_SECONDS = 8 * 3600


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Mapping[str, Any]


def fingerprint(body: Mapping[str, Any], query: Mapping[str, str]) -> str:
    """A digest of the request minus its clientToken."""
    material = {
        "body": {k: v for k, v in body.items() if k != "clientToken"},
        "query": {k: v for k, v in query.items() if k != "clientToken"},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


@dataclass
class _Entry:
    digest: str
    response: StoredResponse
    stored_at: float = field(default_factory=time.monotonic)


class IdempotencyCache:
    def __init__(self, ttl_seconds: float = TOKEN_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    @asynccontextmanager
    async def guard(self, key: tuple[str, ...]) -> AsyncIterator[None]:
        """Serialise concurrent requests that carry the same token."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    def lookup(self, key: tuple[str, ...], digest: str) -> StoredResponse | None:
        self._expire()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.digest != digest:
            raise ValidationError(
                "The clientToken was already used with different request parameters. Use a "
                "new clientToken, or resend the earlier request unchanged.",
                field="clientToken",
                reason="IdempotentParameterMismatchException",
            )
        return entry.response

    def remember(self, key: tuple[str, ...], digest: str, response: StoredResponse) -> None:
        self._entries[key] = _Entry(digest, response)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._ttl
        for key in [k for k, e in self._entries.items() if e.stored_at < cutoff]:
            del self._entries[key]
