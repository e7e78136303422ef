"""A primed interpreter per `dev` runtime: the next version's cold start, mostly done.

Local only, and only for runtimes tagged `WARM_SPARE_TAG` (which `agentcore-mcp dev`
sets). After a version of such a runtime starts, the local AgentCore starts one more
interpreter in that version's unpacked tree (`python -S -s -B`, the tree and the
standard library on its path, as an instance) that imports the dependency layer: the
server kit, the `mcp` SDK, uvicorn, starlette, pydantic; never the user's package.
It then waits. The next version's instance (the probe of the next save) is that
process, told on its stdin where its version is and what its environment is: it moves
onto the new tree and runs the entry point, so only the user's code is imported then.

What the instance sees is still exactly its zip's files:

- the primer is used only when every file it imported is, in the new version's tree,
  the very same file (same device and inode: the local AgentCore hard-links a file
  whose name, CRC-32, size and mode are unchanged, `artifacts.py`), and no module the
  primer took from the standard library is shadowed by a file of the new zip;
- then its `sys.path` becomes the new tree and the standard library only, and the
  imported modules' `__file__` and `__path__` point into the new tree (a later import
  of a submodule reads the new version's file);
- otherwise (a dependency changed, the kit changed) the primer is stopped, the
  instance starts the usual way, and a new primer is started from the new tree.

What differs from a fresh start: the environment variables are set after the
dependency layer was imported (a library that reads one at import time sees the
primer's: the inherited PATH/LANG/HOME set, none of the runtime's), and tracebacks of
the dependency layer name the tree the primer started in (same bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# What a primer imports: the server kit's serving path and what it pulls in. A name
# the zip lacks is skipped (the sample server, a trimmed layer).
PRIMED_MODULES = (
    "agentcore_mcp.server.run",
    "agentcore_mcp.server.app",
    "agentcore_mcp.server.loader",
    "agentcore_mcp.server.starting",
    "agentcore_mcp.server.secrets",
    "agentcore_mcp.http_limits",
    "uvicorn",
    "starlette.applications",
    "pydantic",
    "mcp.server.mcpserver",
    "mcp.server.lowlevel.server",
)
PRIMING_TIMEOUT = 60.0
READY_MARK = b"agentcore-mcp-primed "
# The first line of an instance a primer runs (its log, dev's output): it is no cold start.
PRIMED_LINE = "local dev: a primed interpreter (its dependency layer imported in advance)"

# Run with `python -S -s -B -c`: no script folder on sys.path (with a file, the local
# AgentCore's own package folder would be). argv[1]: the tree; argv[2:]: the modules.
PRIMER_SOURCE = r"""
import importlib, json, os, runpy, sys
PRIMED_LINE = "@PRIMED_LINE@"
tree = sys.argv[1]
sys.path[:] = [p for p in sys.path if p not in ("", ".")]
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
def files():
    out = []
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if isinstance(f, str):
            out.append(f)
    return out
top_std = sorted({n.partition(".")[0] for n, m in list(sys.modules.items())
                  if isinstance(getattr(m, "__file__", None), str)
                  and not m.__file__.startswith(tree + os.sep)})
doc = json.dumps({"files": files(), "stdlib_tops": top_std})
sys.stdout.write("agentcore-mcp-primed " + doc + "\n")
sys.stdout.flush()
line = sys.stdin.readline()
if not line:
    os._exit(0)
go = json.loads(line)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
new = go["tree"]
def moved(p):
    return new + p[len(tree):] if isinstance(p, str) and p.startswith(tree + os.sep) else p
for mod in list(sys.modules.values()):
    f = getattr(mod, "__file__", None)
    if isinstance(f, str) and f.startswith(tree + os.sep):
        mod.__file__ = moved(f)
        if isinstance(getattr(mod, "__cached__", None), str):
            mod.__cached__ = moved(mod.__cached__)
    p = getattr(mod, "__path__", None)
    if isinstance(p, list):
        p[:] = [moved(x) for x in p]
    spec = getattr(mod, "__spec__", None)
    if spec is not None:
        if isinstance(spec.origin, str):
            spec.origin = moved(spec.origin)
        loc = spec.submodule_search_locations
        if isinstance(loc, list):
            loc[:] = [moved(x) for x in loc]
    loader = getattr(mod, "__loader__", None)
    if isinstance(getattr(loader, "path", None), str):
        loader.path = moved(loader.path)
std = [p for p in sys.path if p != tree and not p.startswith(tree + os.sep)]
entry = os.path.join(new, go["argv"][0])
sys.path[:] = [os.path.dirname(entry), *go["pythonpath"], *std]
sys.path_importer_cache.clear()
importlib.invalidate_caches()
os.chdir(go["cwd"])
os.environ.clear()
os.environ.update(go["env"])
sys.argv[:] = list(go["argv"])
sys.stderr.write(PRIMED_LINE + "\n")
runpy.run_path(entry, run_name="__main__")
""".replace('"@PRIMED_LINE@"', repr(PRIMED_LINE))


@dataclass
class Primer:
    """One primed interpreter, waiting on its stdin."""

    tree: Path
    process: asyncio.subprocess.Process
    files: tuple[str, ...]  # every module file it imported
    stdlib_tops: tuple[str, ...]  # top-level names it took from outside the tree

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def fits(self, new_tree: Path) -> bool:
        """Whether `new_tree` holds, as the very same files, everything the primer
        imported from its own tree, and shadows nothing it took from elsewhere."""
        old = str(self.tree) + os.sep
        try:
            for name in self.files:
                if not name.startswith(old):
                    continue
                before = os.stat(name)
                after = os.stat(new_tree / name[len(old) :])
                if (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino):
                    return False
        except OSError:
            return False
        for top in self.stdlib_tops:
            if (new_tree / top).exists() or (new_tree / f"{top}.py").exists():
                return False
        return True

    def go(self, tree: Path, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        """Run the entry point `argv` of `tree`; the values go through the pipe, never
        argv or a file (the environment holds the role's credentials)."""
        assert self.process.stdin is not None
        pythonpath = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        message = {
            "tree": str(tree),
            "argv": list(argv),
            "cwd": str(cwd),
            "env": dict(env),
            "pythonpath": pythonpath,
        }
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.close()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()


async def start_primer(
    tree: Path,
    env: Mapping[str, str],
    preexec: Callable[[], None] | None,
    on_spawn: Callable[[int], None] | None = None,
) -> Primer | None:
    """A primer in `tree` (an unpacked version), once it has imported the layer; None
    when it could not start or prime."""
    resolved = tree.resolve()
    argv = (sys.executable, "-S", "-s", "-B", "-c", PRIMER_SOURCE, str(resolved), *PRIMED_MODULES)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(resolved),
            env={**env, "PYTHONPATH": str(resolved)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
        )
    except OSError:
        return None
    if on_spawn is not None:
        on_spawn(process.pid)
    assert process.stdout is not None
    primer: Primer | None = None
    try:
        async with asyncio.timeout(PRIMING_TIMEOUT):
            for _ in range(1000):  # a library's import-time warnings come first
                line = await process.stdout.readline()
                if not line or line.startswith(READY_MARK):
                    break
        doc = json.loads(line.removeprefix(READY_MARK))
        primer = Primer(resolved, process, tuple(doc["files"]), tuple(doc["stdlib_tops"]))
    except (TimeoutError, ValueError, KeyError, TypeError):
        pass
    finally:
        if primer is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    return primer
