"""JSON-RPC pieces every layer needs: the runtime client's transport, the proxy and the
local AgentCore's data plane name the request in the errors they answer with."""

from __future__ import annotations

import json
from typing import Any


def request_id(body: bytes, *, max_bytes: int | None = None) -> Any:
    """The JSON-RPC id of a request body; None when it has none, is not JSON, or is over
    `max_bytes` (a server answering an error need not parse 100 MB to find the id)."""
    if not body or (max_bytes is not None and len(body) > max_bytes):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc.get("id") if isinstance(doc, dict) else None
