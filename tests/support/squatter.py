"""A squatter: another local user's process listening on a dead local AgentCore's port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.procs import RunningProcess, free_port, run_process

OTHER_UID = 65534  # nobody

# A listener on a dead local AgentCore's port: answers every request 200 "{}" and writes
# everything it received to stdout (the test reads it from the log). As root it drops to
# uid 65534 first, as another local user's process would be.
SQUATTER = r"""
import os, sys
import email.generator, encodings.idna  # imported lazily, and uid 65534 cannot read /root
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sys.stdout.buffer.write(self.requestline.encode() + b"\n" + bytes(self.headers))
        sys.stdout.buffer.write(body + b"\n----\n")
        sys.stdout.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

    def log_message(self, *args):
        pass

if os.getuid() == 0:  # before the socket: /proc/net/tcp shows its creator's uid
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@contextmanager
def run_squatter(tmp_path: Path) -> Iterator[RunningProcess]:
    """The squatter on a free loopback port; `.log()` is everything it received."""
    port = free_port()
    with run_process(
        [sys.executable, "-c", SQUATTER, str(port)], port=port, tmp_path=tmp_path, name="squat"
    ) as proc:
        yield proc
