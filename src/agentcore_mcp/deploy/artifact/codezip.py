"""The direct-code-deploy zip, assembled in memory.

The zip holds the server's top-level package (from the server spec), the server kit
(`agentcore_mcp/` minus the CLI, the local AgentCore, the deployer and the proxy), a
generated `main.py`, a startup manifest, and the dependencies installed for the target
platform by `uv pip install --target --python-platform P --python-version V --only-binary :all:`.

Dependencies are installed once per (requirements, platform, Python version) into a
cache, and zipped once there too; a build copies that zip and appends the sources, so
a one-line tool change only re-zips source. The zip is deterministic (sorted entries,
fixed timestamps, POSIX modes kept): an unchanged tree gives the same bytes and hash.

Every module in the zip also ships compiled (`__pycache__/*.cpython-3XY.pyc`) for the
runtime's Python, with unchecked-hash invalidation: an AgentCore microVM starts with no
`__pycache__` and compiling the SDK from source is a large part of a cold start, and an
unchecked-hash `.pyc` is used whatever the unpacked files' times are. The compiling
interpreter is this one when its minor version is the runtime's, else one `uv python
find` knows; when there is none, the build says so and the zip ships without bytecode.
The `.pyc` files record paths relative to the zip and are compiled with a fixed hash
seed, so they are as reproducible as the rest.

On a shared machine, nothing another user can write is trusted: the zip is assembled in
memory and its sha256 taken from those bytes, which are what gets uploaded (the copy
written to a fresh 0700 folder, 0600, is only for the user to look at); the dependency
cache is used only when it is this user's and nobody else can write it. Dotfiles
(`.env`, `.git`, ...) and key or credentials files never go into the zip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from agentcore_mcp.deploy.artifact.bytecode import bytecode_python, compile_sources, pyc_arcname
from agentcore_mcp.deploy.artifact.dependencies import (
    ensure_dependencies,
    kit_requirements,
    untrusted_reason,
    user_requirements,
)
from agentcore_mcp.deploy.artifact.inputs import Progress, ZipInputs
from agentcore_mcp.deploy.artifact.sources import (
    ENTRY_POINT,
    MANIFEST_PATH,
    entry_point_source,
    kit_sources,
    user_sources,
    walk,
    zip_entry_info,
)
from agentcore_mcp.deploy.config import DeployConfig, host_platform
from agentcore_mcp.deploy.errors import BuildError

MAX_ZIPPED_BYTES = 250 * 1024 * 1024
MAX_UNPACKED_BYTES = 750 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BuiltZip:
    path: Path  # a copy for the user to look at: never read back for the upload
    sha256: str  # of `body`
    size: int
    unpacked_size: int
    input_hash: str
    manifest: bool  # a startup manifest is inside
    body: bytes = field(default=b"", repr=False)  # the zip's bytes: what gets uploaded


def zip_inputs(config: DeployConfig) -> ZipInputs:
    excluded: list[str] = []
    sources = kit_sources() + user_sources(config.server_spec, config.project_dir, excluded)
    reqs = kit_requirements(config)
    if not config.is_sample:
        reqs += user_requirements(config.project_dir)
    return ZipInputs(
        server_spec=config.server_spec,
        platform=config.wheel_platform,
        python_version=config.python_version,
        requirements=tuple(sorted(set(reqs))),
        sources=tuple(sorted(sources)),
        entry_point=entry_point_source(config.server_spec),
        manifest=config.manifest,
        excluded=tuple(excluded),
        compile_with=bytecode_python(config.python_version),
    )


def _write_manifest(
    stage: Path, site: Path, server_spec: str | None, progress: Progress, *, isolated: bool
) -> bool:
    """Record the startup manifest in `stage` with this interpreter; False when it cannot.

    `isolated` (the dependencies were installed for this machine): the server is loaded
    from the zip's files and the standard library only (-S: no site-packages of this
    environment), as the runtime loads it; a server importing a package its project does
    not declare then gets no manifest (the progress line names the module), so its
    sessions fail at once instead of answering the handshake from the manifest first.
    Otherwise (wheels for another platform) this environment's packages stand in.
    """
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(stage)!r}]\n"
        f"sys.path.append({str(site)!r})\n"
        "import dataclasses, pathlib\n"
        "from agentcore_mcp.server.manifest import write_manifest\n"
        f"m = write_manifest({server_spec!r}, {MANIFEST_PATH!r})\n"
        # no creation time inside: the same code must give the same zip bytes
        f"pathlib.Path({MANIFEST_PATH!r})"
        ".write_text(dataclasses.replace(m, created='').to_json())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MCP_SERVER")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        proc = subprocess.run(
            # -B: `-I` ignores PYTHONDONTWRITEBYTECODE, and nothing may land in the stage
            [sys.executable, "-I", *(["-S"] if isolated else []), "-B", "-c", script],
            cwd=stage,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        progress("startup manifest skipped: loading the server took over 120 s")
        return False
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        progress(f"startup manifest skipped (sessions start without it): {last}")
        return False
    return True


def private_build_dir(out_dir: Path | None = None) -> Path:
    """A folder only this user can use: fresh from mkdtemp (0700) when `out_dir` is None;
    else `out_dir`, created 0700 or, if it exists, checked to be this user's, not a link,
    and not writable by others."""
    if out_dir is None:
        return Path(tempfile.mkdtemp(prefix="agentcore-mcp-build-"))
    with contextlib.suppress(FileExistsError):
        out_dir.mkdir(parents=True, mode=0o700)
    reason = untrusted_reason(out_dir, follow=False)
    if reason is not None:
        raise BuildError(f"the build folder {out_dir} {reason}; use a folder of your own")
    return out_dir


def _write_private(path: Path, body: bytes) -> None:
    """`body` to a new 0600 file at `path` (never through an existing file or link)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def build_zip(inputs: ZipInputs, out_dir: Path | None, progress: Progress) -> BuiltZip:
    """Build the zip in memory and hash those bytes; a copy goes to `out_dir` (None: a
    fresh private folder per build). Upload `BuiltZip.body`, never the file: a file can be
    changed after it was hashed."""
    site, deps_zip = ensure_dependencies(inputs, progress)
    input_hash = inputs.input_hash()
    if inputs.excluded:
        progress(f"left out of the zip: {', '.join(inputs.excluded)}")
    if inputs.compile_with is None:
        progress(
            f"no Python {inputs.python_version} here to compile with: the zip ships without "
            f"bytecode, so each session compiles what it imports (`uv python install "
            f"{inputs.python_version}` fixes that)"
        )
    with tempfile.TemporaryDirectory(prefix="agentcore-mcp-stage-") as tmp:
        stage = Path(tmp) / "stage"
        for arcname, path in inputs.sources:
            dest = stage / arcname
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        (stage / ENTRY_POINT).write_text(inputs.entry_point)
        (stage / ENTRY_POINT).chmod(0o644)
        has_manifest = False
        if inputs.manifest:
            progress("recording the startup manifest")
            has_manifest = _write_manifest(
                stage,
                site,
                inputs.server_spec,
                progress,
                isolated=inputs.platform == host_platform(),
            )
        buffer = io.BytesIO(deps_zip.read_bytes())
        with zipfile.ZipFile(buffer, "a", compresslevel=6) as out:
            entries = [(a, stage / a) for a, _ in inputs.sources] + [
                (ENTRY_POINT, stage / ENTRY_POINT)
            ]
            if has_manifest:
                entries.append((MANIFEST_PATH, stage / MANIFEST_PATH))
            if inputs.compile_with is not None:
                compile_sources(inputs, stage)
                for arcname, _ in inputs.sources:
                    pyc = pyc_arcname(arcname, inputs.python_version)
                    if arcname.endswith(".py") and (stage / pyc).exists():
                        entries.append((pyc, stage / pyc))
            for arcname, path in sorted(entries):
                out.writestr(zip_entry_info(arcname, path.stat().st_mode), path.read_bytes())
    body = buffer.getvalue()
    sha = hashlib.sha256(body).hexdigest()
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    name = f"{input_hash[:16]}.zip"
    built = BuiltZip(Path(name), sha, len(body), unpacked, input_hash, has_manifest, body)
    check_size(built, site)  # before anything is written
    target = private_build_dir(out_dir) / name
    _write_private(target, body)
    return dataclasses.replace(built, path=target)


def largest_packages(site: Path, count: int = 5) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for path in walk(site):
        top = path.relative_to(site).parts[0]
        sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:count]


def check_size(
    built: BuiltZip,
    site: Path,
    *,
    max_zipped: int = MAX_ZIPPED_BYTES,
    max_unpacked: int = MAX_UNPACKED_BYTES,
) -> None:
    """AgentCore's direct-code-deploy limits, checked before any upload."""
    if built.size <= max_zipped and built.unpacked_size <= max_unpacked:
        return
    largest = ", ".join(f"{n} {s / 2**20:.1f} MB" for n, s in largest_packages(site))
    raise BuildError(
        f"the zip is {built.size / 2**20:.1f} MB ({built.unpacked_size / 2**20:.1f} MB "
        f"unpacked); AgentCore allows {max_zipped / 2**20:.0f} MB zipped and "
        f"{max_unpacked / 2**20:.0f} MB unpacked. Largest packages: {largest}. Drop "
        "dependencies you do not need at runtime, or use --artifact container"
    )
