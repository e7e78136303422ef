"""Discovery document and JWKS: fetched, cached, re-fetched (rate-limited) for unknown keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import httpx2
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from agentcore_mcp.auth.jwt.config import (
    DEFAULT_CACHE_TTL,
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MIN_REFETCH_INTERVAL,
)
from agentcore_mcp.auth.jwt.errors import (
    DiscoveryError,
    UnknownKeyError,
)

#: url -> parsed JSON object. Raise anything on failure; it is reported as DiscoveryError.
Fetch = Callable[[str], Mapping[str, Any]]


def default_fetch(
    url: str, *, timeout: float = DEFAULT_FETCH_TIMEOUT, follow_redirects: bool = False
) -> Mapping[str, Any]:
    """GET a JSON object with httpx2 and a short timeout.

    Redirects are refused unless asked for: the discovery URL is the authorizer's trust
    anchor, and a redirect would let whoever answers it send the verifier to keys of
    their choosing. To follow them, pass
    `functools.partial(default_fetch, follow_redirects=True)` as the cache's `fetch`.
    """
    response = httpx2.get(
        url,
        timeout=timeout,
        follow_redirects=follow_redirects,
        headers={"Accept": "application/json"},
    )
    if response.is_redirect:
        raise ValueError(
            f"{url} answered {response.status_code} redirecting to "
            f"{response.headers.get('location', '(no Location)')!r}; redirects are not "
            "followed for discovery and JWKS. Configure the final URL instead."
        )
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return cast(dict[str, Any], data)


@dataclass(frozen=True, slots=True)
class DiscoveryDocument:
    """The parts of an OpenID / OAuth authorization server metadata document we use."""

    url: str
    issuer: str
    jwks_uri: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def parse(cls, url: str, data: Mapping[str, Any]) -> DiscoveryDocument:
        issuer, jwks_uri = data.get("issuer"), data.get("jwks_uri")
        if not isinstance(issuer, str) or not issuer:
            raise DiscoveryError(f"discovery document {url} has no 'issuer'")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise DiscoveryError(f"discovery document {url} has no 'jwks_uri'")
        return cls(url=url, issuer=issuer, jwks_uri=jwks_uri, raw=dict(data))


@dataclass(slots=True)
class _Entry:
    value: Any
    fetched_at: float


class JwksCache:
    """Discovery documents and JWKS by URL, with a TTL; thread-safe; synchronous.

    A token whose `kid` is not in the cached JWKS triggers one re-fetch of that JWKS, at most
    once per `min_refetch_interval` per URL (so a stream of bogus kids cannot hammer the
    authorization server). Async callers should run verification in a worker thread when
    `fetch` does network I/O.
    """

    def __init__(
        self,
        fetch: Fetch | None = None,
        *,
        ttl: timedelta = DEFAULT_CACHE_TTL,
        min_refetch_interval: timedelta = DEFAULT_MIN_REFETCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch: Fetch = fetch or default_fetch
        self._ttl = ttl.total_seconds()
        self._min_refetch = min_refetch_interval.total_seconds()
        self._clock = clock
        self._lock = threading.RLock()
        self._docs: dict[str, _Entry] = {}
        self._jwks: dict[str, _Entry] = {}

    def discovery(self, discovery_url: str) -> DiscoveryDocument:
        with self._lock:
            entry = self._docs.get(discovery_url)
            if entry is None or self._clock() - entry.fetched_at >= self._ttl:
                doc = DiscoveryDocument.parse(discovery_url, self._get(discovery_url, "discovery"))
                entry = self._docs[discovery_url] = _Entry(doc, self._clock())
            return cast(DiscoveryDocument, entry.value)

    def key_set(self, jwks_uri: str) -> KeySet:
        with self._lock:
            entry = self._jwks.get(jwks_uri)
            if entry is None or self._clock() - entry.fetched_at >= self._ttl:
                entry = self._refresh_jwks(jwks_uri)
            return cast(KeySet, entry.value)

    def find_key(self, jwks_uri: str, kid: str | None) -> Key:
        """The key for `kid` (or the only key when the token names none)."""
        with self._lock:
            key = _pick(self.key_set(jwks_uri), kid)
            if key is not None:
                return key
            age = self._clock() - self._jwks[jwks_uri].fetched_at
            if age < self._min_refetch:
                raise UnknownKeyError(
                    f"{kid_text(kid)} is not in the JWKS at {jwks_uri} (fetched {age:.0f} s ago; "
                    f"re-fetched at most every {self._min_refetch:.0f} s): sign with a key the "
                    "authorization server publishes"
                )
            key = _pick(self._refresh_jwks(jwks_uri).value, kid)
            if key is None:
                raise UnknownKeyError(
                    f"{kid_text(kid)} is not in the JWKS at {jwks_uri}, even after re-fetching "
                    "it: the token was not signed by this authorization server (wrong "
                    "discoveryUrl?) or its key was retired"
                )
            return key

    def invalidate(self) -> None:
        with self._lock:
            self._docs.clear()
            self._jwks.clear()

    def _refresh_jwks(self, jwks_uri: str) -> _Entry:
        data = self._get(jwks_uri, "JWKS")
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise DiscoveryError(f"JWKS {jwks_uri} has no 'keys' list")
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        try:
            key_set = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as exc:
            raise DiscoveryError(f"JWKS {jwks_uri} has no usable signing keys ({exc})") from exc
        entry = self._jwks[jwks_uri] = _Entry(key_set, self._clock())
        return entry

    def _get(self, url: str, what: str) -> Mapping[str, Any]:
        try:
            data = self._fetch(url)
        except Exception as exc:
            raise DiscoveryError(
                f"could not fetch the {what} document {url}: {exc}; check that the "
                "authorization server is reachable and the discoveryUrl is right"
            ) from exc
        if not isinstance(data, Mapping):
            raise DiscoveryError(f"the {what} document {url} is not a JSON object")
        return data


def _pick(key_set: KeySet, kid: str | None) -> Key | None:
    keys = list(key_set)
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    for key in keys:
        if key.kid == kid:
            return key
    return None


def kid_text(kid: str | None) -> str:
    return f"key id {kid!r}" if kid is not None else "a token without 'kid' (JWKS has several keys)"
