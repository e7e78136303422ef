"""A small local fake of OpenAI's Responses API, for driving the real `openai` SDK in tests.

It serves on 127.0.0.1 in a background thread (`run_fake_openai()`), or as its own process
(`python -m tests.support.fake_openai --port N`).

Endpoints:
- `POST /v1/responses`: a realistic `response` object with a `web_search_call` item and a
  `message` whose `output_text` part carries `url_citation` annotations, plus `usage`.
  Reasoning models (gpt-5*, o*) also get a leading `reasoning` item, as the real API sends.
- `GET /_requests`: every request received so far (method, path, headers, parsed body).
- `POST /_scenario` `{"scenario": NAME}`: how `/v1/responses` answers from now on.
- `POST /_reset`: forget the recorded requests and go back to scenario `ok`.

Scenarios (NAME), chosen by a key `sk-NAME` or else by the last `/_scenario`:
- `ok`: success;  `401`: 401 `invalid_api_key`;
- `429`: 429 `rate_limit_exceeded` with `retry-after: 0`;  `500`: 500 `server_error`;
- `slow`: sleep `SLOW_SECONDS` before answering (longer than a test client's timeout);
- `empty`: a completed response with no message (no answer text);
- `garbage`: 200 with a truncated JSON body (a proxy cut the answer short).
A request without a bearer key gets the API's 401 "You didn't provide an API key".
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.loopback import serving

SLOW_SECONDS = 5.0
SCENARIOS = frozenset({"ok", "401", "429", "500", "slow", "empty", "garbage"})

ANSWER_TEXT = (
    "Python 3.13 was released on October 7, 2024 [python.org]. It adds an experimental "
    "free-threaded build [docs.python.org] and a new interactive interpreter "
    "[python.org]."
)
# (url, title, marker) in the order they appear in ANSWER_TEXT; the first URL is cited twice.
CITATIONS: tuple[tuple[str, str, str], ...] = (
    (
        "https://www.python.org/downloads/release/python-3130/",
        "Python Release Python 3.13.0",
        "[python.org]",
    ),
    (
        "https://docs.python.org/3/whatsnew/3.13.html",
        "What's New In Python 3.13",
        "[docs.python.org]",
    ),
    (
        "https://www.python.org/downloads/release/python-3130/",
        "Python Release Python 3.13.0",
        "[python.org]",
    ),
)
CITED_URLS: tuple[str, ...] = (
    "https://www.python.org/downloads/release/python-3130/",
    "https://docs.python.org/3/whatsnew/3.13.html",
)


def _is_reasoning_model(model: str) -> bool:
    return model.startswith(("gpt-5", "o1", "o3", "o4"))


def _annotations() -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    start = 0
    for url, title, marker in CITATIONS:
        begin = ANSWER_TEXT.index(marker, start)
        end = begin + len(marker)
        notes.append(
            {
                "type": "url_citation",
                "url": url,
                "title": title,
                "start_index": begin,
                "end_index": end,
            }
        )
        start = end
    return notes


def _rid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def response_body(request: dict[str, Any], *, with_message: bool = True) -> dict[str, Any]:
    """A `response` object shaped like the real API's answer to a web_search request."""
    model = str(request.get("model", "gpt-5-mini"))
    query = str(request.get("input", ""))
    output: list[dict[str, Any]] = []
    if _is_reasoning_model(model):
        output.append({"type": "reasoning", "id": _rid("rs"), "summary": []})
    output.append(
        {
            "type": "web_search_call",
            "id": _rid("ws"),
            "status": "completed",
            "action": {"type": "search", "query": query},
        }
    )
    if with_message:
        output.append(
            {
                "type": "message",
                "id": _rid("msg"),
                "status": "completed",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": ANSWER_TEXT,
                        "annotations": _annotations(),
                        "logprobs": [],
                    }
                ],
            }
        )
    now = int(time.time())
    return {
        "id": _rid("resp"),
        "object": "response",
        "created_at": now,
        "completed_at": now,
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": None,
        "model": f"{model}-2025-08-07" if _is_reasoning_model(model) else model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [
            {
                "type": "web_search",
                "search_context_size": "medium",
                "user_location": {
                    "type": "approximate",
                    "city": None,
                    "country": "US",
                    "region": None,
                    "timezone": None,
                },
            }
        ],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 8312,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 412,
            "output_tokens_details": {"reasoning_tokens": 192},
            "total_tokens": 8724,
        },
        "user": None,
        "metadata": {},
    }


def _error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@dataclass
class _State:
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    scenario: str = "ok"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", _rid("req"))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_requests":
            with state.lock:
                self._send(200, list(state.requests))
        else:
            self._send(404, _error(f"Invalid URL (GET {self.path})", "invalid_request_error", None))

    def do_POST(self) -> None:
        state = self.server.state
        body = self._read_body()
        if self.path == "/_reset":
            with state.lock:
                state.requests.clear()
                state.scenario = "ok"
            self._send(200, {"ok": True})
            return
        if self.path == "/_scenario":
            name = body.get("scenario") if isinstance(body, dict) else None
            if name not in SCENARIOS:
                self._send(400, {"error": f"scenario must be one of {sorted(SCENARIOS)}"})
                return
            with state.lock:
                state.scenario = str(name)
            self._send(200, {"scenario": name})
            return
        with state.lock:
            state.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            sticky = state.scenario
        if self.path != "/v1/responses":
            self._send(
                404, _error(f"Invalid URL (POST {self.path})", "invalid_request_error", None)
            )
            return
        auth = self.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not key:
            self._send(
                401,
                _error(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    None,
                ),
            )
            return
        by_key = key.removeprefix("sk-")
        self._answer(by_key if by_key in SCENARIOS else sticky, key, body)

    def _answer(self, scenario: str, key: str, body: Any) -> None:
        if scenario == "401":
            self._send(
                401,
                _error(
                    f"Incorrect API key provided: {key}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        elif scenario == "429":
            self._send(
                429,
                _error(
                    "Rate limit reached for gpt-5-mini in organization org-test on tokens per "
                    "min (TPM): Limit 200000, Used 200000, Requested 8312. Please try again in 2s.",
                    "tokens",
                    "rate_limit_exceeded",
                ),
                {"retry-after": "0"},
            )
        elif scenario == "500":
            self._send(
                500,
                _error(
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                ),
            )
        elif scenario == "garbage":
            self._send_raw(200, b'{"id": "resp_trunc', "application/json")
        elif not isinstance(body, dict):
            self._send(
                400,
                _error(
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                    None,
                ),
            )
        elif scenario == "slow":
            self.server.state.stopping.wait(SLOW_SECONDS)
            self._send(200, response_body(body))
        else:
            self._send(200, response_body(body, with_message=scenario != "empty"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


@dataclass
class FakeOpenAI:
    """A running fake; `base_url` is what OPENAI_BASE_URL should be set to."""

    port: int
    _server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def requests(self) -> list[dict[str, Any]]:
        """Requests received so far, as `GET /_requests` returns them."""
        with self._server.state.lock:
            return [dict(r) for r in self._server.state.requests]

    def reset(self) -> None:
        """Forget recorded requests and go back to the `ok` scenario."""
        with self._server.state.lock:
            self._server.state.requests.clear()
            self._server.state.scenario = "ok"

    def set_scenario(self, name: str) -> None:
        """How every later `/v1/responses` answers, unless the key names a scenario."""
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; one of {sorted(SCENARIOS)}")
        with self._server.state.lock:
            self._server.state.scenario = name

    def responses_requests(self) -> list[dict[str, Any]]:
        """Only the `POST /v1/responses` requests."""
        return [r for r in self.requests() if r["path"] == "/v1/responses"]


def _make_server(port: int = 0) -> _Server:
    server = _Server(("127.0.0.1", port), _Handler)
    server.state = _State()
    return server


@contextmanager
def run_fake_openai() -> Iterator[FakeOpenAI]:
    """Serve the fake on a free loopback port in a background thread."""
    server = _make_server()
    with serving(server, name="fake-openai"):
        try:
            yield FakeOpenAI(int(server.server_address[1]), server)
        finally:
            server.state.stopping.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = _make_server(args.port)
    print(f"fake OpenAI on http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
