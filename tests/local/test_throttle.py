"""The rate limiter's arithmetic with a hand-moved clock (tests/local/test_fidelity.py
has the end-to-end behaviour: boto3's 429 and retries, MCP's -32003)."""

from __future__ import annotations

from agentcore_mcp.local.throttle import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_one_seconds_worth_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(25, clock)
    assert all(limiter.allow("rt", "DEFAULT") for _ in range(25))
    assert not limiter.allow("rt", "DEFAULT")
    clock.now += 0.04  # one token's worth at 25/s
    assert limiter.allow("rt", "DEFAULT")
    assert not limiter.allow("rt", "DEFAULT")
    clock.now += 10  # refills up to the burst, never past it
    assert sum(limiter.allow("rt", "DEFAULT") for _ in range(40)) == 25


def test_each_endpoint_has_its_own_bucket_and_forget_drops_them() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock)
    assert limiter.allow("rt", "DEFAULT") and limiter.allow("rt", "DEFAULT")
    assert not limiter.allow("rt", "DEFAULT")
    assert limiter.allow("rt", "beta") and limiter.allow("other", "DEFAULT")
    limiter.forget("rt")
    assert limiter.allow("rt", "DEFAULT")


def test_zero_is_off_and_a_rate_below_one_still_lets_one_through() -> None:
    clock = Clock()
    off = RateLimiter(0, clock)
    assert all(off.allow("rt", "DEFAULT") for _ in range(1000))
    slow = RateLimiter(0.5, clock)
    assert slow.allow("rt", "DEFAULT") and not slow.allow("rt", "DEFAULT")
    clock.now += 2
    assert slow.allow("rt", "DEFAULT")
