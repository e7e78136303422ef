"""One runner for the tiny HTTP servers tests start on 127.0.0.1 to stand in for third
parties (an OAuth provider, OpenAI, Secrets Manager, an AgentCore runtime)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import HTTPServer


@contextmanager
def serving(server: HTTPServer, *, name: str = "test-http") -> Iterator[str]:
    """Serve `server` (bound on 127.0.0.1) from a background thread; its base URL.

    On exit the server is shut down and closed and its thread joined.
    """
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
