"""Without the SDK internals it needs, the fast path hands every request to the SDK.

One server runs the fast dispatcher with `MCP_SDK_COMPAT_HIDE` naming one of the fast
path's internals (what `sdk_compat` reports on an `mcp` release that lacks it), one runs
`MCP_DISPATCHER=sdk`. The whole equivalence corpus goes to both: the answers are equal,
none is marked as answered by the fast path, and the server warned once.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from agentcore_mcp.server import sdk_compat
from tests.server.test_fast_equivalence import CASES, messages
from tests.support.procs import RunningProcess, run_mcp_server

HIDDEN = "ServerRunner._serialize"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningProcess, ...]]:
    env = {
        "MCP_RESPONSE_MODE": "auto",
        "OPENAI_API_KEY": "",
        "OPENAI_API_KEY_SECRET_ID": "",
        # debug: the fast path would mark its answers, so the test sees none of them
        "LOG_LEVEL": "debug",
    }
    base = tmp_path_factory.mktemp("fallback")
    (base / "fast").mkdir()
    (base / "sdk").mkdir()
    with (
        run_mcp_server(
            base / "fast",
            env={**env, "MCP_DISPATCHER": "fast", sdk_compat.HIDE_ENV: HIDDEN},
        ) as fast,
        run_mcp_server(base / "sdk", env={**env, "MCP_DISPATCHER": "sdk"}) as sdk,
    ):
        yield fast, sdk


def test_corpus_answers_are_the_sdks_and_one_warning(pair: tuple[RunningProcess, ...]) -> None:
    fast, sdk = pair
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    with httpx2.Client(timeout=60) as client:
        for label, body, headers in CASES:
            f, s = (
                client.post(f"{srv.base_url}/mcp", content=body, headers={**base, **headers})
                for srv in (fast, sdk)
            )
            assert f.status_code == s.status_code, (label, f.text[:300], s.text[:300])
            assert messages(f) == messages(s), label
            assert "x-agentcore-mcp-dispatch" not in f.headers, label
    log = fast.log()
    assert log.count("fast path off") == 1, log[-2000:]
    assert HIDDEN in log
    assert "fast path off" not in sdk.log()
