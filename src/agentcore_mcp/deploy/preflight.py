"""Preflight: import the user's server in a fresh interpreter before anything is made.

A syntax error, an import error or a spec that names no server would otherwise be found
by the runtime, after the role, the upload and a runtime that ends CREATE_FAILED. The
check runs in a child interpreter (`-I`, the project on its path) like the startup
manifest's recording (`build._write_manifest`), so nothing the user's code does at import
touches the deployer's process, and it lists the tools the way the manifest does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentcore_mcp.deploy.config import ConfigError, DeployConfig

PREFLIGHT_TIMEOUT = 120.0

# Runs in the child: argv = result file, project dir, spec, extra sys.path entries.
_SCRIPT = r"""
import json, os, sys, traceback
out, project, spec = sys.argv[1:4]
sys.path[:0] = [project, os.path.join(project, "src")]
sys.path.extend(sys.argv[4:])

def where(exc):
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.abspath(frame.filename).startswith(project + os.sep):
            return frame.filename, frame.lineno
    return None, None

def report(**doc):
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f)

from agentcore_mcp.server.loader import ServerLoadError, load_server
try:
    server = load_server(spec)
except BaseException as exc:
    cause = exc.__cause__ if isinstance(exc, ServerLoadError) and exc.__cause__ else exc
    file, line = where(cause)
    missing = cause.name if isinstance(cause, ModuleNotFoundError) else None
    text = str(exc) if isinstance(exc, ServerLoadError) and cause is exc else (
        f"{type(cause).__name__}: {cause}")
    report(ok=False, message=text, file=file, line=line, missing=missing)
    sys.exit(0)
try:
    import anyio
    from agentcore_mcp.server.app import McpFront, build_asgi_app
    from agentcore_mcp.server.manifest import collect_results
    from agentcore_mcp.server.settings import ServerSettings
    settings = ServerSettings(log_level="warning")
    front = build_asgi_app(server, settings)
    async def ask():
        async with front.dispatcher.lifespan():
            return await collect_results(front, settings.path)
    results = anyio.run(ask)
    listed = next((v for k, v in results.items() if k.startswith("tools/list@")), None)
    tools = [t.get("name") for t in listed.get("tools", [])] if listed else None
    result = dict(ok=True, tools=tools, note=None if listed else "tools/list gave no result")
except BaseException as exc:
    result = dict(ok=True, tools=None, note=f"{type(exc).__name__}: {exc}")
report(**result)
"""


@dataclass(frozen=True, slots=True)
class PreflightResult:
    tools: list[str] | None  # None: imported, but the tools could not be listed here
    note: str = ""  # why not, or why the check could not be completed on this machine


def _top_level(server_spec: str) -> str:
    return server_spec.partition(":")[0].partition(".")[0]


def _run(config: DeployConfig, server_spec: str, extra_path: list[str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MCP_SERVER")}
    env.update(config.env)  # what the runtime sees (secrets arrive there as *_SECRET_ID)
    project = str(config.project_dir.resolve())
    # -B: leave no __pycache__ in the user's project (-I ignores PYTHONDONTWRITEBYTECODE)
    with tempfile.TemporaryDirectory(prefix="agentcore-mcp-preflight-") as tmp:
        out = Path(tmp) / "result.json"
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-B",
                    "-c",
                    _SCRIPT,
                    str(out),
                    project,
                    server_spec,
                    *extra_path,
                ],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=PREFLIGHT_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f"--server {server_spec}: importing it took over {PREFLIGHT_TIMEOUT:.0f} s; "
                "move slow work out of import time (e.g. into the server's lifespan)"
            ) from None
        if not out.exists():  # the child died before reporting (os._exit, a crash)
            last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise ConfigError(f"--server {server_spec}: importing it failed: {last}")
        doc: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
        return doc


def _failure(server_spec: str, doc: dict[str, object]) -> ConfigError:
    at = f"{doc['file']}:{doc['line']}: " if doc.get("file") else ""
    return ConfigError(
        f"--server {server_spec}: {at}{doc['message']}; nothing was deployed, fix it and rerun"
    )


def preflight(
    config: DeployConfig,
    dependencies: Callable[[], Path] | None = None,
    *,
    site: Path | None = None,
) -> PreflightResult | None:
    """Import `config.server_spec` and list its tools; ConfigError when it cannot be served.

    `dependencies` returns a folder with the project's dependencies installed for the
    target (the build's): used only when the import needs a package that this
    interpreter lacks. None for the sample server, which is the kit's own. `site`: that
    folder, known already (dev's cached layer), on the path from the first import, which
    saves a second interpreter when the server needs a package this one lacks.
    """
    spec = config.server_spec
    if config.is_sample or spec is None:
        return None
    doc = _run(config, spec, [str(site)] if site is not None else [])
    missing = str(doc.get("missing") or "")
    if not doc["ok"] and missing and missing.partition(".")[0] != _top_level(spec):
        # A third-party module this interpreter lacks: try again with the build's.
        if dependencies is None:
            return PreflightResult(None, f"could not import {missing} here")
        site = dependencies()
        doc = _run(config, spec, [str(site)])
        missing = str(doc.get("missing") or "")
        if not doc["ok"] and missing and (site / missing.partition(".")[0]).exists():
            # Installed for another platform (compiled for the runtime's CPU): the
            # runtime can import it, this machine cannot.
            return PreflightResult(None, f"{missing} is built for {config.wheel_platform}")
    if not doc["ok"]:
        raise _failure(spec, doc)
    tools = doc.get("tools")
    return PreflightResult(
        [str(t) for t in tools] if isinstance(tools, list) else None, str(doc.get("note") or "")
    )
