"""`agentcore_mcp.jsonrpc`: the one reading of a request's id and method, used by the
runtime client's transport, the proxy (both doors) and the local AgentCore's data plane."""

from __future__ import annotations

from typing import Any

import pytest

from agentcore_mcp.jsonrpc import id_and_method, request_id


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "method": "ping"}', (7, "ping")),
        (b'{"id": "a", "method": "tools/call", "params": {}}', ("a", "tools/call")),
        (b'{"method": "notifications/cancelled"}', (None, "notifications/cancelled")),
        (b'{"jsonrpc": "2.0", "id": 3, "result": {}}', (3, None)),
        (b'{"jsonrpc": "2.0", "id": 4, "method": 5}', (4, None)),  # not a method name
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', (None, None)),  # a batch
        (b"not json", (None, None)),
        (b"", (None, None)),
        (b'"a string"', (None, None)),
    ],
)  # fmt: skip
def test_id_and_method(body: bytes, expected: tuple[Any, str | None]) -> None:
    assert id_and_method(body) == expected
    assert request_id(body) == expected[0]


def test_a_body_over_the_bound_is_not_parsed() -> None:
    body = b'{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"x": "%s"}}' % (
        b"y" * 2000
    )
    assert request_id(body) == 9
    assert request_id(body, max_bytes=len(body)) == 9
    assert request_id(body, max_bytes=len(body) - 1) is None
