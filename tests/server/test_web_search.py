"""The `web_search` tool end to end: our server as a real process, the real `openai` SDK
inside it talking to a local fake of the Responses API, and (for keys kept in Secrets
Manager) moto's server as a real process. Nothing of ours is mocked.

Servers are shared per configuration (each start costs seconds); the fake is told per
test how to answer, and is reset before every test.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from agentcore_mcp.server.sample.web_search import INSTRUCTIONS
from tests.support.fake_openai import ANSWER_TEXT, CITED_URLS, FakeOpenAI, run_fake_openai
from tests.support.loopback import serving
from tests.support.moto import MotoServer, run_moto
from tests.support.procs import RunningProcess, free_port, run_mcp_server, run_to_exit

KEY = "sk-test-web-search-0123456789"
QUERY = "When was Python 3.13 released, and what is new in it?"
SECRET_NAME = "agentcore-mcp/tests/openai-api-key"
# Settings of the developer's shell that would change what the server does.
_LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_API_KEY_SECRET_ID",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_WEB_SEARCH_MODEL",
    "OPENAI_TIMEOUT_SECONDS",
    "OPENAI_MAX_RETRIES",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)

Call = tuple[str, dict[str, Any]]


# --- plumbing -----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _clean_environ() -> Iterator[None]:
    """Child processes inherit os.environ; keep real keys and profiles out of them."""
    with pytest.MonkeyPatch.context() as mp:
        for name in _LEAKY_ENV:
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with run_fake_openai() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeOpenAI) -> None:
    fake.reset()


def openai_env(base_url: str, key: str = KEY, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": key,
        "OPENAI_API_KEY_SECRET_ID": "",
        "OPENAI_MAX_RETRIES": "0",
        "OPENAI_TIMEOUT_SECONDS": "1",
        "OPENAI_WEB_SEARCH_MODEL": "gpt-5-mini",
        **extra,
    }


def mcp_url(server: RunningProcess) -> str:
    return f"{server.base_url}/mcp"


async def _session(url: str, calls: list[Call]) -> list[tuple[CallToolResult, float]]:
    out: list[tuple[CallToolResult, float]] = []
    async with Client(url, read_timeout_seconds=30) as client:
        for name, arguments in calls:
            started = time.monotonic()
            result = await client.call_tool(name, arguments)
            out.append((result, time.monotonic() - started))
    return out


def call_in_one_session(server: RunningProcess, *calls: Call) -> list[tuple[CallToolResult, float]]:
    """Make the calls one after another over a single MCP session; (result, seconds) each."""
    return anyio.run(_session, mcp_url(server), list(calls))


def search_then_echo(server: RunningProcess, query: str = QUERY) -> tuple[CallToolResult, float]:
    """web_search, then echo on the same session, which must still work whatever happened."""
    (searched, elapsed), (echoed, _) = call_in_one_session(
        server, ("web_search", {"query": query}), ("echo", {"text": "still up"})
    )
    assert not echoed.is_error, text_of(echoed)
    assert text_of(echoed) == "still up"
    assert server.alive(), server.log()
    return searched, elapsed


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def expected_answer() -> str:
    return ANSWER_TEXT + "\n\nSources:\n" + "\n".join(f"- {url}" for url in CITED_URLS)


@pytest.fixture(scope="module")
def server(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """gpt-5-mini, a key in the environment, a 1 s timeout and no retries."""
    with run_mcp_server(tmp_path_factory.mktemp("web-search"), env=openai_env(fake.base_url)) as s:
        yield s


# --- success ------------------------------------------------------------------------------


def test_answer_has_text_and_deduplicated_sources_in_order(
    server: RunningProcess, fake: FakeOpenAI
) -> None:
    result, _ = search_then_echo(server)

    assert not result.is_error, text_of(result)
    assert text_of(result) == expected_answer()
    # The fake cites the python.org URL twice; it is listed once, first.
    assert text_of(result).count(CITED_URLS[0]) == 1


def test_request_follows_the_responses_api_contract(
    server: RunningProcess, fake: FakeOpenAI
) -> None:
    search_then_echo(server)

    [request] = fake.responses_requests()
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "gpt-5-mini"
    assert body["input"] == QUERY
    assert body["tools"] == [{"type": "web_search"}]
    assert body["reasoning"] == {"effort": "low"}
    assert body["instructions"] == INSTRUCTIONS
    assert "web_search" in body["instructions"]
    assert set(body) == {"model", "input", "instructions", "tools", "reasoning"}


def test_fake_exposes_recorded_requests_over_http(server: RunningProcess, fake: FakeOpenAI) -> None:
    import httpx2

    search_then_echo(server)

    recorded = httpx2.get(f"{fake.url}/_requests", timeout=5).json()
    assert [r["path"] for r in recorded] == ["/v1/responses"]
    assert recorded[0]["body"]["input"] == QUERY


@pytest.mark.slow
def test_reasoning_effort_is_not_sent_to_gpt_4_1(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = openai_env(fake.base_url, OPENAI_WEB_SEARCH_MODEL="gpt-4.1")
    with run_mcp_server(tmp_path, env=env) as s:
        result, _ = search_then_echo(s)

    assert not result.is_error, text_of(result)
    assert text_of(result) == expected_answer()
    [request] = fake.responses_requests()
    assert request["body"]["model"] == "gpt-4.1"
    assert "reasoning" not in request["body"]
    assert request["body"]["tools"] == [{"type": "web_search"}]


# --- failures: each is a tool error, and the server carries on ---------------------------


@pytest.mark.parametrize("query", ["", "   \n\t"], ids=["empty", "whitespace"])
def test_empty_query_is_a_tool_error(server: RunningProcess, fake: FakeOpenAI, query: str) -> None:
    result, _ = search_then_echo(server, query)

    assert result.is_error
    assert "query must not be empty" in text_of(result)
    assert fake.responses_requests() == []


@pytest.mark.parametrize(
    ("scenario", "fragments"),
    [
        ("401", ("401", "rejected the API key", "OPENAI_API_KEY")),
        ("429", ("429", "rate limit")),
        ("500", ("500", "server had an error")),
        ("empty", ("no answer text",)),
        ("garbage", ("could not be read", "JSONDecodeError", "OPENAI_BASE_URL")),
    ],
    ids=["401", "429", "500", "no-message", "truncated-json"],
)
def test_upstream_failure_is_a_tool_error(
    server: RunningProcess, fake: FakeOpenAI, scenario: str, fragments: tuple[str, ...]
) -> None:
    fake.set_scenario(scenario)

    result, elapsed = search_then_echo(server)

    message = text_of(result)
    assert result.is_error, message
    assert message.startswith("Error executing tool web_search: "), message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    assert KEY not in message  # OpenAI's 401 body quotes the key; we must not pass it on
    # OPENAI_MAX_RETRIES=0 is honoured: exactly one request, no retry, no waiting.
    assert len(fake.responses_requests()) == 1
    assert elapsed < 5


def test_timeout_is_a_tool_error_within_bounded_time(
    server: RunningProcess, fake: FakeOpenAI
) -> None:
    fake.set_scenario("slow")

    result, elapsed = search_then_echo(server)

    assert result.is_error
    assert "did not answer within 1 s" in text_of(result)
    assert "OPENAI_TIMEOUT_SECONDS" in text_of(result)
    assert elapsed < 10
    assert len(fake.responses_requests()) == 1


def test_missing_key_is_a_tool_error(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = openai_env(fake.base_url, key="")
    with run_mcp_server(tmp_path, env=env) as s:
        result, _ = search_then_echo(s)

    assert result.is_error
    assert "OPENAI_API_KEY" in text_of(result)
    assert "OPENAI_API_KEY_SECRET_ID" in text_of(result)
    assert fake.requests() == []


@pytest.mark.slow
def test_unreachable_api_is_a_tool_error(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens here
    with run_mcp_server(tmp_path, env=openai_env(f"http://127.0.0.1:{closed}/v1")) as s:
        result, elapsed = search_then_echo(s)

    assert result.is_error
    assert "Cannot reach the OpenAI API" in text_of(result)
    assert elapsed < 10


# --- the key in Secrets Manager (moto) -----------------------------------------------------


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto(tmp_path_factory.mktemp("moto")) as running:
        yield running


@pytest.fixture(scope="module")
def secret_server(
    fake: FakeOpenAI, moto: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningProcess]:
    """No key in the environment, only OPENAI_API_KEY_SECRET_ID pointing into moto.

    The secret exists before the start: the server reads it then, and fails to start
    without it (tests/server/test_secrets.py).
    """
    store_secret(moto, "sk-at-start")
    env = {
        **openai_env(fake.base_url, key=""),
        "OPENAI_API_KEY_SECRET_ID": SECRET_NAME,
        **moto.env(),
    }
    with run_mcp_server(tmp_path_factory.mktemp("web-search-secret"), env=env) as s:
        yield s


def store_secret(moto: MotoServer, value: str | None) -> None:
    """Set the secret's value, creating it if needed; None deletes it."""
    sm = moto.secretsmanager()
    names = {s["Name"] for s in sm.list_secrets()["SecretList"]}
    if value is None:
        if SECRET_NAME in names:
            sm.delete_secret(SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True)
    elif SECRET_NAME in names:
        sm.put_secret_value(SecretId=SECRET_NAME, SecretString=value)
    else:
        sm.create_secret(Name=SECRET_NAME, SecretString=value)


def keys_seen(fake: FakeOpenAI) -> list[str]:
    return [r["headers"]["authorization"] for r in fake.responses_requests()]


@pytest.mark.parametrize(
    "stored",
    [f"{KEY}-raw", f"  {KEY}-raw\n", '{"OPENAI_API_KEY": "' + KEY + '-raw", "note": "x"}'],
    ids=["raw-string", "raw-string-with-whitespace", "json-object"],
)
def test_key_comes_from_the_secret(
    secret_server: RunningProcess, fake: FakeOpenAI, moto: MotoServer, stored: str
) -> None:
    store_secret(moto, stored)

    result, _ = search_then_echo(secret_server)

    assert not result.is_error, text_of(result)
    assert text_of(result) == expected_answer()
    assert keys_seen(fake) == [f"Bearer {KEY}-raw"]


def test_rotated_secret_is_picked_up_without_restart(
    secret_server: RunningProcess, fake: FakeOpenAI, moto: MotoServer
) -> None:
    store_secret(moto, "sk-before-rotation")
    first, _ = search_then_echo(secret_server)
    store_secret(moto, '{"OPENAI_API_KEY": "sk-after-rotation"}')
    second, _ = search_then_echo(secret_server)

    assert not first.is_error and not second.is_error
    assert keys_seen(fake) == ["Bearer sk-before-rotation", "Bearer sk-after-rotation"]


def test_rejected_key_from_secret_is_a_tool_error(
    secret_server: RunningProcess, fake: FakeOpenAI, moto: MotoServer
) -> None:
    store_secret(moto, "sk-401")  # the fake answers this key with 401

    result, _ = search_then_echo(secret_server)

    assert result.is_error
    assert "401" in text_of(result)
    assert "OPENAI_API_KEY_SECRET_ID" in text_of(result)
    assert keys_seen(fake) == ["Bearer sk-401"]


@pytest.mark.parametrize(
    "stored",
    [
        '{"api_key": "sk-wrong-field"}',
        '{"OPENAI_API_KEY": null}',
        '{"OPENAI_API_KEY": ""}',
        '{"OPENAI_API_KEY": 42}',
        "   ",
    ],
    ids=["json-without-field", "json-null", "json-empty", "json-number", "blank"],
)
def test_secret_without_a_key_is_a_tool_error(
    secret_server: RunningProcess, fake: FakeOpenAI, moto: MotoServer, stored: str
) -> None:
    store_secret(moto, stored)

    result, _ = search_then_echo(secret_server)

    assert result.is_error, text_of(result)
    assert SECRET_NAME in text_of(result)
    assert "OPENAI_API_KEY" in text_of(result)
    assert fake.requests() == []


def test_missing_secret_is_a_tool_error(
    secret_server: RunningProcess, fake: FakeOpenAI, moto: MotoServer
) -> None:
    store_secret(moto, None)

    result, _ = search_then_echo(secret_server)

    assert result.is_error
    assert "Secrets Manager" in text_of(result)
    assert SECRET_NAME in text_of(result)
    assert "ResourceNotFoundException" in text_of(result)
    assert fake.requests() == []


def test_unreachable_secrets_manager_fails_the_start_within_bounded_time(
    fake: FakeOpenAI, moto: MotoServer, tmp_path: Path
) -> None:
    closed = free_port()
    aws: Mapping[str, str] = {**moto.env(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed}"}
    env = {**openai_env(fake.base_url, key=""), "OPENAI_API_KEY_SECRET_ID": SECRET_NAME, **aws}
    started = time.monotonic()
    argv = [sys.executable, "-m", "agentcore_mcp", "serve", "--host", "127.0.0.1"]
    status, output = run_to_exit([*argv, "--port", str(free_port())], env, cwd=tmp_path)

    assert status == 6, output
    assert "Secrets Manager" in output and SECRET_NAME in output, output
    assert "Traceback" not in output, output
    assert time.monotonic() - started < 60
    assert fake.requests() == []


@contextmanager
def slow_denying_secrets_manager(delay: float) -> Iterator[tuple[str, threading.Event]]:
    """An AWS endpoint that answers the first call (the server start) with a key, then takes
    `delay` s to refuse every call with AccessDeniedException.

    Yields its URL and an event set when the first refused request arrives.
    """
    arrived = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()
    answered: list[bool] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                first = not answered
                answered.append(True)
            if first:
                self._send(200, {"Name": SECRET_NAME, "SecretString": "sk-at-start"})
                return
            arrived.set()
            stop.wait(delay)
            self._send(
                400,
                {
                    "__type": "AccessDeniedException",
                    "Message": "not authorized to perform GetSecretValue",
                },
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    with serving(httpd) as url:
        try:
            yield url, arrived
        finally:
            stop.set()


@pytest.mark.slow
def test_slow_secrets_manager_does_not_stall_other_requests(
    fake: FakeOpenAI, moto: MotoServer, tmp_path: Path
) -> None:
    delay = 3.0
    with slow_denying_secrets_manager(delay) as (endpoint, arrived):
        env = {
            **openai_env(fake.base_url, key=""),
            "OPENAI_API_KEY_SECRET_ID": SECRET_NAME,
            **moto.env(),
            "AWS_ENDPOINT_URL": endpoint,
        }
        with run_mcp_server(tmp_path, env=env) as s:
            url = mcp_url(s)
            timings: dict[str, tuple[CallToolResult, float]] = {}

            async def search() -> None:
                [timings["search"]] = await _session(url, [("web_search", {"query": QUERY})])

            async def echo_while_searching() -> None:
                # Once the search is waiting on Secrets Manager, another client is served.
                assert await anyio.to_thread.run_sync(arrived.wait, 10.0)
                started = time.monotonic()  # connecting and initializing count too
                [(result, _)] = await _session(url, [("echo", {"text": "not stalled"})])
                timings["echo"] = (result, time.monotonic() - started)

            async def both() -> None:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(search)
                    tg.start_soon(echo_while_searching)

            anyio.run(both)

    searched, search_seconds = timings["search"]
    echoed, echo_seconds = timings["echo"]
    assert text_of(echoed) == "not stalled"
    assert echo_seconds < delay / 2, f"echo took {echo_seconds:.2f} s behind a secret fetch"
    assert searched.is_error
    assert "Secrets Manager" in text_of(searched)
    assert "AccessDeniedException" in text_of(searched)
    assert delay <= search_seconds < delay + 5
