"""Turn a runtime version and a session into a started `Instance`.

The instance sees what an AgentCore microVM sees: PORT (the runtime's
protocolConfiguration port, 8000 by default), the runtime's environment variables,
AWS credentials of its execution role (from the embedded STS), and AWS_ENDPOINT_URL
pointing back at the local AgentCore, so its own boto3 calls reach the embedded AWS.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcore_mcp.local.cloudwatch import log_group_name, log_stream_name
from agentcore_mcp.local.control.config import CodeArtifact, ContainerArtifact, RuntimeVersionConfig
from agentcore_mcp.local.instances import (
    Instance,
    InstancePids,
    InstanceSpec,
    LoopbackAddresses,
    StartQueueTimeout,
    code_argv,
    container_engine,
    kill_recorded_instances,
    parent_death_signal,
)
from agentcore_mcp.local.primed import Primer, start_primer
from agentcore_mcp.local.watchdog import Watchdog

if TYPE_CHECKING:
    from agentcore_mcp.local.artifacts import ArtifactStore
    from agentcore_mcp.local.aws import EmbeddedAws
    from agentcore_mcp.local.cloudwatch import LogShipper

# Variables an instance inherits from the local AgentCore's own environment.
INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR", "HOME", "VIRTUAL_ENV")
# "1": code-zip instances also see this process's `sys.path` after their zip. For zips
# made by hand that carry only their own code (this project's tests of the local
# AgentCore); never for checking a deploy: a microVM has no such path.
HOST_PATH_ENV = "AGENTCORE_MCP_LOCAL_INSTANCE_HOST_PATH"
# A dev runtime's next primer starts this long after an instance started (primed.py);
# a start that finds one still priming waits for it up to PRIMING_WAIT_SECONDS.
PRIME_DELAY_SECONDS = 0.25
PRIMING_WAIT_SECONDS = 3.0


class InstanceLauncher:
    def __init__(
        self,
        *,
        aws: EmbeddedAws,
        artifacts: ArtifactStore,
        logs_dir: Path,
        region: str,
        gateway_url: str,
        startup_timeout: float,
        max_starting: int = 2,
        start_queue_timeout: float = 25.0,
        pids_file: Path | None = None,
        log_shipper: LogShipper | None = None,
    ) -> None:
        self.aws = aws
        self.artifacts = artifacts
        self.logs_dir = logs_dir
        self.region = region
        self.gateway_url = gateway_url
        self.startup_timeout = startup_timeout
        self.addresses = LoopbackAddresses()
        # Instances start max_starting at a time. The readiness limit counts from the
        # spawn, not from the queue: AgentCore gives every microVM its own 2 vCPU, so a
        # start here must not fail (424) just because fifty others share two cores.
        self._max_starting = max(1, max_starting)
        self._starting = asyncio.Semaphore(self._max_starting)
        # ...but the queue itself is bounded: a wait past this is answered as a slow start
        # (424), so that queue + readiness (25 + 30 s) stays under the 60 s read timeout
        # of common clients (botocore, the MCP SDKs) instead of outlasting it silently.
        self.start_queue_timeout = start_queue_timeout
        self.pids = InstancePids(pids_file) if pids_file is not None else None
        self._watchdog: Watchdog | None = None
        self.log_shipper = log_shipper
        self._sts: Any = None  # one client: making a boto3 client costs ~0.1 s a start
        # `dev` runtimes' primed interpreters (primed.py), one per runtime at most
        self._primers: dict[str, Primer] = {}
        self._priming: dict[str, asyncio.Task[None]] = {}

    def log_path(self, runtime_id: str) -> Path:
        return self.logs_dir / f"{runtime_id}.log"

    async def start(
        self,
        runtime_id: str,
        version: str,
        config: RuntimeVersionConfig,
        session_id: str,
        *,
        endpoint: str | None = None,
        bounded_queue: bool = True,
        primed: bool = False,
    ) -> Instance:
        """Start an instance; with `endpoint` (a session's, not a probe's) its output also
        goes to the runtime's CloudWatch log group, in the session's stream.

        `bounded_queue=False` (a version's readiness probe, which no caller waits on) waits
        in the start queue as long as it takes: a busy host must not fail a runtime.

        `primed` (a `dev` runtime's, local only): the runtime's primed interpreter runs
        it when it fits the version's files (`primed.py`), and a new primer is started
        afterwards for the next one."""
        try:
            async with asyncio.timeout(self.start_queue_timeout if bounded_queue else None):
                await self._starting.acquire()
        except TimeoutError:
            raise StartQueueTimeout(
                f"waited {self.start_queue_timeout:g} s for one of the "
                f"{self._max_starting} instance starts at once (--max-starting) to finish; "
                "raise --start-queue-timeout or --max-starting, or start fewer sessions at once"
            ) from None
        try:
            port = config.protocol.port
            host = self.addresses.take(port)
            instance: Instance | None = None
            primer: Primer | None = None
            try:
                spec = await self._spec(runtime_id, version, config, session_id, host, port)
                instance = Instance(spec, on_spawn=self._spawned)
                if endpoint is not None and self.log_shipper is not None:
                    instance.on_output = self.log_shipper.sink(
                        log_group_name(runtime_id, endpoint), log_stream_name(session_id)
                    )
                primer = await self._primer_for(runtime_id, spec) if primed else None
                if not primed and runtime_id in self._primers:
                    # the runtime is no longer tagged for dev (dev stopped): let it go
                    self._stop_primer(self._primers.pop(runtime_id))
                if primer is not None:
                    argv = spec.argv[4:]
                    await instance.adopt(
                        primer.process, lambda: primer.go(spec.cwd, argv, spec.cwd, spec.env)
                    )
                else:
                    await instance.start()
            except BaseException as exc:
                self.addresses.give_back(host)
                if instance is not None and instance.pid is not None and self.pids is not None:
                    self.pids.discard(instance.pid)
                # cancelled: the runtime is being deleted or the local AgentCore stops
                cancelled = isinstance(exc, asyncio.CancelledError)
                if (
                    primed
                    and not cancelled
                    and instance is not None
                    and _is_primable(instance.spec)
                ):
                    # not this version's tree: a version that failed to start goes
                    self._prime_later(runtime_id, primer.tree if primer is not None else None)
                raise
        finally:
            self._starting.release()
        if primed and _is_primable(instance.spec):
            self._prime_later(runtime_id, instance.spec.cwd)
        assert instance is not None
        asyncio.get_running_loop().create_task(self._release_when_exited(instance))
        return instance

    # --- primed interpreters (dev runtimes only) -------------------------------------

    async def _primer_for(self, runtime_id: str, spec: InstanceSpec) -> Primer | None:
        """The runtime's primer, taken, when it can run `spec` faithfully; an unfit one
        (the dependencies changed) is stopped: a new one starts from this version. One
        still priming is waited for (bounded): it is further along than a cold start."""
        priming = self._priming.get(runtime_id)
        if priming is not None and runtime_id not in self._primers:
            await asyncio.wait({priming}, timeout=PRIMING_WAIT_SECONDS)
        primer = self._primers.pop(runtime_id, None)
        if primer is None:
            return None
        if primer.alive and _is_primable(spec) and primer.fits(spec.cwd):
            return primer
        self._stop_primer(primer)
        return None

    def _prime_later(self, runtime_id: str, tree: Path | None) -> None:
        """Start the runtime's next primer in `tree` (None: the newest unpacked version
        still there), unless one is ready or starting."""
        if runtime_id in self._primers or runtime_id in self._priming:
            return

        async def prime() -> None:
            # not at once: this instance's first requests (a client re-initializing
            # after dev's save) come now, and priming takes a core for a while
            await asyncio.sleep(PRIME_DELAY_SECONDS)
            where = tree
            if where is None or not (where / ".unpacked").exists():
                where = self.artifacts.newest_unpacked(runtime_id)
            if where is None:
                return
            env = {k: os.environ[k] for k in INHERITED if k in os.environ}
            env.pop("VIRTUAL_ENV", None)
            env.update(
                {"PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
            )
            primer = await start_primer(where, env, parent_death_signal(), self._spawned)
            if primer is not None:
                self._primers[runtime_id] = primer
                asyncio.get_running_loop().create_task(self._forget_when_exited(primer))

        task = asyncio.get_running_loop().create_task(prime())
        self._priming[runtime_id] = task
        task.add_done_callback(lambda _t: self._priming.pop(runtime_id, None))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _forget_when_exited(self, primer: Primer) -> None:
        await primer.process.wait()
        if self.pids is not None:
            self.pids.discard(primer.process.pid)

    def _stop_primer(self, primer: Primer) -> None:
        task = asyncio.get_running_loop().create_task(primer.stop())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def primers(self) -> dict[str, dict[str, Any]]:
        """runtime id -> its waiting primer's pid and the version it primed in (`local
        status`)."""
        return {
            rid: {"pid": p.process.pid, "version": p.tree.name}
            for rid, p in self._primers.items()
            if p.alive
        }

    async def discard_primer(self, runtime_id: str) -> None:
        """The runtime was deleted, or is no longer tagged for dev."""
        task = self._priming.pop(runtime_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        primer = self._primers.pop(runtime_id, None)
        if primer is not None:
            await primer.stop()

    def log_shipper_sink(
        self, runtime_id: str, endpoint: str, session_id: str
    ) -> Callable[[bytes], None] | None:
        """Where a session's instance output goes in CloudWatch Logs (None: nowhere)."""
        if self.log_shipper is None:
            return None
        return self.log_shipper.sink(
            log_group_name(runtime_id, endpoint), log_stream_name(session_id)
        )

    def _spawned(self, pid: int) -> None:
        if self.pids is not None:
            self.pids.add(pid)

    async def _release_when_exited(self, instance: Instance) -> None:
        await instance.exited.wait()
        self.addresses.give_back(instance.spec.host)
        if self.pids is not None and instance.pid is not None:
            self.pids.discard(instance.pid)

    def start_watchdog(self) -> None:
        """A process that kills the recorded instances' groups if this one dies without
        doing it (SIGKILL): see `agentcore_mcp.local.watchdog`."""
        if self.pids is not None and self._watchdog is None:
            self._watchdog = Watchdog(self.pids.path)

    async def aclose(self) -> None:
        """After the sessions ended: kill anything still recorded, then drop the record."""
        for runtime_id in {*self._primers, *self._priming}:
            await self.discard_primer(runtime_id)
        if self.pids is not None:
            await asyncio.to_thread(kill_recorded_instances, self.pids.path)
            self.pids.remove()
        if self._watchdog is not None:
            watchdog, self._watchdog = self._watchdog, None
            await asyncio.to_thread(watchdog.close)

    async def _spec(
        self,
        runtime_id: str,
        version: str,
        config: RuntimeVersionConfig,
        session_id: str,
        host: str,
        port: int,
    ) -> InstanceSpec:
        env = {k: os.environ[k] for k in INHERITED if k in os.environ}
        env.update(await asyncio.to_thread(self._role_credentials, config.role_arn, session_id))
        env.update(
            {
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ENDPOINT_URL": self.gateway_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(config.environment)
        # Set last: the contract's values win over anything the runtime configured.
        env.update({"PORT": str(port), "HOST": host, "MCP_PATH": config.protocol.path})
        artifact = config.artifact
        if isinstance(artifact, ContainerArtifact):
            argv = self._container_argv(artifact, env, host, port)
            cwd = self.logs_dir
        else:
            assert isinstance(artifact, CodeArtifact)
            cwd = await self.artifacts.unpack(runtime_id, version, artifact)
            # What a microVM sees: the unpacked zip and the standard library, never this
            # process's environment (a package the zip lacks fails here as on AWS), and
            # no bytecode written into the unpacked version for the next session.
            env.pop("VIRTUAL_ENV", None)
            # The host-path mode (hand-made test zips, never a deploy check) also keeps
            # the bytecode its sessions write: fidelity is not its point, and without it
            # each of a test run's hundreds of instances compiles the kit from source.
            host_path = os.environ.get(HOST_PATH_ENV) == "1"
            paths = [str(cwd), *(sys.path[1:] if host_path else ())]
            env["PYTHONPATH"] = os.pathsep.join(paths)
            env["PYTHONNOUSERSITE"] = "1"
            if not host_path:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            argv = code_argv(cwd, artifact.runtime, artifact.entry_point, write_bytecode=host_path)
        return InstanceSpec(
            runtime_id=runtime_id,
            version=version,
            session_id=session_id,
            argv=argv,
            cwd=cwd,
            env=env,
            host=host,
            port=port,
            path=config.protocol.path,
            log_path=self.log_path(runtime_id),
            startup_timeout=self.startup_timeout,
        )

    def _role_credentials(self, role_arn: str, session_id: str) -> dict[str, str]:
        if self._sts is None:
            self._sts = self.aws.boto3_client("sts", self.region)
        sts = self._sts
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"agentcore-{session_id[:40]}")[
            "Credentials"
        ]
        return {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }

    @staticmethod
    def _container_argv(
        artifact: ContainerArtifact, env: dict[str, str], host: str, port: int
    ) -> tuple[str, ...]:
        engine = container_engine() or "docker"
        argv = [engine, "run", "--rm", "-p", f"{host}:{port}:{port}"]
        for key in env:
            if key not in ("PATH", "HOME", "HOST", "PYTHONPATH", "VIRTUAL_ENV"):
                argv += ["-e", key]  # values come from the engine's environment, not argv
        argv += ["-e", "HOST=0.0.0.0", artifact.container_uri]
        return tuple(argv)


def _is_primable(spec: InstanceSpec) -> bool:
    """A code zip run by this interpreter as a microVM would (`-S -s -B main.py`), not
    the host-path mode of hand-made test zips nor a console-script entry point."""
    return spec.argv[:4] == (sys.executable, "-S", "-s", "-B") and len(spec.argv) > 4
