"""The invocation rate limit: 25 invocations per second per endpoint, as the service.

A token bucket per (runtime, endpoint): it holds up to one second's worth of calls and
refills continuously, so a steady caller at the rate is never refused and a burst past
it is refused at once (ThrottlingException), which is what boto3's retry modes are
built to absorb. Rate 0 turns the limit off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# The service's default quota: invocations per second per endpoint (contract, section 3).
DEFAULT_RATE = 25.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        # At least one call must get through whatever the rate, or a rate below 1/s
        # would refuse everything.
        self.burst = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, runtime_id: str, endpoint: str) -> bool:
        """Take one token for this endpoint; False when none is left (throttled)."""
        if self.rate <= 0:
            return True
        now = self._clock()
        key = (runtime_id, endpoint)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(self.burst - 1.0, now)
            return True
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def forget(self, runtime_id: str) -> None:
        """Drop a deleted runtime's buckets, so they cannot pile up."""
        for key in [k for k in self._buckets if k[0] == runtime_id]:
            del self._buckets[key]
