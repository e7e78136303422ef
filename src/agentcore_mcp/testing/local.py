"""A local AgentCore for a test session: a child process on a free loopback port, with a
fresh home, stopped (with every instance it started) when the session ends.

It runs as `agentcore-mcp local start` in the foreground, as this project's own tests
start it, with `--strict-credentials`: only its own per-start key (from its home's
`credentials.json`) is accepted, never the user's AWS credentials or `test`/`test`.
Nothing of the user's is read: the home is the one given, the user's `AWS_*` settings
are removed from the child's environment, and boto3 sessions made here read no
`~/.aws` files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

    from agentcore_mcp.local.credentials import LocalCredentials

# How long a start may take (moto's import dominates: seconds on a busy machine).
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
# Ports are picked free, then bound by the child: another process may take one between
# the two. A start that loses that race is retried on another port, this many times.
START_ATTEMPTS = 3

# The user's AWS settings, never passed to the local AgentCore: it needs none, and a
# profile named in AWS_PROFILE that does not exist would stop its embedded moto.
_USER_AWS_PREFIXES = ("AWS_",)


class LocalAgentCoreError(Exception):
    """The local AgentCore did not start (the message quotes its log's last lines)."""


@dataclass(slots=True)
class LocalAgentCore:
    """A running local AgentCore: where it listens and how boto3 reaches it."""

    url: str
    port: int
    home: Path
    credentials: LocalCredentials = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path
    _session: Any = field(default=None, repr=False)

    @property
    def region(self) -> str:
        return self.credentials.region

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def endpoint_url(self) -> str:
        return self.url

    @property
    def boto3_settings(self) -> dict[str, str]:
        """`boto3.client(service, **local.boto3_settings)`: endpoint_url, region_name and
        this start's own access key (valid until it stops)."""
        return self.credentials.boto3_kwargs()

    def session(self) -> boto3.Session:
        """A boto3 Session for this local AgentCore: its endpoint, region and key, retries
        as the deployer's, and no profile or `~/.aws` file of the user's."""
        if self._session is None:
            from agentcore_mcp.deploy.config import DeployConfig
            from agentcore_mcp.deploy.target import open_target

            target = open_target(DeployConfig(local_home=self.home), start_local=False)
            self._session = target.session
        session: boto3.Session = self._session
        return session

    def client(self, service: str) -> Any:
        """A boto3 client of `service` on this local AgentCore."""
        client: Any = self.session().client(service)  # type: ignore[call-overload]
        return client

    def status(self) -> dict[str, Any]:
        """`/_local/status`: runtimes and live sessions (the admin token from its home)."""
        import httpx2

        response = httpx2.get(
            f"{self.url}/_local/status",
            headers={"authorization": f"Bearer {self.credentials.admin_token}"},
            timeout=10,
            trust_env=False,
        )
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None


def free_port() -> int:
    """A loopback port free now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_USER_AWS_PREFIXES)}
    # Nor the user's ~/.aws files: the embedded moto's boto3 would read them (a broken
    # config there made every AWS request a 500).
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _dies_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has Linux SIGTERM the local AgentCore when the test process dies
    (a killed pytest runs no teardown): it then stops its instances and exits as on
    `local stop`. Linux only; elsewhere a killed pytest leaves it running."""
    from agentcore_mcp.local.instances import parent_death_signal

    return parent_death_signal(signal.SIGTERM)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(
    proc: subprocess.Popen[bytes], home: Path, url: str, port: int, timeout: float
) -> LocalCredentials | None:
    """Its credentials once it answers and the listener on the port is this child; None
    when the child exited first (the caller reads why from the log)."""
    from agentcore_mcp.local.credentials import read_local_credentials
    from agentcore_mcp.local.instances import listener_pid
    from agentcore_mcp.local.process import healthy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        creds = read_local_credentials(home)
        if (
            creds is not None
            and creds.url == url
            and healthy(url)
            and listener_pid("127.0.0.1", port) in (None, proc.pid)
        ):
            return creds
        time.sleep(0.1)
    raise LocalAgentCoreError(f"the local AgentCore did not answer on {url} in {timeout:g} s")


def start_local_agentcore(
    home: Path,
    *,
    port: int | None = None,
    region: str = "us-east-1",
    extra_args: tuple[str, ...] = (),
    timeout: float = START_TIMEOUT_SECONDS,
) -> LocalAgentCore:
    """Start a local AgentCore with `home` (created 0700; it must not be another running
    one's) on `port` (default: a free one, retried on another if taken meanwhile)."""
    from agentcore_mcp.local.process import foreground_argv

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    attempts = 1 if port is not None else START_ATTEMPTS
    for attempt in range(attempts):
        chosen = port if port is not None else free_port()
        url = f"http://127.0.0.1:{chosen}"
        argv = foreground_argv(
            [
                "--port",
                str(chosen),
                "--home",
                str(home),
                "--region",
                region,
                "--strict-credentials",
                *extra_args,
            ]
        )
        log_path = home / f"local-{chosen}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=_child_env(),
                cwd=home,
                # prctl only, between fork and exec (as local.instances does for instances)
                preexec_fn=_dies_with_parent(),
            )
        try:
            creds = _wait_ready(proc, home, url, chosen, timeout)
        except BaseException:
            _terminate(proc, home)
            raise
        if creds is not None:
            return LocalAgentCore(
                url=url,
                port=chosen,
                home=home,
                credentials=creds,
                process=proc,
                log_path=log_path,
            )
        taken = f"port {chosen} is in use" in _tail(log_path)  # service.PortInUse's line
        if not taken or attempt == attempts - 1:
            raise LocalAgentCoreError(
                f"the local AgentCore exited with {proc.returncode} while starting on {url}; "
                f"its log ({log_path}) ends:\n{_tail(log_path)}"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _terminate(proc: subprocess.Popen[bytes], home: Path) -> None:
    """SIGTERM (it ends its sessions and stops its instances), SIGKILL after a bound; then
    any instance it recorded and left is killed (its process group)."""
    from agentcore_mcp.local.instances import kill_recorded_instances
    from agentcore_mcp.local.service import LocalSettings

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    kill_recorded_instances(LocalSettings(home=home).instances_file)


def stop_local_agentcore(local: LocalAgentCore) -> None:
    """Stop it and every instance it started; idempotent."""
    _terminate(local.process, local.home)


@contextlib.contextmanager
def running_local_agentcore(home: Path, **kwargs: Any) -> Iterator[LocalAgentCore]:
    """`start_local_agentcore` for a `with` block: stopped on the way out, whatever happens."""
    local = start_local_agentcore(home, **kwargs)
    try:
        yield local
    finally:
        stop_local_agentcore(local)
