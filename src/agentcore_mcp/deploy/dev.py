"""`agentcore-mcp dev`: deploy to the local AgentCore, then serve each save of the code.

```python
loop = DevLoop(load_config(server_spec="myproject.server:mcp"))
loop.deploy()                       # what `agentcore-mcp deploy` does (same state file)
for reload in loop.watch(stop):     # one Reload per batch of saves
    print(reload.outcome, reload.version, reload.message)
```

The first deploy is `plan.deploy`, as `deploy` runs it. A save then takes a shorter road
(`reload`), to the same runtime ARN, measured by bench/run_dev_loop.py:

- the dependency layer is the last build's (the cache keyed by the requirements): a save
  that leaves pyproject.toml and uv.lock alone installs nothing; one that changes them
  goes the whole way (`plan.deploy`, with its preflight);
- syntax errors are found in this process (`compile`), with the file and line, before
  anything is built;
- the zip is built in memory without a startup manifest (recording one imports the server
  in a fresh interpreter, ~1 s): without one, the runtime's readiness probe listens only
  once the server has imported, so READY proves the new code serves, and an import error
  ends the update UPDATE_FAILED with the previous version still serving. The failed
  instance's traceback, in the runtime log, names the file and line (the preflight, a
  fresh import, only when the log has none). A later `deploy` ships the manifest again;
- one UpdateAgentRuntime, polled every 50 ms, and no smoke test: the probe was it;
- the runtime is tagged `WARM_SPARE_TAG`, so the local AgentCore keeps each new
  version's probe instance for the next new session (`local/spares.py`), and starts
  that probe in a primed interpreter, which imported the dependency layer while the
  user was editing (`local/primed.py`);
- the sessions still on an older version are ended (StopRuntimeSession): a connected
  client's next request gets 404 and it starts a new session, as the MCP spec says, on
  the new code. On AWS those sessions would keep the old code until they end; a dev loop
  wants the new code at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError

from agentcore_mcp.deploy.artifact.codezip import zip_inputs
from agentcore_mcp.deploy.artifact.dependencies import ensure_dependencies
from agentcore_mcp.deploy.artifact.inputs import ZipInputs
from agentcore_mcp.deploy.config import ConfigError, DeployConfig, desired_config
from agentcore_mcp.deploy.context import Event, StepContext
from agentcore_mcp.deploy.errors import DeployError, RuntimeFailedError, explain_botocore_error
from agentcore_mcp.deploy.plan import DeployResult, deploy, open_record, runtime_target_of
from agentcore_mcp.deploy.preflight import preflight
from agentcore_mcp.deploy.state import DeploymentRecord
from agentcore_mcp.deploy.steps import build as build_step
from agentcore_mcp.deploy.steps import runtime as runtime_step
from agentcore_mcp.deploy.target import Target, open_target
from agentcore_mcp.local.spares import WARM_SPARE_TAG

# watchfiles yields a batch once no change came for STEP_MS, or after DEBOUNCE_MS of
# changes at most (its default debounce, 1.6 s, would be most of the budget).
DEBOUNCE_MS = 300
STEP_MS = 30
READY_POLL_SECONDS = 0.05
LOG_POLL_SECONDS = 0.2
# How much of the runtime log's end is read for a failed start's traceback.
FAILED_LOG_TAIL_BYTES = 64 * 1024
# Files whose change means the dependencies may have changed: the whole deploy runs.
DEPENDENCY_FILES = ("pyproject.toml", "uv.lock")
# Never watched (besides watchfiles' own list: __pycache__, .git, .venv, ...).
IGNORED_DIRS = ("build", "dist", ".agentcore-mcp")

Outcome = Literal["served", "broken", "unchanged"]


@dataclass(frozen=True, slots=True)
class Reload:
    """What one batch of saves did."""

    outcome: Outcome
    version: str = ""  # the version serving now
    message: str = ""  # broken: the error, with file and line when there is one
    seconds: float = 0.0
    full: bool = False  # the dependencies changed: the whole deploy ran
    changed: tuple[str, ...] = ()  # the saved files, relative to the project
    ended_sessions: int = 0  # sessions on an older version, ended
    # where the time went: "check" (inputs, hash, syntax), "build" (zip + upload),
    # "ready" (UpdateAgentRuntime until READY: unpack and the new instance's start),
    # "sessions" (older sessions ended); a failed start: "traceback" (its file and line
    # read from the runtime log) or "preflight" (a fresh interpreter imports the server)
    phases: tuple[tuple[str, float], ...] = ()


class DevError(ConfigError):
    """dev cannot run with these settings (exit 6, before anything is made)."""


def watched_paths(config: DeployConfig) -> list[Path]:
    """The server's top-level package (or module) and the files naming its dependencies."""
    if config.is_sample or config.server_spec is None:
        raise DevError(
            "dev watches your project's server: pass --server package.module:attr (or set "
            "`server` under [tool.agentcore-mcp] in pyproject.toml)"
        )
    top = config.server_spec.partition(":")[0].partition(".")[0]
    paths: list[Path] = []
    for base in (config.project_dir, config.project_dir / "src"):
        if (base / top).is_dir():
            paths.append(base / top)
            break
        if (base / f"{top}.py").is_file():
            paths.append(base / f"{top}.py")
            break
    else:
        raise DevError(
            f"--server {config.server_spec}: no package or module {top!r} in "
            f"{config.project_dir} or its src/; run dev from your project's folder"
        )
    paths += [config.project_dir / n for n in DEPENDENCY_FILES if (config.project_dir / n).exists()]
    return paths


def project_filter(project_dir: Path) -> Callable[[Any, str], bool]:
    """watchfiles' filter for dev: its defaults (__pycache__, .git, .venv, editor swap
    files, .pyc) plus every dotfile or dot folder under the project (never shipped:
    build._never_shipped) and the build folders."""
    from watchfiles import DefaultFilter

    project = project_dir.resolve()

    class DevFilter(DefaultFilter):
        ignore_dirs = (*DefaultFilter.ignore_dirs, *IGNORED_DIRS)

        def __call__(self, change: Any, path: str) -> bool:
            where = Path(path).resolve()
            parts = where.relative_to(project).parts if where.is_relative_to(project) else ()
            if any(part.startswith(".") for part in parts):
                return False
            return bool(super().__call__(change, path))

    return DevFilter()


def syntax_error(inputs: ZipInputs) -> str | None:
    """`file:line: SyntaxError: ...` for the first user module that does not compile."""
    for arcname, path in inputs.sources:
        if arcname.startswith("agentcore_mcp/") or not arcname.endswith(".py"):
            continue
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}"
        except ValueError as exc:  # null bytes
            return f"{path}: {exc}"
    return None


class DevLoop:
    """`agentcore-mcp dev` as a library: `deploy()` once, then `reload()` or `watch()`."""

    def __init__(
        self,
        config: DeployConfig,
        *,
        reconfigure: Callable[[], DeployConfig] | None = None,
        state_path: Path | None = None,
        secret_values: Mapping[str, str | None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        debug: Callable[[str], None] | None = None,
        yes: bool = False,
        confirm: Callable[[Any], bool] | None = None,
        adopt: bool = False,
    ) -> None:
        if config.target != "local":
            raise DevError(
                "dev deploys to the local AgentCore only; for AWS run `agentcore-mcp deploy "
                "--target aws` once the code is ready"
            )
        self.config = config
        # pyproject.toml may change while dev runs: its settings are read again
        self._reconfigure = reconfigure or (lambda: config)
        self.state_path = state_path
        self._secret_values = dict(secret_values or {})
        self._emit = on_event or (lambda _e: None)
        self._debug = debug
        self._yes = yes
        self._confirm = confirm
        self._adopt = adopt
        self._ctx: StepContext | None = None
        self._deps_key = ""
        self._auth: Any = None
        self.serving = ""  # the version serving: the last that got READY

    # --- the first deploy --------------------------------------------------------------

    def deploy(self) -> DeployResult:
        """What `agentcore-mcp deploy` does; then the runtime is tagged for warm spares."""
        watched_paths(self.config)  # before anything is made: dev can watch this project
        result = self._full_deploy(smoke_test="auto", secret_values=self._secret_values)
        # later full deploys keep the stored secret values (None: keep)
        self._secret_values = dict.fromkeys(self._secret_values)
        return result

    def _full_deploy(
        self, *, smoke_test: Literal["auto", "always", "never"], secret_values: Mapping[str, Any]
    ) -> DeployResult:
        result = deploy(
            self.config,
            state_path=self.state_path,
            secret_values=secret_values,
            on_event=self._emit,
            debug=self._debug,
            smoke_test=smoke_test,
            yes=self._yes,
            confirm=self._confirm,
            adopt=self._adopt,
        )
        self._open()
        return result

    def _open(self) -> None:
        """The step context of the fast road, from the record the deploy left."""
        target = open_target(self.config, debug=self._debug, start_local=False)
        state, record = open_record(self.config, target, self.state_path)
        if record.runtime is None:
            raise DevError("the deploy recorded no runtime; run `agentcore-mcp deploy` to see why")
        fast = dataclasses.replace(desired_config(self.config, record), manifest=False)
        self._ctx = StepContext(
            config=fast, target=target, state=state, record=record, emit=self._emit
        )
        self._deps_key = zip_inputs(fast).deps_key
        self.serving = record.runtime.version
        target.client("bedrock-agentcore-control").tag_resource(
            resourceArn=record.runtime.arn, tags={WARM_SPARE_TAG: "true"}
        )

    @property
    def record(self) -> DeploymentRecord:
        return self._context().record

    @property
    def target(self) -> Target:
        return self._context().target

    def _context(self) -> StepContext:
        if self._ctx is None:
            raise DevError("call deploy() first")
        return self._ctx

    # --- each save ---------------------------------------------------------------------

    def reload(self, changed: set[Path] | None = None) -> Reload:
        """Serve the code as it is now, through the same runtime ARN."""
        ctx = self._context()
        started = time.monotonic()
        changed = changed or set()
        names = tuple(sorted(_relative(p, self.config.project_dir) for p in changed))

        marks: list[tuple[str, float]] = []
        last = started

        def mark(phase: str) -> None:
            nonlocal last
            now = time.monotonic()
            marks.append((phase, round(now - last, 3)))
            last = now

        def done(outcome: Outcome, message: str = "", **more: Any) -> Reload:
            if outcome == "served" and ctx.record.runtime is not None:
                self.serving = ctx.record.runtime.version
            return Reload(
                outcome,
                self.serving,
                message,
                time.monotonic() - started,
                changed=names,
                phases=tuple(marks),
                **more,
            )

        try:
            inputs = zip_inputs(ctx.config)
        except DeployError as exc:
            return done("broken", str(exc))
        if inputs.deps_key != self._deps_key or any(p.name in DEPENDENCY_FILES for p in changed):
            return self._reload_all(started, names)
        recorded = ctx.record.artifact
        if recorded is not None and recorded.input_hash == inputs.input_hash():
            return done("unchanged")
        problem = syntax_error(inputs)
        mark("check")
        if problem is not None:
            return done("broken", problem)
        old_version = self.serving
        try:
            ctx.step = "build"
            build_step.apply(ctx)
            mark("build")
            ctx.step = "runtime"
            ctx.ready_poll_seconds = READY_POLL_SECONDS
            runtime_step.apply(ctx)
            mark("ready")
        except RuntimeFailedError as exc:
            mark("ready")
            why, found_by = self._why_broken(str(exc))
            mark(found_by)
            return done("broken", why)
        except (DeployError, ConfigError) as exc:
            return done("broken", str(exc))
        except BotoCoreError as exc:  # the local AgentCore went away, ...
            return done("broken", str(explain_botocore_error(exc, "redeploying")))
        finally:
            ctx.ready_poll_seconds = None
        now = ctx.record.runtime.version if ctx.record.runtime else ""
        ended = self._end_old_sessions() if now != old_version else 0
        mark("sessions")
        return done("served", ended_sessions=ended)

    def _reload_all(self, started: float, names: tuple[str, ...]) -> Reload:
        version = self.serving
        try:
            self.config = self._reconfigure()
            self._full_deploy(smoke_test="auto", secret_values=self._secret_values)
        except (DeployError, ConfigError) as exc:
            return Reload("broken", version, str(exc), time.monotonic() - started, True, names)
        except BotoCoreError as exc:
            why = str(explain_botocore_error(exc, "redeploying"))
            return Reload("broken", version, why, time.monotonic() - started, True, names)
        ended = self._end_old_sessions() if self.serving != version else 0
        return Reload("served", self.serving, "", time.monotonic() - started, True, names, ended)

    def _why_broken(self, failure: str) -> tuple[str, str]:
        """The update failed to start: the file and line of the failed instance's
        traceback (its log, already written: no interpreter to start), else the
        preflight's, else the failure; and which of the first two found it."""
        found = self._failed_start_location()
        if found is not None:
            return found, "traceback"
        full = desired_config(self.config, self.record)
        try:
            # the layer the build just used: cached, nothing is installed
            site, _ = ensure_dependencies(zip_inputs(full), lambda _m: None)
            preflight(full, lambda: site, site=site)
        except ConfigError as exc:
            return str(exc).removesuffix("; nothing was deployed, fix it and rerun"), "preflight"
        except DeployError:
            pass
        return failure, "preflight"

    def _failed_start_location(self) -> str | None:
        """`--server spec: file:line: Error: message` from the runtime log's last
        traceback through the project's code, in the instance of a version newer than the
        one serving (the update that failed); None when there is none to read."""
        from agentcore_mcp.local.running import runtime_log_path

        home = self.target.local_home
        runtime = self.record.runtime
        if home is None or runtime is None:
            return None
        try:
            with runtime_log_path(home, runtime.id).open("rb") as f:
                f.seek(max(0, f.seek(0, 2) - FAILED_LOG_TAIL_BYTES))
                lines = f.read().decode("utf-8", "replace").splitlines()
        except (OSError, DeployError):
            return None
        source = watched_paths(self.config)[0]
        frame = re.compile(
            r'^\[\S+ v(\d+) pid \d+\]   File "'
            + re.escape(str(home.resolve() / "artifacts" / runtime.id))
            + r"/\d+/("
            + re.escape(source.name)
            + r'\b[^"]*)", line (\d+)'
        )
        serving = int(self.serving) if self.serving.isdigit() else 0
        for index in range(len(lines) - 1, -1, -1):
            hit = frame.match(lines[index])
            if hit is None or int(hit.group(1)) <= serving:
                continue
            prefix = lines[index][: lines[index].index("]") + 2]
            # the exception: the first unindented line of that instance after the frame
            for line in lines[index + 1 : index + 40]:
                if line.startswith(prefix) and line[len(prefix) :][:1].isalpha():
                    where = source.parent / hit.group(2)
                    spec = self.config.server_spec
                    return f"--server {spec}: {where}:{hit.group(3)}: {line[len(prefix) :]}"
            return None
        return None

    def _end_old_sessions(self) -> int:
        """StopRuntimeSession for each session of this runtime on an older version."""
        from agentcore_mcp.client.request_auth import runtime_auth
        from agentcore_mcp.client.runtime_session import stop_runtime_session

        record = self.record
        assert record.runtime is not None
        old = [
            s["id"]
            for s in self._local_sessions()
            if s.get("runtime_id") == record.runtime.id
            and s.get("version") != record.runtime.version
        ]
        if not old:
            return 0
        runtime_target = runtime_target_of(self.target, record)
        if self._auth is None:
            self._auth = runtime_auth(runtime_target, self.target.session)

        async def stop_all() -> list[bool]:
            return await asyncio.gather(
                *(stop_runtime_session(runtime_target, self._auth, sid) for sid in old)
            )

        return sum(asyncio.run(stop_all()))

    def _local_sessions(self) -> list[dict[str, Any]]:
        """The local AgentCore's live sessions (its admin status, with the admin token
        sent only to the process that proves it holds it)."""
        import httpx2

        from agentcore_mcp.local.credentials import read_local_credentials
        from agentcore_mcp.local.identity import identity_problem

        home = self.target.local_home
        creds = read_local_credentials(home) if home is not None else None
        if creds is None or identity_problem(creds) is not None:
            return []
        try:
            response = httpx2.get(
                f"{creds.url}/_local/status",
                headers={"authorization": f"Bearer {creds.admin_token}"},
                timeout=5,
                trust_env=False,
            )
        except httpx2.HTTPError:
            return []  # gone: its sessions went with it
        if response.status_code != 200:
            return []
        sessions: list[dict[str, Any]] = response.json().get("sessions", [])
        return sessions

    # --- watching ----------------------------------------------------------------------

    def watch(self, stop: threading.Event | None = None) -> Iterator[Reload]:
        """One Reload per batch of saves, until `stop` is set (or Ctrl-C: KeyboardInterrupt)."""
        from watchfiles import watch as watch_files

        paths = watched_paths(self.config)
        for batch in watch_files(
            *paths,
            watch_filter=project_filter(self.config.project_dir),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            raise_interrupt=True,
        ):
            yield self.reload({Path(p) for _, p in batch})

    def stop(self) -> None:
        """Leave the deployment as it is; only the warm-spare tag goes."""
        if self._ctx is None or self._ctx.record.runtime is None:
            return
        # the local AgentCore may be gone already: nothing to undo there
        with contextlib.suppress(Exception):
            self.target.client("bedrock-agentcore-control").untag_resource(
                resourceArn=self._ctx.record.runtime.arn, tagKeys=[WARM_SPARE_TAG]
            )

    # --- what to run against it --------------------------------------------------------

    def client_commands(self) -> dict[str, list[str]]:
        """Inspector's command line (the proxy over stdio) and the proxy's HTTP one, as
        `agentcore-mcp connect --client inspector` prints them."""
        from agentcore_mcp.connect import client_config

        config = client_config("inspector", runtime_target_of(self.target, self.record))
        proxy = [config.entry["command"], *config.entry["args"]]
        proxy[proxy.index("--stdio")] = "--port"
        proxy.insert(proxy.index("--port") + 1, "8765")
        return {"inspector": list(config.command_line), "proxy": proxy}

    def log_lines(self, stop: threading.Event) -> Iterator[str]:
        """The runtime's instance log from now on (the local AgentCore's file), until
        `stop` is set."""
        from agentcore_mcp.local.running import runtime_log_path

        home = self.target.local_home
        assert home is not None and self.record.runtime is not None
        path = runtime_log_path(home, self.record.runtime.id)
        # A traceback names the instance's unpacked copy of your files: point at yours.
        source = watched_paths(self.config)[0]
        unpacked = re.compile(
            re.escape(str(home.resolve() / "artifacts" / self.record.runtime.id))
            + r"/\d+/(?="
            + re.escape(source.name)
            + r"\b)"
        )
        here = str(source.parent) + "/"
        try:
            offset = path.stat().st_size
        except FileNotFoundError:
            offset = 0
        while not stop.wait(LOG_POLL_SECONDS):
            if self.record.runtime is not None:
                path = runtime_log_path(home, self.record.runtime.id)
            try:
                with path.open("rb") as f:
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # whole lines only
            offset += end
            for line in data[:end].decode("utf-8", "replace").splitlines():
                yield unpacked.sub(lambda _m: here, line)


def _relative(path: Path, project: Path) -> str:
    try:
        return path.resolve().relative_to(project.resolve()).as_posix()
    except ValueError:
        return str(path)
