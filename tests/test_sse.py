"""`agentcore_mcp.sse`, the package's one SSE decoder, gives what httpx2's (the `mcp` SDK's
HTTP stack) gives, on a corpus fed whole, byte by byte, and cut at every position."""

from __future__ import annotations

import json

import httpx2
import pytest

from agentcore_mcp.sse import SseDecoder, sse_data

NOTIFICATION = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress"}).encode()
RESULT = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "result": {"text": "naïve 天気 🙂 \u0085 \u2028 \u2029"}},
    ensure_ascii=False,
).encode()

CORPUS: dict[str, bytes] = {
    "one event": b"event: message\ndata: " + RESULT + b"\n\n",
    "sdk framing (CRLF)": b"event: message\r\ndata: " + RESULT + b"\r\n\r\n",
    "keep-alives and a notification first": (
        b": ping\r\n\r\n: ping - 2026-12-06 15:00:00\r\n\r\nevent: message\r\ndata: "
        + NOTIFICATION
        + b"\r\n\r\nevent: message\r\ndata: "
        + RESULT
        + b"\r\n\r\n"
    ),
    "multi-line data": b'data: {"a":\ndata:  1}\ndata:\ndata\n\n',
    "lone CR line ends": b"data: a\rdata: b\r\rdata: c\r\r",
    "mixed line ends": b"data: a\r\ndata: b\ndata: c\r\r\ndata: d\n\r\n",
    "raw U+0085, U+2028, U+2029 are not line ends": (
        "data: x\u0085y\u2028z\u2029w\n\n".encode() + "data: \x85\n\n".encode()
    ),
    "non-ASCII": "data: naïve\ndata: 天気 🙂\n\n".encode(),
    "no space after the colon, two spaces": b"data:a\n\ndata:  b\n\n",
    "other fields only": b"event: x\nid: 7\nretry: 100\n\nid: 8\n\n",
    "empty data": b"data:\n\ndata: \n\n",
    "fields that start like data": b"datum: x\ndata2: y\ndata : z\ndata: ok\n\n",
    "comment inside an event": b"data: a\n: not data\ndata: b\n\n",
    "an event the stream ends in the middle of": b"data: done\n\ndata: cut",
    "blank lines only": b"\n\n\r\n\r\r",
    "empty": b"",
    "id and retry around data": b"id: 1\ndata: a\nretry: 5\nevent: message\n\n",
}


def httpx2_data(chunks: list[bytes]) -> list[bytes]:
    """What httpx2's `EventSource` yields for a stream in these chunks: each event's data
    (the `mcp` client skips events with empty data, as `sse_data` does)."""
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=iter(chunks),
        request=httpx2.Request("POST", "http://127.0.0.1/mcp"),
    )
    return [event.data.encode() for event in httpx2.EventSource(response, None) if event.data]


def fed(chunks: list[bytes]) -> list[bytes]:
    decoder = SseDecoder()
    return [data for chunk in chunks for data in decoder.feed(chunk)]


@pytest.mark.parametrize("name", list(CORPUS))
def test_decoder_equals_httpx2(name: str) -> None:
    body = CORPUS[name]
    expected = httpx2_data([body])
    assert sse_data(body) == expected
    assert fed([body[i : i + 1] for i in range(len(body))]) == expected
    for cut in range(len(body) + 1):
        assert fed([body[:cut], body[cut:]]) == expected, f"cut at {cut}"


def test_the_corpus_says_something() -> None:
    """The corpus's expectations, spelled out (so a decoder that agreed with httpx2 by
    both yielding nothing would not pass)."""
    assert sse_data(CORPUS["keep-alives and a notification first"]) == [NOTIFICATION, RESULT]
    assert sse_data(CORPUS["multi-line data"]) == [b'{"a":\n 1}\n\n']
    assert sse_data(CORPUS["lone CR line ends"]) == [b"a\nb", b"c"]
    assert sse_data(CORPUS["raw U+0085, U+2028, U+2029 are not line ends"]) == [
        "x\u0085y\u2028z\u2029w".encode(),
        "\x85".encode(),
    ]
    assert sse_data(CORPUS["an event the stream ends in the middle of"]) == [b"done"]
    assert sse_data(CORPUS["empty data"]) == []
    assert sse_data(CORPUS["fields that start like data"]) == [b"ok"]


def test_a_large_event_in_small_chunks() -> None:
    payload = b"x" * (4 * 1024 * 1024)
    body = b"data: " + payload + b"\r\n\r\n"
    assert fed([body[i : i + 1024] for i in range(0, len(body), 1024)]) == [payload]
