"""Proof that the process on a local AgentCore's port is the one its credentials came from.

When a local AgentCore dies without a clean stop, its `credentials.json` stays behind and
its port is free: any local user can listen there. A client that trusted whatever accepts
connections on the recorded port would send that listener its requests, secret values
included. So before sending anything, a client sends a random nonce to
`GET /_local/identity?nonce=N`, and only the process that holds this start's admin token
(the 0600 credentials file's, never sent on the wire) can answer
HMAC-SHA256(admin_token, "agentcore-mcp-local-identity" / url / nonce). The route needs no
token and reveals nothing: the answer is useless for any other nonce or URL.
"""

from __future__ import annotations

import hashlib
import hmac
import pwd
import re
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
from starlette.types import Scope, Send

from agentcore_mcp.asgi import send_json
from agentcore_mcp.local.credentials import LocalCredentials

IDENTITY_PATH = "/_local/identity"
_NONCE_RE = re.compile(r"[0-9a-f]{32,128}")


def identity_proof(admin_token: str, url: str, nonce: str) -> str:
    message = f"agentcore-mcp-local-identity\n{url}\n{nonce}".encode()
    return hmac.new(admin_token.encode(), message, hashlib.sha256).hexdigest()


async def answer_identity(scope: Scope, send: Send, admin_token: str, url: str) -> None:
    """The route's handler: {"proof": ...} for a hex nonce, 400 without one."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    nonce = (query.get("nonce") or [""])[0]
    if not _NONCE_RE.fullmatch(nonce):
        await send_json(
            send, 400, {"message": "nonce: 32 to 128 lower-case hex characters expected"}
        )
        return
    await send_json(send, 200, {"proof": identity_proof(admin_token, url, nonce)})


def identity_problem(
    creds: LocalCredentials, timeout: float = 5.0, *, at: str | None = None
) -> str | None:
    """None when the process at `creds.url` (or at `at`, another address of it, as
    `local status --url` gives) proves it holds `creds`; else what answered instead, in
    a few words. Only a nonce is sent, never a secret. Every client that sends this
    start's admin token or keys checks this first."""
    nonce = secrets.token_hex(32)
    try:
        response = httpx2.get(
            f"{(at or creds.url).rstrip('/')}{IDENTITY_PATH}",
            params={"nonce": nonce},
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
        )
    except httpx2.HTTPError as exc:
        return f"it did not answer an HTTP request ({type(exc).__name__})"
    if response.status_code != 200:
        return f"it answered HTTP {response.status_code} to the identity check"
    try:
        proof = response.json().get("proof")
    except (ValueError, AttributeError):
        proof = None
    if not isinstance(proof, str):
        return "it answered the identity check without a proof"
    expected = identity_proof(creds.admin_token, creds.url, nonce)
    if not hmac.compare_digest(proof.encode(), expected.encode()):
        return "its proof does not match this start's credentials"
    return None


def answers_connections(url: str, timeout: float = 2.0) -> bool:
    """Whether anything accepts a TCP connection at `url`'s host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout):
            return True
    except (OSError, ValueError):
        return False


def listener_owner(url: str) -> str | None:
    """Who listens on `url`'s IPv4 loopback port, as "uid N (name)", from /proc/net/tcp
    (which shows every socket's owner to every user); None when it cannot tell."""
    parts = urlsplit(url)
    try:
        packed = socket.inet_aton(parts.hostname or "")
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except (OSError, ValueError):
        return None
    # The kernel prints the address as a host-order u32 and the port as 4 hex digits.
    wanted = f"{int.from_bytes(packed, sys.byteorder):08X}:{parts.port or 80:04X}"
    for fields in map(str.split, lines):
        if len(fields) > 7 and fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            uid = int(fields[7])
            try:
                return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
            except KeyError:
                return f"uid {uid}"
    return None
