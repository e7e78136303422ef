"""`LocalAgentCore`: the rooms wired together, served on one loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from agentcore_mcp.asgi import send_json, serve_lifespan
from agentcore_mcp.auth import JwksCache, SigV4Secret
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.local.artifacts import (
    MAX_UNPACKED_BYTES,
    ArtifactStore,
    LocalArtifactPreparer,
)
from agentcore_mcp.local.aws import EmbeddedAws
from agentcore_mcp.local.cloudwatch import LogShipper
from agentcore_mcp.local.control.config import ResolvedRuntime, RuntimeVersionConfig
from agentcore_mcp.local.control.handlers import ControlPlaneApp
from agentcore_mcp.local.control.registry import RuntimeRegistry
from agentcore_mcp.local.control.roles import check_runtime_role
from agentcore_mcp.local.credentials import (
    WELL_KNOWN_KEY,
    LocalCredentials,
    new_local_credentials,
    remove_local_credentials,
    write_local_credentials,
)
from agentcore_mcp.local.data import DataPlane
from agentcore_mcp.local.gateway import Gateway
from agentcore_mcp.local.home import default_home
from agentcore_mcp.local.identity import IDENTITY_PATH, answer_identity
from agentcore_mcp.local.instances import Instance
from agentcore_mcp.local.launcher import InstanceLauncher
from agentcore_mcp.local.sessions import SessionPool
from agentcore_mcp.local.spares import WARM_SPARE_TAG, SpareInstances
from agentcore_mcp.local.throttle import DEFAULT_RATE
from agentcore_mcp.local.webidentity import WebIdentityCheck

logger = logging.getLogger("agentcore_mcp.local")

DEFAULT_PORT = 8700
# Longer than any common client's pool expiry (httpx 5 s, botocore/urllib3 none, Node 5 s),
# so the server never closes a connection a client is about to reuse: the server kit's value.
KEEP_ALIVE_SECONDS = 75
# How long the data plane keeps an idle connection to an instance. Shorter than the
# keep-alive of the servers instances run: uvicorn's and Node's default 5 s, the server
# kit's 75 s. A request sent on a connection just as the server closes it may never be
# answered (or be run and not answered); retiring the connection first avoids that race.
INSTANCE_IDLE_SECONDS = 4.0


class LocalSettingsError(AgentCoreMcpError, ValueError):
    """A setting of the local AgentCore (a tuning variable AGENTCORE_MCP_LOCAL_...) that
    cannot be used."""


def _env_number(name: str, default: float) -> float:
    """A tuning knob from the environment (tests shorten them); bad values are refused."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise LocalSettingsError(f"{name} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise LocalSettingsError(f"{name} must be positive, got {text!r}")
    return value


# How long a stop waits for open connections after the sessions are stopped.
GRACEFUL_SHUTDOWN_SECONDS = 10


class PortInUse(AgentCoreMcpError, OSError):
    """The local AgentCore's port is held by another process."""

    def __init__(self, port: int, holder: int | None, flag: str = "--port") -> None:
        self.port, self.holder, self.flag = port, holder, flag
        super().__init__(self.message(flag))

    def message(self, flag: str) -> str:
        """One line naming the holder when known, and `flag`: the option of the command
        the user ran (`local start --port`, `deploy --local-port`)."""
        who = f" (pid {self.holder})" if self.holder is not None else ""
        return f"port {self.port} is in use{who}: pass {flag} or stop it"


def bind_listener(host: str, port: int) -> socket.socket:
    """The local AgentCore's listening socket, bound before anything else starts (the
    embedded AWS, credentials.json), so a busy port fails fast and leaves nothing behind;
    `PortInUse` names the holder's pid when this user can see it (Linux)."""
    from agentcore_mcp.local.instances import listener_pid

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        # As uvicorn binds: a port left in TIME_WAIT by the previous run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port, listener_pid(host, port)) from None
        raise
    sock.set_inheritable(False)
    return sock


@dataclass(frozen=True, slots=True)
class LocalSettings:
    """How the local AgentCore runs. Durations are the service's unless scaled for tests."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = field(
        default_factory=lambda: (
            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
    )
    account_id: str = "123456789012"
    home: Path = field(default_factory=default_home)
    persist: bool = False  # keep the control-plane state in home/state across restarts
    # Active sessions at once across runtimes: a bound on this machine's memory (each
    # session is a process here), not the service's per-account quota (thousands).
    max_active_sessions: int = 16
    startup_timeout: float = 30.0
    # How long a session's start may wait for a --max-starting slot before it is answered
    # 424 as a slow start: 25 s in the queue + 30 s to get ready stays under the 60 s read
    # timeout of botocore and the MCP SDKs.
    start_queue_timeout: float = 25.0
    lifecycle_scale: float = 1.0  # multiplies idleRuntimeSessionTimeout / maxLifetime
    reap_interval: float = 1.0
    # Instances starting at once: each microVM has its own 2 vCPU, but here they share the
    # host's cores, so more at once only makes every one of them slower to get ready.
    max_starting: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    # Off by default: the well-known emulator pair test/test is accepted, as users of local
    # emulators expect. On, only this start's own key, the starter's and issued keys verify.
    strict_credentials: bool = False
    log_level: str = "info"
    # Invocations per second per endpoint, as the service's quota; 0 turns the limit off.
    rate_limit: float = DEFAULT_RATE
    # Multiplies the 15-minute synchronous and 60-minute streamed request limits (tests).
    request_limit_scale: float = 1.0
    # Idle keep-alive toward clients, and the idle expiry of connections to instances;
    # AGENTCORE_MCP_LOCAL_KEEP_ALIVE_SECONDS / _INSTANCE_IDLE_SECONDS (tests shorten them).
    keep_alive_seconds: float = field(
        default_factory=lambda: _env_number(
            "AGENTCORE_MCP_LOCAL_KEEP_ALIVE_SECONDS", KEEP_ALIVE_SECONDS
        )
    )
    instance_idle_seconds: float = field(
        default_factory=lambda: _env_number(
            "AGENTCORE_MCP_LOCAL_INSTANCE_IDLE_SECONDS", INSTANCE_IDLE_SECONDS
        )
    )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "local.pid"

    @property
    def instances_file(self) -> Path:
        """The live instances' pids, so `local stop` can kill what a stuck process left."""
        return self.home / "instances.json"


def local_credentials() -> tuple[str, SigV4Secret] | None:
    """The credentials of whoever started the local AgentCore: their requests verify."""
    import boto3
    import botocore.exceptions

    try:
        creds = boto3.Session().get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        # A broken AWS_PROFILE must not stop a local emulator: it just accepts fewer keys.
        logger.warning("not accepting your own AWS credentials: %s", exc)
        return None
    if creds is None:
        return None
    frozen = creds.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return None
    return frozen.access_key, SigV4Secret(
        secret_access_key=frozen.secret_key, session_token=frozen.token
    )


class LocalAgentCore:
    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        s = settings
        s.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.aws = EmbeddedAws(account_id=s.account_id)
        self.registry = RuntimeRegistry(
            region=s.region,
            account_id=s.account_id,
            persist_dir=s.home / "state" if s.persist else None,
        )
        self.sessions = SessionPool(
            max_active_sessions=s.max_active_sessions, reap_interval=s.reap_interval
        )
        self.artifacts = ArtifactStore(
            self.aws, s.home / "artifacts", s.region, max_unpacked_bytes=s.max_unpacked_bytes
        )
        self.log_shipper = LogShipper(lambda: self.aws.boto3_client("logs", s.region))
        self.launcher = InstanceLauncher(
            aws=self.aws,
            artifacts=self.artifacts,
            logs_dir=s.logs_dir,
            region=s.region,
            gateway_url=s.url,
            startup_timeout=s.startup_timeout,
            max_starting=s.max_starting,
            start_queue_timeout=s.start_queue_timeout,
            pids_file=s.instances_file,
            log_shipper=self.log_shipper,
        )
        self.spares = SpareInstances()
        self._own_key_id: str | None = None
        self._own_secret: SigV4Secret | None = None
        self.credentials: LocalCredentials = new_local_credentials(s.url, s.region, s.account_id)
        self.started_at = time.time()
        self._keep_alive_header = (
            b"keep-alive",
            b"timeout=%d" % int(s.keep_alive_seconds),
        )

    # --- wiring --------------------------------------------------------------------

    def lookup_secret(self, access_key_id: str) -> str | SigV4Secret | None:
        """Known keys: this start's own (credentials.json), the starter's, the keys the
        embedded IAM and STS issued, and test/test unless --strict-credentials."""
        if access_key_id == self.credentials.access_key_id:
            return self.credentials.secret_access_key
        if access_key_id == WELL_KNOWN_KEY and not self.settings.strict_credentials:
            return WELL_KNOWN_KEY
        if self._own_key_id is not None and access_key_id == self._own_key_id:
            return self._own_secret
        return self.aws.secret_for_access_key(access_key_id)

    async def _probe(self, runtime_id: str, version: str, config: RuntimeVersionConfig) -> Instance:
        return await self.launcher.start(
            runtime_id,
            version,
            config,
            f"probe-{version}-{runtime_id}",
            bounded_queue=False,
            primed=self._dev_runtime(runtime_id),
        )

    def _dev_runtime(self, runtime_id: str) -> bool:
        """Tagged for `dev`: warm spares and primed interpreters (spares.py, primed.py)."""
        try:
            return self.registry.get(runtime_id).tags.get(WARM_SPARE_TAG) == "true"
        except Exception:  # deleted meanwhile
            return False

    def _keep_probe(self, runtime_id: str, version: str, instance: Instance) -> bool:
        """A runtime tagged for `dev` keeps its new version's probe as a warm spare."""
        tagged = self._dev_runtime(runtime_id)
        if tagged:
            self.spares.put(runtime_id, version, instance)
        return tagged

    async def _start_for_session(self, runtime: ResolvedRuntime, session_id: str) -> Instance:
        # A version qualifier runs through no named endpoint: its logs are DEFAULT's.
        endpoint = "DEFAULT" if runtime.endpoint_name.isdigit() else runtime.endpoint_name
        spare = self.spares.take(runtime.runtime_id, runtime.version)
        if spare is not None:
            spare.on_output = self.launcher.log_shipper_sink(
                runtime.runtime_id, endpoint, session_id
            )
            return spare
        return await self.launcher.start(
            runtime.runtime_id,
            runtime.version,
            runtime.config,
            session_id,
            endpoint=endpoint,
            primed=self._dev_runtime(runtime.runtime_id),
        )

    async def _runtime_deleted(self, runtime_id: str) -> None:
        self.data.throttle.forget(runtime_id)
        self.spares.discard(runtime_id)
        await self.launcher.discard_primer(runtime_id)
        await self.sessions.stop_runtime(runtime_id)

    async def _role_check(self, role_arn: str) -> str | None:
        return await check_runtime_role(
            lambda: self.aws.boto3_client("iam", self.settings.region), role_arn
        )

    def build(self) -> Any:
        """Start the embedded AWS and return the ASGI app (with lifespan)."""
        self.aws.start()
        write_local_credentials(self.settings.home, self.credentials)
        own = local_credentials()
        if own is not None:
            self._own_key_id, self._own_secret = own
        self.control = control = ControlPlaneApp(
            self.registry,
            role_checker=self._role_check,
            preparer=LocalArtifactPreparer(self.artifacts, self._probe, self._keep_probe),
            on_runtime_deleted=self._runtime_deleted,
        )
        self.data = DataPlane(
            registry=self.registry,
            sessions=self.sessions,
            start_instance=self._start_for_session,
            region=self.settings.region,
            lookup_secret=self.lookup_secret,
            # An unknown kid re-fetches the JWKS at most every 5 s per URL: quick enough
            # for a rotation during local testing, slow enough that bogus kids can't flood.
            jwks=JwksCache(self.aws.make_fetcher(), min_refetch_interval=timedelta(seconds=5)),
            lifecycle_scale=self.settings.lifecycle_scale,
            unknown_key_hint=self.unknown_key_hint(),
            rate_limit=self.settings.rate_limit,
            request_limit_scale=self.settings.request_limit_scale,
            instance_idle_seconds=self.settings.instance_idle_seconds,
        )
        self.gateway = Gateway(
            control=control,
            data=self.data,
            admin=self._admin,
            moto_url=self.aws.url,
            region=self.settings.region,
            lookup_secret=self.lookup_secret,
            bind_host=self.settings.host,
            admin_token=self.credentials.admin_token,
            unknown_key_hint=self.unknown_key_hint(),
            web_identity=WebIdentityCheck(self.aws.make_fetcher()).refusal,
        )
        return self._app

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send, startup=self._start, shutdown=self._stop)
        elif scope["type"] == "http":
            await self.gateway(scope, receive, self._with_keep_alive_hint(send))

    def _start(self) -> None:
        self.launcher.start_watchdog()
        self.sessions.start_reaper()
        self.log_shipper.start()

    async def _stop(self) -> None:
        await self.stop_instances()  # a no-op when the server already did it
        await self.log_shipper.aclose()  # the instances' last lines included
        await self.data.aclose()
        await self.gateway.aclose()
        self.aws.stop()
        remove_local_credentials(self.settings.home, self.credentials)

    def _with_keep_alive_hint(self, send: Send) -> Send:
        """`send`, with every answer saying how long an idle connection is kept
        (`Keep-Alive: timeout=N`): clients that read it (Node's fetch, this project's
        proxy) stop reusing a connection before the server closes it, instead of sending
        a request into that close."""
        hint = self._keep_alive_header

        async def hinted(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), hint]}
            await send(message)

        return hinted

    async def stop_instances(self) -> None:
        """Cancel preparations and end every session, so that calls in flight end now.

        Runs when a stop begins, before uvicorn waits for open connections: a streaming
        call to an instance would otherwise hold the stop for as long as the call runs.
        """
        await self.control.aclose()  # cancel preparations still running
        await self.spares.close()
        await self.sessions.close()
        await self.launcher.aclose()
        await self.artifacts.settle()

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == IDENTITY_PATH:
            await answer_identity(scope, send, self.credentials.admin_token, self.settings.url)
            return
        if path == "/_local/health":
            doc: Any = {"status": "ok"}
        elif path == "/_local/status":
            doc = self.status()
        else:
            doc = {"message": f"unknown admin path {path}"}
        await send_json(send, 404 if "message" in doc else 200, doc)

    def accepted_key_ids(self) -> list[str]:
        """The access key ids this local AgentCore accepts besides those its IAM issues."""
        keys = [self.credentials.access_key_id]
        if self._own_key_id is not None:
            keys.append(self._own_key_id)
        if not self.settings.strict_credentials:
            keys.append(WELL_KNOWN_KEY)
        return keys

    def unknown_key_hint(self) -> str:
        return (
            f"this local AgentCore accepts {', '.join(self.accepted_key_ids())} and the keys "
            "its IAM and STS issued; get its own with "
            f'`eval "$(agentcore-mcp local env --home {self.settings.home})"`'
            + ("" if self.settings.strict_credentials else ", or use test/test")
        )

    def status(self) -> dict[str, Any]:
        return {
            "url": self.settings.url,
            "region": self.settings.region,
            "account_id": self.settings.account_id,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "home": str(self.settings.home),
            "max_active_sessions": self.settings.max_active_sessions,
            "runtimes": [
                {
                    "agentRuntimeId": r.runtime_id,
                    "agentRuntimeArn": r.arn,
                    "status": r.status,
                    "agentRuntimeVersion": r.latest_version,
                    "failureReason": r.failure_reason,
                }
                for r in self.registry.runtimes()
            ],
            "sessions": [dataclasses.asdict(s) for s in self.sessions.info()],
            "warm_spares": self.spares.versions(),
            "primed_interpreters": self.launcher.primers(),
        }


def configure_logging(level: str) -> None:
    """One line per event at INFO; the embedded AWS's per-request lines (werkzeug, httpx2)
    only at DEBUG, where they help and do not drown everything else."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if level.lower() != "debug":
        for noisy in ("werkzeug", "httpx2", "httpcore2", "botocore", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def run_foreground(settings: LocalSettings) -> None:
    """Serve until SIGINT/SIGTERM; one startup line on stderr once it is listening.

    Raises `HttpLimitsError` (a bad AGENTCORE_MCP_LOCAL_ limit) or `PortInUse` (the port
    is taken) before anything starts.
    """
    from agentcore_mcp.http_limits import limited_http_protocol_from_env

    # A bounded request head (431) and read timeouts (408): uvicorn has neither.
    http_protocol = limited_http_protocol_from_env("AGENTCORE_MCP_LOCAL_")
    listener = bind_listener(settings.host, settings.port)
    try:
        _serve(settings, listener, http_protocol)
    finally:
        listener.close()
        _forget_own_pid_file(settings)


def _forget_own_pid_file(settings: LocalSettings) -> None:
    """Remove the pid file `local start -d` wrote for this process, however it ends (a
    failed start included): a file naming a dead process is what `local status` and the
    next `local start -d` would otherwise trip on."""
    try:
        recorded = settings.pid_file.read_text().split()[0]
    except (OSError, IndexError):
        return
    if recorded == str(os.getpid()):
        settings.pid_file.unlink(missing_ok=True)


def _serve(
    settings: LocalSettings, listener: socket.socket, http_protocol: type[asyncio.Protocol]
) -> None:
    import signal

    import uvicorn

    service = LocalAgentCore(settings)
    asgi_app = service.build()
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        asgi_app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        interface="asgi3",
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=http_protocol,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                return  # the lifespan startup failed: uvicorn said why
            # Only now: a user (or script) that reads this line may connect at once.
            print(
                f"agentcore-mcp local: AgentCore on {settings.url} (region "
                f"{settings.region}); export AWS_ENDPOINT_URL={settings.url}; accepts access "
                f"keys {', '.join(service.accepted_key_ids())} and those its IAM issues "
                f'(`eval "$(agentcore-mcp local env)"` for its own)',
                file=sys.stderr,
                flush=True,
            )

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            # End the sessions first: a streaming call would otherwise hold the drain
            # for as long as it runs (bounded anyway by timeout_graceful_shutdown).
            try:
                await service.stop_instances()
            except Exception:  # shut down regardless; the lifespan shutdown tries again
                logger.exception("stopping the instances failed")
            await super().shutdown(sockets)

    server = Server(config)

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    # uvloop, as the server kit and the proxy run: its transports and loop cut the
    # gateway's per-call cost (bench/README.md, run_gateway.py).
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; without it, plain asyncio
        asyncio.run(server.serve(sockets=[listener]))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(sockets=[listener]))
