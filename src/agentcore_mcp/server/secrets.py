"""`NAME_SECRET_ID` -> `NAME`: secrets resolved from Secrets Manager when the server starts.

The deployer gives a runtime `NAME_SECRET_ID` (the secret's name or ARN) instead of a
value, so no value sits in plain text in the runtime's configuration. Before the kit
loads the server and listens, every non-empty `NAME_SECRET_ID` in the environment is read
with GetSecretValue, in process, with the default credential chain (on AgentCore: the
execution role), and the value is put in `NAME`. The server then reads `NAME` as usual.

Rules:
- A secret holds the value itself, or a JSON object whose `NAME` field is a string.
- `NAME` already set (non-empty) wins: the secret is not read. An explicit value in the
  environment is the developer's override, as with web_search's OPENAI_API_KEY before.
- Any failure (extra missing, no region, no access, no such secret, empty value) is a
  `SecretResolutionError`, a `SettingsError`: one line and exit 6 before listening,
  since a server without its key is not healthy.
- botocore is imported only when such a variable exists (the `[secrets]` extra).
- A value is never logged; botocore's debug logging, which prints response bodies, is
  capped at INFO.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from agentcore_mcp.extras import MissingExtraError, require
from agentcore_mcp.server.settings import SettingsError

logger = logging.getLogger("agentcore_mcp.server")

SUFFIX = "_SECRET_ID"
_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)_SECRET_ID$")
# Secrets Manager answers in milliseconds; botocore's 60 s defaults would let one stuck
# connection hold the start (or a tool call re-reading a rotated secret) for minutes.
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 2
# arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME: the region a secret lives in.
_ARN_REGION = re.compile(r"^arn:[^:]+:secretsmanager:([a-z0-9-]+):")

# NAME -> the secret id it was filled from, for code that re-reads a rotated secret.
_filled: dict[str, str] = {}
_filled_lock = threading.Lock()


class SecretResolutionError(SettingsError):
    """A NAME_SECRET_ID could not be turned into NAME; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ResolvedSecret:
    """One NAME_SECRET_ID handled at start; never holds the value."""

    name: str
    secret_id: str
    read: bool  # False: NAME was already set and won, the secret was not read


def secret_variables(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """NAME -> secret id for every non-empty NAME_SECRET_ID, in name order."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for variable, value in sorted(env.items()):
        match = _VARIABLE.match(variable)
        if match and value.strip():
            found[match.group(1)] = value.strip()
    return found


def filled_from(name: str) -> str | None:
    """The secret id `resolve_secret_environment` filled NAME from in this process, if any."""
    with _filled_lock:
        return _filled.get(name)


def resolve_secret_environment(
    environ: MutableMapping[str, str] | None = None,
) -> list[ResolvedSecret]:
    """Fill NAME from Secrets Manager for every NAME_SECRET_ID; raises SecretResolutionError.

    Idempotent: a NAME this process already filled is left as it is.
    """
    env = os.environ if environ is None else environ
    wanted = secret_variables(env)
    done: list[ResolvedSecret] = []
    for name, secret_id in wanted.items():
        if filled_from(name) == secret_id and env.get(name):
            continue
        if env.get(name, "").strip():
            logger.info("%s is set in the environment; %s%s not read", name, name, SUFFIX)
            done.append(ResolvedSecret(name, secret_id, read=False))
            continue
        value = read_secret(secret_id, name, environ=env)
        env[name] = value
        with _filled_lock:
            _filled[name] = secret_id
        logger.info("%s read from Secrets Manager (%s%s)", name, name, SUFFIX)
        done.append(ResolvedSecret(name, secret_id, read=True))
    return done


def read_secret(
    secret_id: str, name: str, *, environ: MutableMapping[str, str] | None = None
) -> str:
    """NAME's value from the secret: its string, or its JSON object's NAME field.

    Blocking network I/O: call it from a worker thread when a server is running.
    """
    where = f"{name}{SUFFIX}={secret_id!r}"
    try:
        require("secrets", "botocore", purpose=f"{where} (Secrets Manager)")
    except MissingExtraError as exc:
        raise SecretResolutionError(str(exc)) from exc
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.session import Session

    _quiet_botocore_bodies()
    env = os.environ if environ is None else environ
    region = _region(secret_id, env)
    if region is None:
        raise SecretResolutionError(
            f"{where}: no AWS region; set AWS_REGION (AgentCore sets it) or use the secret's ARN."
        )
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    )
    try:
        # A session of its own: botocore sessions are not thread-safe, and web_search
        # re-reads a rotated secret from worker threads.
        client: Any = Session().create_client("secretsmanager", region_name=region, config=config)
        answer = client.get_secret_value(SecretId=secret_id)
    except (BotoCoreError, ClientError) as exc:
        raise SecretResolutionError(
            f"Cannot read secret {secret_id!r} ({name}{SUFFIX}) from Secrets Manager: {exc}. "
            "Check the secret exists in that region and the role may call "
            "secretsmanager:GetSecretValue on it."
        ) from exc
    raw = answer.get("SecretString")
    if not isinstance(raw, str):
        raise SecretResolutionError(
            f"Secret {secret_id!r} ({name}{SUFFIX}) holds binary data; store {name} as text."
        )
    value = _value_of(raw, name)
    if not value:
        raise SecretResolutionError(
            f"Secret {secret_id!r} ({name}{SUFFIX}) holds no value for {name}; store the "
            f'value itself or {{"{name}": "..."}} in it.'
        )
    return value


def _value_of(raw: str, name: str) -> str:
    text = raw.strip()
    if not text.startswith("{"):
        return text
    try:
        loaded = json.loads(text)
    except ValueError:
        return text  # not JSON after all: the value itself
    # Only a string counts: null or a number must not become the value "None" or "42".
    found = loaded.get(name) if isinstance(loaded, dict) else None
    return found.strip() if isinstance(found, str) else ""


def _region(secret_id: str, env: MutableMapping[str, str]) -> str | None:
    match = _ARN_REGION.match(secret_id)
    if match:
        return match.group(1)
    # botocore reads AWS_DEFAULT_REGION but not AWS_REGION, which is what AgentCore sets.
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def _quiet_botocore_bodies() -> None:
    # At DEBUG, botocore logs every response body, GetSecretValue's value included; the
    # server's LOG_LEVEL=debug must not put a secret in the logs.
    for logger_name in ("botocore", "urllib3"):
        wire = logging.getLogger(logger_name)
        if wire.getEffectiveLevel() < logging.INFO:
            wire.setLevel(logging.INFO)
