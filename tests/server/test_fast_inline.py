"""The fast path never lets a slow sync tool hold the event loop for more than one call.

Quick sync tools are promoted to run inline; slow ones stay on worker threads, so
concurrent calls still overlap. Observed from outside, as a client would see it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.procs import RunningProcess, run_mcp_server

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}


@pytest.fixture(scope="module")
def timing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    with run_mcp_server(  # LOG_LEVEL=debug: fast-path answers are marked
        Path(tmp_path_factory.mktemp("timing")),
        "tests.support.timing_app:mcp",
        env={"LOG_LEVEL": "debug"},
    ) as srv:
        yield srv


async def _calls(url: str, name: str, args: dict[str, object], n: int) -> list[object]:
    """`n` concurrent calls; their structured results, in order."""
    async with httpx2.AsyncClient(timeout=60) as client:
        replies = await asyncio.gather(
            *(
                client.post(
                    url,
                    headers=HEADERS,
                    json={
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "tools/call",
                        "params": {"name": name, "arguments": args},
                    },
                )
                for i in range(n)
            )
        )
    results = []
    for r in replies:
        assert r.status_code == 200
        result = r.json()["result"]
        assert result["isError"] is False
        assert r.headers["x-agentcore-mcp-dispatch"] == "fast"
        results.append(result["structuredContent"]["result"])
    return results


def test_slow_sync_tool_calls_overlap(timing_server: RunningProcess) -> None:
    url = f"{timing_server.base_url}/mcp"
    asyncio.run(_calls(url, "quick", {"text": "x"}, 20))  # promote `quick`; irrelevant to `meets`
    # Eight calls that each wait for a partner: on worker threads all four pairs meet.
    assert asyncio.run(_calls(url, "meets", {"batch": uuid.uuid4().hex}, 8)) == [True] * 8


def test_tool_that_turns_slow_is_sent_back_to_threads(timing_server: RunningProcess) -> None:
    url = f"{timing_server.base_url}/mcp"
    batch = uuid.uuid4().hex
    for _ in range(12):  # quick calls, one at a time: promoted to inline
        asyncio.run(_calls(url, "quick_then_meets", {"after": 12, "batch": batch}, 1))
    # From now on each call waits for a partner. At most the first runs inline: it holds
    # the loop, meets nobody, gives up (False) and is slow, which demotes the tool; the
    # other eight then run on threads and pair up. Inline throughout, none would meet.
    met = asyncio.run(_calls(url, "quick_then_meets", {"after": 12, "batch": batch}, 9))
    assert met.count(False) <= 1, met


def test_never_setting_keeps_every_sync_call_on_a_thread(tmp_path: Path) -> None:
    with run_mcp_server(
        tmp_path,
        "tests.support.timing_app:mcp",
        env={"MCP_INLINE_SYNC_TOOLS": "never", "LOG_LEVEL": "debug"},
    ) as srv:
        url = f"{srv.base_url}/mcp"
        asyncio.run(_calls(url, "quick", {"text": "x"}, 20))
        # `quick_then_meets` would be promoted by 12 quick calls under `auto`; never here.
        batch = uuid.uuid4().hex
        for _ in range(12):
            asyncio.run(_calls(url, "quick_then_meets", {"after": 12, "batch": batch}, 1))
        met = asyncio.run(_calls(url, "quick_then_meets", {"after": 12, "batch": batch}, 8))
        assert met == [True] * 8


def test_constrained_str_output_is_still_validated(timing_server: RunningProcess) -> None:
    """The str short-cut never skips an output constraint the SDK would enforce."""
    url = f"{timing_server.base_url}/mcp"

    def call(text: str) -> dict[str, object]:
        r = httpx2.post(
            url,
            headers=HEADERS,
            timeout=30,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "short_text", "arguments": {"text": text}},
            },
        )
        return dict(r.json()["result"])

    for _ in range(3):
        assert call("ok")["isError"] is False
    assert call("much too long")["isError"] is True
