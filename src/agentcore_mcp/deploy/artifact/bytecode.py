"""The zip's modules compiled for the runtime's Python (unchecked-hash `.pyc`, a fixed hash
seed, paths relative to the zip), and the per-process cache of unchanged modules' bytecode."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from agentcore_mcp.deploy.artifact.inputs import ZipInputs
from agentcore_mcp.deploy.artifact.sources import ENTRY_POINT
from agentcore_mcp.deploy.errors import BuildError

# Run by the compiling interpreter: every module under ROOT to
# `__pycache__/NAME.cpython-3XY.pyc`, unchecked-hash, the path recorded relative to ROOT
# (so the bytes do not depend on where the build ran). A file that does not compile is
# left without bytecode: importing it fails the same way on the runtime.
_COMPILE_SCRIPT = """\
import compileall, py_compile, re, sys
root, version = sys.argv[1], sys.argv[2]
if "%d.%d" % sys.version_info[:2] != version:
    sys.exit("this interpreter is Python %d.%d, not %s" % (sys.version_info[:2] + (version,)))
compileall.compile_dir(
    root, quiet=2, stripdir=root, workers=1, rx=re.compile(sys.argv[3]) if sys.argv[3] else None,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
"""


def bytecode_python(python_version: str) -> str | None:
    """An interpreter of the runtime's minor version to compile the zip's modules with:
    this one when it matches, else one `uv python find` knows (nothing is downloaded)."""
    if python_version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    uv = shutil.which("uv")
    if uv is None:
        return None
    try:
        proc = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", "--no-project", python_version],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = proc.stdout.strip()
    return found if proc.returncode == 0 and found else None


def compile_tree(python: str, python_version: str, root: Path, skip: str = "") -> None:
    """Compile every module under `root` in place (see `_COMPILE_SCRIPT`); `skip` is a
    regular expression of paths left alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # A fixed seed: frozenset constants are marshalled in hash order.
    env["PYTHONHASHSEED"] = "0"
    try:
        proc = subprocess.run(
            [python, "-s", "-S", "-c", _COMPILE_SCRIPT, str(root), python_version, skip],
            cwd="/",
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"cannot compile the zip's modules with {python}: {exc}") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise BuildError(f"cannot compile the zip's modules with {python}:\n{tail}")


def pyc_arcname(arcname: str, python_version: str) -> str:
    """Where the bytecode of module `arcname` (`pkg/mod.py`) lives for that Python."""
    folder, _, name = arcname.rpartition("/")
    tag = "cpython-" + python_version.replace(".", "")
    pyc = f"__pycache__/{name.removesuffix('.py')}.{tag}.pyc"
    return f"{folder}/{pyc}" if folder else pyc


# (Python version, arcname, sha256 of the source, its mode) -> (the .pyc's bytes, its mode).
# A long-lived process (`agentcore-mcp dev`) then compiles only the modules a save
# changed, not the kit's every time. The bytes are what a fresh compile gives (a fixed
# hash seed, unchecked-hash, paths relative to the zip), so zips stay reproducible.
_BYTECODE_CACHE: dict[tuple[str, str, bytes, int], tuple[bytes, int]] = {}
_BYTECODE_CACHE_MAX = 20_000


def compile_sources(inputs: ZipInputs, stage: Path) -> None:
    """The `.pyc` of every module staged in `stage`, from the cache or `compile_tree`."""
    assert inputs.compile_with is not None
    keys: dict[str, tuple[str, str, bytes, int]] = {}
    # The entry point runs as __main__, which never reads bytecode.
    skip = [re.escape(str(stage / ENTRY_POINT)) + "$"]
    for arcname, _ in inputs.sources:
        if not arcname.endswith(".py"):
            continue
        source = stage / arcname
        key = (
            inputs.python_version,
            arcname,
            hashlib.sha256(source.read_bytes()).digest(),
            stat.S_IMODE(source.stat().st_mode),
        )
        keys[arcname] = key
        hit = _BYTECODE_CACHE.get(key)
        if hit is not None:
            pyc = stage / pyc_arcname(arcname, inputs.python_version)
            pyc.parent.mkdir(exist_ok=True)
            pyc.write_bytes(hit[0])
            pyc.chmod(hit[1])
            skip.append(re.escape(str(source)) + "$")
    if len(skip) - 1 < len(keys):  # something is not in the cache
        compile_tree(inputs.compile_with, inputs.python_version, stage, "|".join(skip))
    if len(_BYTECODE_CACHE) + len(keys) > _BYTECODE_CACHE_MAX:
        _BYTECODE_CACHE.clear()
    for arcname, key in keys.items():
        pyc = stage / pyc_arcname(arcname, inputs.python_version)
        if key not in _BYTECODE_CACHE and pyc.exists():
            _BYTECODE_CACHE[key] = (pyc.read_bytes(), stat.S_IMODE(pyc.stat().st_mode))
