"""JSON-RPC pieces every layer needs: the runtime client's transport, the proxy and the
local AgentCore's data plane read a request's id and method to route it and to name it
in the errors they answer with."""

from __future__ import annotations

import json
from typing import Any


def id_and_method(body: bytes, *, max_bytes: int | None = None) -> tuple[Any, str | None]:
    """A JSON-RPC message's id and method, from one parse of the body; None for what it
    lacks, and (None, None) when the body is not a JSON object or is over `max_bytes` (a
    server answering an error need not parse 100 MB to find the id)."""
    if not body or (max_bytes is not None and len(body) > max_bytes):
        return None, None
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    method = doc.get("method")
    return doc.get("id"), method if isinstance(method, str) else None


def request_id(body: bytes, *, max_bytes: int | None = None) -> Any:
    """A JSON-RPC request's id (see `id_and_method`)."""
    return id_and_method(body, max_bytes=max_bytes)[0]
