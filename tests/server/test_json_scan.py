"""`json_scan.scan_json` counts what a parser would build, strings and escapes aside."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from agentcore_mcp.server.json_scan import WINDOW, JsonLimitError, _scan_exactly, scan_json


def reference(doc: Any) -> tuple[int, int]:
    """(values, depth) as the scan defines them: an empty container counts twice."""
    if isinstance(doc, (list, dict)):
        children = [reference(x) for x in (doc.values() if isinstance(doc, dict) else doc)]
        values = 1 + sum(v for v, _ in children) + (0 if children else 1)
        return values, 1 + max((d for _, d in children), default=0)
    return 1, 0


def generate(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 6 or r < 0.3:
        return rng.choice([1, 'x,"[]{}\\', None, "\\\\", "", 2.5, "\\u2028]"])
    if r < 0.65:
        return [generate(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f'k{i}"[': generate(rng, depth + 1) for i in range(rng.randint(0, 4))}


def passes(body: bytes, max_values: int, max_depth: int) -> bool:
    try:
        _scan_exactly(body, max_values, max_depth)
    except JsonLimitError:
        return False
    return True


def test_exact_counts_match_a_reference_parse() -> None:
    rng = random.Random(8)
    for _ in range(1500):
        doc = generate(rng)
        body = json.dumps(doc).encode()
        values, depth = reference(doc)
        assert passes(body, values, max(depth, 1)), body
        assert not passes(body, values - 1, max(depth, 1)) or values == 1, body
        if depth > 1:
            assert not passes(body, values, depth - 1), body


@pytest.mark.parametrize("run", [1, 2, 3, 4])
def test_escapes_split_across_windows(run: int) -> None:
    """A run of backslashes ending at a window boundary, then an escaped quote: the
    brackets after it are still inside the string."""
    prefix = b'["' + b"a" * (WINDOW - 2 - run)
    body = prefix + b"\\" * run + b'"' + b"[[[[" + b'"]'
    inside = run % 2 == 1  # an odd run escapes the quote: the string goes on
    assert passes(body, 10, 3) is inside
    assert passes(body, 10, 5)


def test_cheap_pass_only_when_within_limits() -> None:
    text = json.dumps({"text": "a,[b]{c}" * 300_000}).encode()  # commas inside a string
    scan_json(text, 10, 2)  # the exact pass finds 2 values at depth 1
    with pytest.raises(JsonLimitError, match="MCP_MAX_JSON_VALUES"):
        scan_json(b"[" + b"[]," * 50_000 + b"[]]", 10_000, 128)
    with pytest.raises(JsonLimitError, match="MCP_MAX_JSON_DEPTH"):
        scan_json(b"[" * 200 + b"]" * 200, 10_000, 128)
