"""The one retry policy for calls to a runtime: `RuntimeTransport` (under the official
client) and the proxy's forwarder (its own HTTP/1.1 client) both run `send_with_retries`.

Which refusals are retried is botocore's standard retry mode, the one boto3 applies to
`InvokeAgentRuntime`, asked with that operation's model: the throttling error codes
(`ThrottlingException`, ...), a 429 of no modeled error, the model's retryable errors
(`RetryableConflictException`), and 500/502/503/504 and request timeouts. Two rules of
AgentCore's data plane come on top:
- 424 is retried: the runtime did not start within 30 s (a cold start), so the request
  never reached the server. (The model's `RuntimeClientError` is not retryable: at HTTP
  200 it is the tool's own failure.)
- A 5xx without `x-amzn-ErrorType` is not retried, 503 aside: it is the answer of the
  server behind the runtime, which may have run the tool already.

The delay is botocore's formula, truncated binary exponential backoff with full jitter,
`rand(0, 1) * min(base * 2**i, max)`, with the policy's base and cap (botocore's are
constants that change between its versions). Bounds: `max_attempts` attempts within
`max_retry_seconds`. The request is signed once, above this: a SigV4 signature stays
valid for 5 minutes, far longer than the budget.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

logger = logging.getLogger("agentcore_mcp.client")

ERROR_TYPE_HEADER = "x-amzn-errortype"
# A refusal's body is read to explain it; past this it is cut (it is an error message).
MAX_ERROR_BODY = 256 * 1024
COLD_START_STATUS = 424

_Answer = TypeVar("_Answer")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_seconds: float = 20.0

    def allows(self, attempt: int, elapsed: float) -> bool:
        """Whether one more attempt fits: `attempt` retries made, `elapsed` seconds spent."""
        return attempt + 1 < self.max_attempts and elapsed < self.max_retry_seconds

    def delay(self, attempt: int) -> float:
        # Full jitter: retries from many clients do not arrive in lockstep.
        return random.random() * min(self.base_delay * 2.0**attempt, self.max_delay)


class _HttpAnswer:
    """What botocore's retry checkers read of an HTTP response."""

    __slots__ = ("headers", "status_code")

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}


@functools.cache
def _standard_conditions() -> tuple[Any, Any]:
    """botocore's standard-mode checkers (attempts aside: the policy counts those) and
    the `InvokeAgentRuntime` model they read retryable errors from."""
    from botocore.retries import standard

    from agentcore_mcp.runtime_rules import service_model

    checkers = [standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker()]
    # A 429 of no modeled error; botocore releases without this checker retry no bare 429,
    # which AgentCore's data plane does not send (its 429 is ThrottlingException).
    status_checker = getattr(standard, "ThrottlingStatusCodeChecker", None)
    if status_checker is not None:
        checkers.append(status_checker())
    checkers.append(standard.ModeledRetryableChecker())
    operation = service_model("bedrock-agentcore").operation_model("InvokeAgentRuntime")
    return standard.OrRetryChecker(checkers), operation


def retryable(status: int, error_type: str | None) -> bool:
    """Whether a refusal is transient (see the module's doc)."""
    if status == COLD_START_STATUS:
        return True
    if error_type is None and status >= 500 and status != 503:
        return False
    from botocore.retries.standard import RetryContext

    conditions, operation = _standard_conditions()
    context = RetryContext(
        attempt_number=1,
        operation_model=operation,
        parsed_response={"Error": {"Code": error_type}} if error_type else {},
        http_response=_HttpAnswer(status),
    )
    return bool(conditions.is_retryable(context))


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer that is not the server's: status, `x-amzn-ErrorType`, and the body
    (read, at most `MAX_ERROR_BODY`; the answer it came in is closed)."""

    status: int
    error_type: str | None
    body: bytes


async def send_with_retries(
    send: Callable[[], Awaitable[tuple[_Answer, Refusal | None]]],
    policy: RetryPolicy,
) -> tuple[_Answer, Refusal | None, int]:
    """`send()` until it is answered, or refused with what is not retried, or the policy's
    bounds are reached: (the last answer, its refusal or None, the retries made).
    `send` returns an answer and, when the answer is a refusal, the refusal read."""
    started = time.monotonic()
    retries = 0
    while True:
        answer, refusal = await send()
        if (
            refusal is None
            or not policy.allows(retries, time.monotonic() - started)
            or not retryable(refusal.status, refusal.error_type)
        ):
            return answer, refusal, retries
        delay = policy.delay(retries)
        logger.info(
            "retrying after %s (HTTP %d) in %.2fs (attempt %d of %d)",
            refusal.error_type or "error",
            refusal.status,
            delay,
            retries + 2,
            policy.max_attempts,
        )
        retries += 1
        await anyio.sleep(delay)


async def read_refusal(chunks: AsyncIterator[bytes]) -> bytes:
    """A refusal's body, cut after `MAX_ERROR_BODY` bytes; the caller closes the answer."""
    out = bytearray()
    async for chunk in chunks:
        out += chunk
        if len(out) > MAX_ERROR_BODY:
            break
    return bytes(out)
