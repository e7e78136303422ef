"""The artifact: a direct-code-deploy zip (default) or a container image.

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
import importlib.metadata
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agentcore_mcp.deploy.config import DeployConfig, host_platform
from agentcore_mcp.deploy.errors import BuildError
from agentcore_mcp.files import write_atomically

BUILD_FORMAT = "2"  # 2: dependencies compiled to bytecode in the cache
MAX_ZIPPED_BYTES = 250 * 1024 * 1024
MAX_UNPACKED_BYTES = 750 * 1024 * 1024
MANIFEST_PATH = ".agentcore-mcp/manifest.json"
ENTRY_POINT = "main.py"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
# Never shipped from the user's package, whatever the spec: every dot-name (`.env`, `.git`,
# `.venv`, `.aws`, ...) and files that are keys or credentials by name. Said in a progress
# line when something is left out, so a file a server really needs is not lost silently.
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore")
_SECRET_NAMES = ("credentials", "credentials.json", ".netrc", ".pgpass")
_SECRET_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
# The server kit: agentcore_mcp's top-level modules (shared helpers such as asgi, files,
# extras) and server/. The subpackages cli, local, deploy, proxy, client and auth are for
# the developer's machine, not the runtime; __main__ starts the CLI.
_KIT_DIRS = ("server",)
_NOT_KIT_FILES = ("__main__.py",)
# The kit's base dependencies (issue 13's base extra), pinned to the versions installed
# here, so the manifest fingerprint (mcp and pydantic versions) matches the zip's.
_KIT_REQUIREMENTS = ("mcp", "uvicorn[standard]", "starlette", "pydantic")

Progress = Callable[[str], None]


def cache_root() -> Path:
    base = os.environ.get("AGENTCORE_MCP_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return (root if os.environ.get("AGENTCORE_MCP_CACHE") else root / "agentcore-mcp") / "deps"


def _untrusted_reason(path: Path, *, follow: bool) -> str | None:
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
        reason = _untrusted_reason(folder, follow=index == 0)
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
    out = _run_uv(
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


def _run_uv(args: list[str], doing: str) -> str:
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


@dataclass(frozen=True, slots=True)
class ZipInputs:
    server_spec: str | None
    platform: str
    python_version: str
    requirements: tuple[str, ...]
    sources: tuple[tuple[str, Path], ...]  # (arcname, file) sorted by arcname
    entry_point: str
    manifest: bool
    excluded: tuple[str, ...] = ()  # files of the user's package never shipped (dotfiles...)
    # The interpreter (of `python_version`) compiling the zip's modules; None: no bytecode.
    compile_with: str | None = None

    @property
    def deps_key(self) -> str:
        doc = json.dumps(
            [
                BUILD_FORMAT,
                self.platform,
                self.python_version,
                self.requirements,
                self.compile_with is not None,
            ]
        )
        return hashlib.sha256(doc.encode()).hexdigest()[:32]

    def input_hash(self) -> str:
        """A hash of everything the zip is made from, computed without building it."""
        digest = hashlib.sha256()
        head = f"{BUILD_FORMAT}\n{self.deps_key}\n{self.server_spec}\n{self.manifest}\n"
        digest.update(head.encode())
        digest.update(self.entry_point.encode())
        for arcname, path in self.sources:
            digest.update(arcname.encode() + b"\0")
            digest.update(f"{path.stat().st_mode & 0o777}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class BuiltZip:
    path: Path  # a copy for the user to look at: never read back for the upload
    sha256: str  # of `body`
    size: int
    unpacked_size: int
    input_hash: str
    manifest: bool  # a startup manifest is inside
    body: bytes = field(default=b"", repr=False)  # the zip's bytes: what gets uploaded


def _walk(root: Path, *, bytecode: bool = False) -> Iterator[Path]:
    """The files under `root`, sorted; `__pycache__` and `.pyc` only when `bytecode`."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if bytecode or d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if bytecode or not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath, name)


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


def kit_sources() -> list[tuple[str, Path]]:
    import agentcore_mcp

    root = Path(agentcore_mcp.__file__).resolve().parent
    found = [
        (f"agentcore_mcp/{p.name}", p)
        for p in sorted(root.iterdir())
        if p.is_file() and p.name.endswith((".py", ".typed")) and p.name not in _NOT_KIT_FILES
    ]
    for sub in _KIT_DIRS:
        for path in _walk(root / sub):
            found.append((f"agentcore_mcp/{path.relative_to(root).as_posix()}", path))
    return found


def _never_shipped(name: str) -> bool:
    return (
        name.startswith(".")
        or name in _SECRET_NAMES
        or name.endswith(_SECRET_SUFFIXES)
        or name.startswith(_SECRET_PREFIXES)
    )


def _walk_user(root: Path, excluded: list[str], base: Path) -> Iterator[Path]:
    """The user's package files, leaving out (and listing in `excluded`) dotfiles, dot
    folders and key or credentials files."""
    for dirpath, dirnames, filenames in os.walk(root):
        kept = []
        for name in sorted(dirnames):
            if _never_shipped(name):
                excluded.append(Path(dirpath, name).relative_to(base).as_posix() + "/")
            elif name not in _SKIP_DIRS:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if _never_shipped(name):
                excluded.append(Path(dirpath, name).relative_to(base).as_posix())
            elif not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath, name)


def user_sources(
    server_spec: str | None, project_dir: Path, excluded: list[str] | None = None
) -> list[tuple[str, Path]]:
    """The files of the server's top-level package or module; what was left out goes to
    `excluded` (paths relative to the project)."""
    if server_spec is None:
        return []
    module = server_spec.partition(":")[0]
    top = module.partition(".")[0]
    if not all(part.isidentifier() for part in module.split(".")):
        # A relative spec (".server:mcp") has an empty top name, which once meant the
        # whole project folder, `.env` and all, went into the zip.
        raise BuildError(
            f"--server {server_spec}: expected an absolute module path (package.module:attr), "
            "e.g. mypkg.server:mcp; relative modules are not supported"
        )
    if top == "agentcore_mcp":
        return []
    skipped = excluded if excluded is not None else []
    for base in (project_dir, project_dir / "src"):
        if (base / top).is_dir():
            return [
                (f"{top}/{p.relative_to(base / top).as_posix()}", p)
                for p in _walk_user(base / top, skipped, project_dir)
            ]
        if (base / f"{top}.py").is_file():
            return [(f"{top}.py", base / f"{top}.py")]
    raise BuildError(
        f"--server {server_spec}: no package or module {top!r} in {project_dir} or "
        f"{project_dir / 'src'}; "
        "run deploy from your project's folder, or pass --project-dir"
    )


def entry_point_source(server_spec: str | None) -> str:
    served = server_spec or "the sample server"
    return f'''"""Generated by `agentcore-mcp deploy`: serve {served} with the server kit."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
os.chdir(HERE)
MANIFEST = os.path.join(HERE, {MANIFEST_PATH!r})
if os.path.exists(MANIFEST):
    os.environ.setdefault("MCP_STARTUP_MANIFEST", MANIFEST)

from agentcore_mcp.server.run import serve_spec  # noqa: E402

sys.exit(serve_spec({server_spec!r}))
'''


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


def _info(arcname: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=_FIXED_DATE)
    info.external_attr = (0o100000 | (mode & 0o777)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the modes are honoured
    return info


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
        _run_uv(
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
            files = _walk(work / "site", bytecode=inputs.compile_with is not None)
            for path in sorted(files, key=lambda p: p.as_posix()):
                arcname = path.relative_to(work / "site").as_posix()
                out.writestr(_info(arcname, path.stat().st_mode), path.read_bytes())
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
    reason = _untrusted_reason(out_dir, follow=False)
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


# (Python version, arcname, sha256 of the source, its mode) -> (the .pyc's bytes, its mode).
# A long-lived process (`agentcore-mcp dev`) then compiles only the modules a save
# changed, not the kit's every time. The bytes are what a fresh compile gives (a fixed
# hash seed, unchecked-hash, paths relative to the zip), so zips stay reproducible.
_BYTECODE_CACHE: dict[tuple[str, str, bytes, int], tuple[bytes, int]] = {}
_BYTECODE_CACHE_MAX = 20_000


def _compile_sources(inputs: ZipInputs, stage: Path) -> None:
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
                _compile_sources(inputs, stage)
                for arcname, _ in inputs.sources:
                    pyc = pyc_arcname(arcname, inputs.python_version)
                    if arcname.endswith(".py") and (stage / pyc).exists():
                        entries.append((pyc, stage / pyc))
            for arcname, path in sorted(entries):
                out.writestr(_info(arcname, path.stat().st_mode), path.read_bytes())
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
    for path in _walk(site):
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


# --- container ---------------------------------------------------------------------------


def container_engine() -> str | None:
    """`docker` when its daemon answers (buildx needs one), else None."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        ok = (
            subprocess.run(
                [docker, "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                timeout=15,
                stdin=subprocess.DEVNULL,
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return docker if ok else None


def require_container_engine() -> str:
    engine = container_engine()
    if engine is None:
        raise BuildError(
            "--artifact container needs Docker with buildx, and no Docker daemon answered "
            "here. Start Docker (or install it), or drop --artifact container to deploy the "
            "default code zip, which needs no engine"
        )
    return engine


def build_container(
    engine: str, context: Path, image_uri: str, login: tuple[str, str, str], progress: Progress
) -> None:
    """buildx for linux/arm64 and push; `login` is (registry, user, password) for ECR."""
    registry, user, password = login
    proc = subprocess.run(
        [engine, "login", "--username", user, "--password-stdin", registry],
        input=password.encode(),
        capture_output=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise BuildError(f"docker login to {registry} failed: {proc.stderr.decode()[-500:]}")
    progress(f"docker buildx build --platform linux/arm64 -t {image_uri} --push")
    proc = subprocess.run(
        [
            engine,
            "buildx",
            "build",
            "--platform",
            "linux/arm64",
            "-t",
            image_uri,
            "--push",
            str(context),
        ],
        capture_output=True,
        timeout=3600,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise BuildError(f"docker buildx failed: {proc.stderr.decode()[-1500:]}")
