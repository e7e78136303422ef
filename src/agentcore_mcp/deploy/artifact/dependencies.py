"""The dependencies: the kit's and the user's requirements, installed once per
(requirements, platform, Python version) into a cache this user alone can write, compiled,
and zipped once there too."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import stat
import subprocess
import tempfile
import tomllib
import zipfile
from pathlib import Path

from agentcore_mcp.deploy.artifact.bytecode import compile_tree
from agentcore_mcp.deploy.artifact.inputs import Progress, ZipInputs
from agentcore_mcp.deploy.artifact.sources import walk, zip_entry_info
from agentcore_mcp.deploy.config import DeployConfig
from agentcore_mcp.deploy.errors import BuildError
from agentcore_mcp.files import write_atomically

# The kit's base dependencies (issue 13's base extra), pinned to the versions installed
# here, so the manifest fingerprint (mcp and pydantic versions) matches the zip's.
_KIT_REQUIREMENTS = ("mcp", "uvicorn[standard]", "starlette", "pydantic")


def cache_root() -> Path:
    base = os.environ.get("AGENTCORE_MCP_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return (root if os.environ.get("AGENTCORE_MCP_CACHE") else root / "agentcore-mcp") / "deps"


def untrusted_reason(path: Path, *, follow: bool) -> str | None:
    """Why another local user could change what is at `path`, or None if nobody can."""
    try:
        st = path.stat() if follow else path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if st.st_uid != os.getuid():
        return f"belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
    if st.st_mode & 0o022:
        return f"is writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def trusted_cache_dir(path: Path, *, create: bool = True) -> Path:
    """`path` in the cache, checked before anything in it is used (and made 0700 when
    missing, `path` itself only if `create`): the cache's folder and every folder below it
    down to `path` must be this user's, not symbolic links, not writable by group or
    others. The cached dependencies are imported at build time and shipped in the zip:
    another user who could write there would run their code in your runtime."""
    base = cache_root().parent
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = [base, *reversed([p for p in path.parents if p.is_relative_to(base) and p != base])]
    if path != base:
        chain.append(path)
    for index, folder in enumerate(chain):
        if index and (create or folder != path):
            with contextlib.suppress(FileExistsError):
                folder.mkdir(mode=0o700)
        # The cache's own folder may be reached through a link (e.g. ~/.cache on another
        # disk); below it, a link could point anywhere and is refused.
        reason = untrusted_reason(folder, follow=index == 0)
        if reason is not None:
            raise BuildError(
                f"the dependency cache {folder} {reason}; another user could change the "
                "dependencies that go into your zip. Fix it (`chmod go-w`, or remove it), or "
                "set AGENTCORE_MCP_CACHE to a folder of your own"
            )
    return path


def _pinned(requirement: str) -> str:
    name = requirement.split("[")[0]
    try:
        return f"{requirement}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return requirement


def kit_requirements(config: DeployConfig) -> list[str]:
    reqs = [_pinned(r) for r in _KIT_REQUIREMENTS]
    if config.secrets:
        reqs.append(_pinned("botocore"))  # the kit resolves *_SECRET_ID through it
    if config.is_sample:
        reqs.append(_pinned("openai"))  # the sample's web_search tool
    return reqs


def user_requirements(project_dir: Path) -> list[str]:
    """The user's locked dependencies (uv.lock via `uv export`), else pyproject's list."""
    if (project_dir / "uv.lock").exists() and (project_dir / "pyproject.toml").exists():
        lines = _exported_lock(project_dir).splitlines()
    elif (project_dir / "pyproject.toml").exists():
        doc = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))
        lines = list(doc.get("project", {}).get("dependencies", []))
    else:
        lines = []
    return [
        line.strip()
        for line in lines
        if line.strip()
        and not line.lstrip().startswith(("#", "-e", "./", "file:"))
        # agentcore-mcp is not on PyPI: its kit ships as source (below)
        and not line.strip().lower().replace("_", "-").startswith("agentcore-mcp")
    ]


def _exported_lock(project_dir: Path) -> str:
    """`uv export` of the project's lock, cached by the bytes of uv.lock and pyproject.toml:
    a rerun with nothing changed should not pay for a subprocess."""
    digest = hashlib.sha256()
    for name in ("uv.lock", "pyproject.toml"):
        digest.update((project_dir / name).read_bytes())
    cached = trusted_cache_dir(cache_root().parent / "exports") / f"{digest.hexdigest()}.txt"
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    out = run_uv(
        [
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--project",
            str(project_dir),
        ],
        "export the locked dependencies",
    )
    write_atomically(cached, out)
    return out


def run_uv(args: list[str], doing: str) -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise BuildError(f"cannot {doing}: `uv` is not on PATH (https://docs.astral.sh/uv/)")
    proc = subprocess.run(
        [uv, *args], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-12:])
        raise BuildError(f"cannot {doing} (uv exited {proc.returncode}):\n{tail}")
    return proc.stdout


def ensure_dependencies(inputs: ZipInputs, progress: Progress) -> tuple[Path, Path]:
    """(site dir, deps zip) for the inputs' requirements, from the cache or installed now."""
    root = cache_root() / inputs.deps_key
    site, deps_zip = root / "site", root / "deps.zip"
    trusted_cache_dir(root, create=False)
    if deps_zip.exists() and site.is_dir():
        return site, deps_zip
    progress(
        f"installing {len(inputs.requirements)} requirements for {inputs.platform}, "
        f"Python {inputs.python_version}"
    )
    work = Path(tempfile.mkdtemp(prefix=f"{inputs.deps_key}.", dir=root.parent))
    try:
        reqs = work / "requirements.txt"
        reqs.write_text("\n".join(inputs.requirements) + "\n")
        run_uv(
            [
                "pip",
                "install",
                "--quiet",
                "--target",
                str(work / "site"),
                "--python-platform",
                inputs.platform,
                "--python-version",
                inputs.python_version,
                "--only-binary",
                ":all:",
                "-r",
                str(reqs),
            ],
            f"install the dependencies for {inputs.platform}",
        )
        if inputs.compile_with is not None:
            progress(f"compiling the dependencies for Python {inputs.python_version}")
            compile_tree(inputs.compile_with, inputs.python_version, work / "site")
        progress("zipping the dependencies (once per requirement set)")
        with zipfile.ZipFile(work / "deps.zip", "w", compresslevel=6) as out:
            files = walk(work / "site", bytecode=inputs.compile_with is not None)
            for path in sorted(files, key=lambda p: p.as_posix()):
                arcname = path.relative_to(work / "site").as_posix()
                out.writestr(zip_entry_info(arcname, path.stat().st_mode), path.read_bytes())
        try:
            work.rename(root)
        except OSError:
            if not (root / "deps.zip").exists():
                raise
            # A concurrent build of the same requirements finished first; theirs is as good.
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return site, deps_zip
