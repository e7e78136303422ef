"""The running local AgentCore, seen from outside: what `agentcore-mcp local status`,
`local env` and `local logs` show, as library calls.

```python
from agentcore_mcp.local.running import local_env, local_status, read_log

status = local_status()                       # GET /_local/status with the admin token
print(status.url, [r.runtime_id for r in status.runtimes], len(status.sessions))
os.environ.update(local_env().variables)      # point boto3 at it, with its own keys
for line in read_log("mcp_server-AbCdEf1234"):  # one runtime's instance output
    print(line, end="")
```

Each takes the `home` the local AgentCore was started with (default:
`agentcore_mcp.local.home.default_home()`). Failures are `LocalAgentCoreError`s whose
message says what to do, with the CLI's exit code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode
from agentcore_mcp.local.credentials import read_local_credentials
from agentcore_mcp.local.home import default_home

__all__ = [
    "LocalAdminRefusedError",
    "LocalAgentCoreError",
    "LocalEnv",
    "LocalLogError",
    "LocalNotRunningError",
    "LocalRuntime",
    "LocalSession",
    "LocalStatus",
    "NotARuntimeIdError",
    "local_env",
    "local_log_path",
    "local_status",
    "read_log",
    "runtime_log_path",
]

# How often a followed log is read again when it has nothing new.
FOLLOW_POLL_SECONDS = 0.2


class LocalAgentCoreError(AgentCoreMcpError):
    """The local AgentCore cannot be asked; the message says what to do."""


class LocalNotRunningError(LocalAgentCoreError):
    """Nothing (or not the local AgentCore of this home) answers where it should."""

    exit_code = ExitCode.CONNECTION_ERROR


class LocalAdminRefusedError(LocalAgentCoreError):
    """The local AgentCore refused the admin token (another home's)."""

    exit_code = ExitCode.AUTH_ERROR


class LocalLogError(LocalAgentCoreError):
    """No log file (yet) where the log was asked for."""


class NotARuntimeIdError(LocalLogError):
    """A log asked for by something that is no runtime id."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class LocalRuntime:
    runtime_id: str
    arn: str
    status: str
    version: str
    failure_reason: str | None


@dataclass(frozen=True, slots=True)
class LocalSession:
    id: str
    runtime_id: str
    pid: int | None
    age_seconds: float
    idle_seconds: float
    inflight: int


@dataclass(frozen=True, slots=True)
class LocalStatus:
    """`/_local/status`: the local AgentCore, its runtimes and its live sessions.
    `document` is the answer as sent (what `local status --json` prints)."""

    url: str
    region: str
    pid: int
    uptime_seconds: float
    runtimes: tuple[LocalRuntime, ...]
    sessions: tuple[LocalSession, ...]
    document: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LocalStatus:
        return cls(
            url=str(doc["url"]),
            region=str(doc["region"]),
            pid=int(doc["pid"]),
            uptime_seconds=float(doc["uptime_seconds"]),
            runtimes=tuple(
                LocalRuntime(
                    runtime_id=str(r["agentRuntimeId"]),
                    arn=str(r.get("agentRuntimeArn", "")),
                    status=str(r["status"]),
                    version=str(r["agentRuntimeVersion"]),
                    failure_reason=r.get("failureReason"),
                )
                for r in doc["runtimes"]
            ),
            sessions=tuple(
                LocalSession(
                    id=str(s["id"]),
                    runtime_id=str(s["runtime_id"]),
                    pid=s.get("pid"),
                    age_seconds=float(s["age_seconds"]),
                    idle_seconds=float(s["idle_seconds"]),
                    inflight=int(s["inflight"]),
                )
                for s in doc["sessions"]
            ),
            document=doc,
        )


@dataclass(frozen=True, slots=True)
class LocalEnv:
    """The environment that points AWS SDKs at the running local AgentCore, with this
    start's own key (it works for every API on the port and dies with the process)."""

    variables: dict[str, str] = field(repr=False)
    #: What a shell must drop so that the SDKs use `variables` (`exports()` unsets them).
    unset: tuple[str, ...] = ("AWS_SESSION_TOKEN", "AWS_PROFILE")

    def exports(self) -> list[str]:
        """The shell lines: `export NAME=value` for each, then `unset ...`."""
        lines = [f"export {name}={value}" for name, value in self.variables.items()]
        return [*lines, f"unset {' '.join(self.unset)}"]


def _home(home: Path | None) -> Path:
    return home if home is not None else default_home()


def local_env(home: Path | None = None) -> LocalEnv:
    """The running local AgentCore's environment, from `home`'s credentials.json
    (readable only by its starter); LocalNotRunningError when it has none."""
    creds = read_local_credentials(_home(home))
    if creds is None:
        raise LocalNotRunningError(
            "no local AgentCore is running here (no credentials.json); "
            "start one with `agentcore-mcp local start -d`"
        )
    return LocalEnv(
        {
            "AWS_ENDPOINT_URL": creds.url,
            "AWS_REGION": creds.region,
            # boto3 and the AWS CLI read AWS_DEFAULT_REGION (AWS_REGION only in newer
            # releases): without it a shell with another default region signs for the
            # wrong one.
            "AWS_DEFAULT_REGION": creds.region,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        }
    )


def local_status(
    home: Path | None = None, *, url: str | None = None, timeout: float = 5.0
) -> LocalStatus:
    """Ask the local AgentCore of `home` (at `url`, else the pid file's) for its status.

    The admin token goes only to the process that proves it holds it: after a crash,
    anyone may listen on the recorded port (local/identity.py).
    """
    import httpx2

    from agentcore_mcp.local.identity import identity_problem
    from agentcore_mcp.local.process import url_from_pid_file
    from agentcore_mcp.local.service import LocalSettings

    settings = LocalSettings(home=_home(home))
    target = url or url_from_pid_file(settings)
    if target is None:
        raise LocalNotRunningError(
            "no local AgentCore is running (no pid file); "
            "start one with `agentcore-mcp local start -d`"
        )
    creds = read_local_credentials(settings.home)
    headers: dict[str, str] = {}
    if creds is not None:
        problem = identity_problem(creds, at=target)
        if problem is not None:
            raise LocalNotRunningError(_not_ours(target, settings.home, problem))
        headers = {"authorization": f"Bearer {creds.admin_token}"}
    try:
        response = httpx2.get(
            f"{target}/_local/status", headers=headers, timeout=timeout, trust_env=False
        )
    except httpx2.HTTPError as exc:
        raise LocalNotRunningError(f"cannot reach {target}: {exc}") from None
    if response.status_code == 401:
        raise LocalAdminRefusedError(
            f"{target} refused the admin token: pass the --home it was started with (its "
            "credentials.json holds the token)"
        )
    return LocalStatus.from_json(response.json())


def _not_ours(url: str, home: Path, problem: str) -> str:
    """One line: what listens at `url` did not prove it is the local AgentCore of `home`."""
    from agentcore_mcp.local.identity import answers_connections, listener_owner

    if not answers_connections(url):
        return (
            f"cannot reach {url}: nothing listens there (the local AgentCore of --home "
            f"{home} has stopped?); `agentcore-mcp local start -d` starts one"
        )
    owner = listener_owner(url)
    who = f"a process of {owner}" if owner else "another process"
    return (
        f"{who} listens on {url}, not the local AgentCore started with --home {home} "
        f"({problem}); its admin token was not sent. If yours died: stop that process, "
        "then `agentcore-mcp local stop` and `agentcore-mcp local start -d`"
    )


def runtime_log_path(home: Path, runtime_id: str) -> Path:
    """Where the local AgentCore at `home` writes `runtime_id`'s log (its instances'
    output, lines tagged by session); the file may not exist yet. NotARuntimeIdError
    (exit 2) unless `runtime_id` is a runtime id: it names a file under home/logs, and
    anything else (`..`, a slash) could read any *.log."""
    from agentcore_mcp.local.control.validation import RUNTIME_ID_RE

    if RUNTIME_ID_RE.fullmatch(runtime_id) is None:
        raise NotARuntimeIdError(
            f"{runtime_id!r} is not a runtime id (like mcp_server-AbCdEf1234); "
            "`agentcore-mcp local status` lists them"
        )
    return home / "logs" / f"{runtime_id}.log"


def local_log_path(runtime: str | None = None, home: Path | None = None) -> Path:
    """The log of `runtime` (`runtime_log_path`), or the local AgentCore's own log when
    None. LocalLogError when `runtime` is no runtime id (exit 2) or the log does not
    exist (exit 6)."""
    base = _home(home)
    path = runtime_log_path(base, runtime) if runtime is not None else base / "local.log"
    if not path.exists():
        raise LocalLogError(f"no log at {path}")
    return path


def read_log(
    runtime: str | None = None, home: Path | None = None, *, follow: bool = False
) -> Iterator[str]:
    """The lines of `local_log_path(runtime, home)`, each with its newline. With `follow`
    it then waits for new lines, as `tail -f` does, until the caller stops iterating.
    An empty string is yielded once the lines written so far are all out, so a printer
    can flush before it waits."""
    path = local_log_path(runtime, home)
    with path.open("r", errors="replace") as f:
        yield from f
        yield ""
        while follow:
            line = f.readline()
            if line:
                yield line
            else:
                time.sleep(FOLLOW_POLL_SECONDS)
