"""`agentcore-mcp proxy --stdio` with the official Python client, against a real local
AgentCore: both eras, both auth methods, progress, a long call, a result over 1 MiB,
session recovery, and refusals that become clear MCP errors while the proxy keeps serving."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from agentcore_mcp.client.session import sdk_mode
from tests.client._runtimes import Deployed
from tests.proxy._stdio import raw_proxy, stdio_proxy_client
from tests.proxy.conftest import IDLE_SECONDS, SCALE
from tests.support.local import CREDS


def oauth_args(d: Deployed) -> tuple[str, ...]:
    return (
        "--oauth", "--arn", d.oauth_arn,
        "--client-id", d.client_id, "--user-secret-id", d.secret_id,
    )  # fmt: skip


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_both_eras_progress_and_large_result(
    deployed: Deployed, tmp_path: Path, era: str
) -> None:
    errlog = tmp_path / "proxy.err"
    async with stdio_proxy_client(
        deployed.env(), errlog, "--arn", deployed.sigv4_arn, mode=sdk_mode(era)
    ) as client:
        assert "long_task" in {t.name for t in (await client.list_tools()).tools}
        seen: list[float] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            seen.append(done)

        result = await client.call_tool(
            "long_task", {"steps": 3, "interval_seconds": 0.2}, progress_callback=on_progress
        )
        # Every progress notification was relayed before the result reached the client.
        assert seen == [1, 2, 3], seen
        assert not result.is_error
        big = await client.call_tool("blob", {"size_bytes": 1_500_000})
        text = big.content[0].text  # type: ignore[union-attr]
        assert len(text) >= 1_500_000
    log = errlog.read_text()
    assert "forwarding stdio" in log


async def test_oauth_through_the_proxy(deployed: Deployed, tmp_path: Path) -> None:
    async with stdio_proxy_client(deployed.env(), tmp_path / "err", *oauth_args(deployed)) as c:
        result = await c.call_tool("echo", {"text": "bearer via proxy"})
    assert result.content[0].text == "bearer via proxy"  # type: ignore[union-attr]


@pytest.mark.slow
async def test_long_call_outlives_the_idle_timeout(deployed: Deployed, tmp_path: Path) -> None:
    """4.5 s of work while the scaled idle timeout is 3 s and the reaper runs every 1 s (a
    reaper blind to in-flight calls ends the session by 4 s): the in-flight call is neither
    cut by the proxy nor reaped, and it needs no recovery."""
    errlog = tmp_path / "err"
    async with stdio_proxy_client(deployed.env(), errlog, "--arn", deployed.sigv4_arn) as c:
        started = time.monotonic()
        result = await c.call_tool("long_task", {"steps": 3, "interval_seconds": 1.5})
        assert time.monotonic() - started >= 4.5
    assert not result.is_error
    assert "ended" not in errlog.read_text()


def proxy_sessions(d: Deployed, arn: str) -> list[dict[str, Any]]:
    runtime_id = arn.rsplit("/", 1)[1]
    return [s for s in d.local.status()["sessions"] if s["runtime_id"] == runtime_id]


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_recovery_after_stop_runtime_session(
    deployed: Deployed, tmp_path: Path, era: str
) -> None:
    errlog = tmp_path / "err"
    async with stdio_proxy_client(
        deployed.env(), errlog, "--arn", deployed.sigv4_arn, mode=sdk_mode(era)
    ) as client:
        await client.call_tool("echo", {"text": "before"})
        newest = min(proxy_sessions(deployed, deployed.sigv4_arn), key=lambda s: s["idle_seconds"])
        deployed.local.client("bedrock-agentcore").stop_runtime_session(
            agentRuntimeArn=deployed.sigv4_arn, runtimeSessionId=newest["id"]
        )
        result = await client.call_tool("echo", {"text": "after stop"})
        assert result.content[0].text == "after stop"  # type: ignore[union-attr]
    log = errlog.read_text()
    assert f"runtime session {newest['id']} ended" in log
    assert ("replayed initialize" in log) == (era == "handshake")


@pytest.mark.slow
async def test_recovery_after_idle_reap(deployed: Deployed, tmp_path: Path) -> None:
    errlog = tmp_path / "err"
    async with stdio_proxy_client(deployed.env(), errlog, *oauth_args(deployed)) as client:
        await client.call_tool("echo", {"text": "before"})
        sid = min(proxy_sessions(deployed, deployed.oauth_arn), key=lambda s: s["idle_seconds"])
        deadline = time.monotonic() + IDLE_SECONDS * SCALE + 15
        while any(s["id"] == sid["id"] for s in proxy_sessions(deployed, deployed.oauth_arn)):
            assert time.monotonic() < deadline, "the idle session was never reaped"
            time.sleep(0.25)
        result = await client.call_tool("echo", {"text": "after reap"})
        assert result.content[0].text == "after reap"  # type: ignore[union-attr]
    assert f"runtime session {sid['id']} ended" in errlog.read_text()


def assert_clear_errors_and_still_serving(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], *expected: str
) -> str:
    """Two requests, both answered with an MCP error saying what to fix; proxy alive."""
    errlog = tmp_path / "err"
    with raw_proxy(env, errlog, *args) as proxy:
        messages = []
        for i in (1, 2):
            answer = proxy.request(i, "tools/list")
            assert "error" in answer, answer
            messages.append(answer["error"]["message"])
        assert proxy.proc.poll() is None
    for text in expected:
        assert all(text in m for m in messages), messages
    return messages[0]


def test_user_not_in_allowed_clients(deployed: Deployed, tmp_path: Path) -> None:
    args = (
        "--oauth", "--arn", deployed.oauth_arn,
        "--client-id", deployed.other_client_id, "--user-secret-id", deployed.secret_id,
    )  # fmt: skip
    assert_clear_errors_and_still_serving(deployed.env(), tmp_path, args, "allowedClients")


def test_revoked_key(deployed: Deployed, tmp_path: Path) -> None:
    env = deployed.env(AWS_ACCESS_KEY_ID="AKIAREVOKED000000001", AWS_SECRET_ACCESS_KEY="x")
    assert_clear_errors_and_still_serving(
        env, tmp_path, ("--arn", deployed.sigv4_arn), "access key", "get-caller-identity"
    )


def test_expired_token(deployed: Deployed, tmp_path: Path) -> None:
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    from tests.auth._servers import idp_server

    key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
    with idp_server() as idp:
        idp.jwks = {"keys": [key.as_dict(private=False)]}
        rt = deployed.local.create_runtime(
            "own_idp",
            authorizerConfiguration={
                "customJWTAuthorizer": {"discoveryUrl": idp.discovery_url, "allowedClients": ["c"]}
            },
        )
        now = int(time.time())
        claims = {"iss": idp.issuer, "sub": "u", "client_id": "c", "token_use": "access",
                  "iat": now - 1200, "exp": now - 600}  # fmt: skip
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key, algorithms=["RS256"])
        env = deployed.env(AGENTCORE_BEARER_TOKEN=token)
        assert_clear_errors_and_still_serving(
            env, tmp_path, ("--oauth", "--arn", rt["agentRuntimeArn"]), "expired"
        )


def test_deleted_runtime(deployed: Deployed, tmp_path: Path) -> None:
    rt = deployed.local.create_runtime("doomed")
    arn = rt["agentRuntimeArn"]
    with raw_proxy(deployed.env(), tmp_path / "err", "--arn", arn) as proxy:
        ok = proxy.request(1, "tools/list")
        assert "result" in ok, ok
        deployed.local.client("bedrock-agentcore-control").delete_agent_runtime(
            agentRuntimeId=rt["agentRuntimeId"]
        )
        deadline = time.monotonic() + 30
        for i in range(2, 200):
            gone = proxy.request(i, "tools/list")
            if "being deleted" in str(gone):  # DELETING first: said so, then gone
                assert "redeploy" in gone["error"]["message"], gone
            elif "error" in gone or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "error" in gone, gone
        assert "does not exist" in gone["error"]["message"], gone
        assert "check the ARN" in gone["error"]["message"], gone
        again = proxy.request(999, "ping")
        assert "error" in again and proxy.proc.poll() is None


def test_stdout_is_protocol_only_and_bad_lines_get_errors(
    deployed: Deployed, tmp_path: Path
) -> None:
    errlog = tmp_path / "err"
    with raw_proxy(deployed.env(), errlog, "--arn", deployed.sigv4_arn, "--debug") as proxy:
        assert proxy.proc.stdin is not None
        proxy.proc.stdin.write(b"this is not json\n")
        proxy.proc.stdin.flush()
        bad = json.loads(proxy.lines.get(timeout=60))
        assert bad["error"]["code"] == -32700 and "not JSON" in bad["error"]["message"]
        pong = proxy.request(7, "ping")
        assert pong == {"jsonrpc": "2.0", "id": 7, "result": {}}, pong
    log = errlog.read_text()
    assert "ping -> HTTP 200" in log  # --debug logs every forwarded message, on stderr
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in log


@pytest.mark.parametrize("era", ["handshake", "2026-07-28"])
async def test_cancelled_call_ends_upstream_and_proxy_serves_on(
    deployed: Deployed, tmp_path: Path, era: str
) -> None:
    """The client gives up on a long call (it sends notifications/cancelled): the proxy
    drops that request's stream and answers the next call at once."""
    import anyio

    async with stdio_proxy_client(
        deployed.env(), tmp_path / "err", "--arn", deployed.sigv4_arn, mode=sdk_mode(era)
    ) as client:
        started = time.monotonic()
        with anyio.move_on_after(2):
            await client.call_tool("long_task", {"steps": 30, "interval_seconds": 1})
        result = await client.call_tool("echo", {"text": "after cancel"})
        assert result.content[0].text == "after cancel"  # type: ignore[union-attr]
        assert time.monotonic() - started < 20  # not after the 30 s call
    # The proxy closed that request's stream to the runtime. That a closed stream reaches
    # the instance as its caller leaving is checked in test_proxy_http.py and
    # tests/local/test_instances_env_and_routing.py.
    assert "cancelled by the client" in (tmp_path / "err").read_text()
