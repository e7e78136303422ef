"""`logs` as a library call: CloudWatch Logs on AWS, the instance log on the local target."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.errors import DeployError, error_code, explain_client_error
from agentcore_mcp.deploy.status import target_and_record
from agentcore_mcp.deploy.target import Target
from agentcore_mcp.local.running import runtime_log_path


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: float  # epoch seconds; 0 when the source has none
    message: str


def parse_since(value: str | None) -> float | None:
    """`10m`, `2h`, `30s`, `1d` -> seconds."""
    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(value[:-1]) * units[value[-1]] if value[-1] in units else float(value)
    except (ValueError, IndexError):
        raise DeployError(f"--since {value!r}: use a number and s/m/h/d, e.g. 10m") from None


def log_lines(
    config: DeployConfig,
    state_path: Path | None = None,
    *,
    since: float | None = None,
    follow: bool = False,
    poll: float = 1.0,
    max_polls: int | None = None,
) -> Iterator[LogLine]:
    """The runtime's log: CloudWatch Logs on AWS, the instance log on the local target.
    One loop for both: fetch what is new since the last fetch, then (with follow) wait."""
    target, record = target_and_record(config, state_path)
    if record.runtime is None:
        raise DeployError("no runtime recorded: run `agentcore-mcp deploy` first")
    start = time.time() - since if since else 0.0
    fetch = (
        _local_fetcher(target, record.runtime.id)
        if target.kind == "local"
        else _cloudwatch_fetcher(target, record.runtime.id)
    )
    polls = 0
    while True:
        for line in fetch():
            if not line.timestamp or line.timestamp >= start:
                yield line
        polls += 1
        if not follow or (max_polls is not None and polls >= max_polls):
            return
        time.sleep(poll)


def _local_fetcher(target: Target, runtime_id: str) -> Callable[[], list[LogLine]]:
    assert target.local_home is not None
    path = runtime_log_path(target.local_home, runtime_id)
    offset = 0

    def fetch() -> list[LogLine]:
        nonlocal offset
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        # Only whole lines; a partial last line waits for the next fetch.
        end = data.rfind(b"\n") + 1
        offset += end
        mtime = path.stat().st_mtime
        return [LogLine(mtime, ln) for ln in data[:end].decode(errors="replace").splitlines()]

    return fetch


def _cloudwatch_fetcher(target: Target, runtime_id: str) -> Callable[[], list[LogLine]]:
    logs = target.client("logs")
    group = f"/aws/bedrock-agentcore/runtimes/{runtime_id}-DEFAULT"
    last = 0
    seen: set[str] = set()

    def fetch() -> list[LogLine]:
        nonlocal last
        out: list[LogLine] = []
        # botocore's paginator, read while the pages come (at most 50 per poll).
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=last)
        try:
            for page in itertools.islice(pages, 50):
                for event in page.get("events", []):
                    if event["eventId"] in seen:
                        continue
                    seen.add(event["eventId"])
                    last = max(last, int(event["timestamp"]))
                    out.append(LogLine(event["timestamp"] / 1000, event["message"].rstrip("\n")))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # no log group until the first session writes
            raise explain_client_error(exc, f"reading {group}") from None
        return out

    return fetch
