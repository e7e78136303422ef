"""Runtime artifacts: code zips from the embedded S3, unpacked once per version.

`LocalArtifactPreparer` is what the control plane runs while a runtime is CREATING or
UPDATING. It fails the way the service does, with a `failureReason`, for an artifact
that cannot run: a missing S3 object, a file that is not a zip, a missing entry point,
a container with no engine to run it, or a program that exits or never listens.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from agentcore_mcp.local.control.config import CodeArtifact, ContainerArtifact, RuntimeVersionConfig
from agentcore_mcp.local.control.errors import ArtifactError
from agentcore_mcp.local.instances import (
    Instance,
    StartupCrashed,
    StartupTimeout,
    container_engine,
)

if TYPE_CHECKING:
    from agentcore_mcp.local.aws import EmbeddedAws


# The service's direct-code-deploy limit on the unpacked zip (750 MB).
MAX_UNPACKED_BYTES = 750 * 1024 * 1024
_CHUNK = 1 << 20
# Beside each unpacked version: its files' CRC-32, size and mode, for the next version.
ENTRIES_FILE = ".entries.json"
# Under the root: failed versions' trees being removed in the background.
TRASH_DIR = ".discarded"
_REBUILD = (
    "Rebuild the zip with a standard tool (`zip -r` from inside the project folder, or "
    "Python's shutil.make_archive) and upload it again."
)


class ArtifactStore:
    """Unpacked code artifacts under `root/{runtime_id}/{version}`.

    A version is unpacked into `{version}.partial` and renamed into place only when
    complete; a failed unpack, a failed version and a deleted runtime leave nothing behind.
    """

    def __init__(
        self,
        aws: EmbeddedAws,
        root: Path,
        region: str,
        *,
        max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    ) -> None:
        self.aws = aws
        self.root = root
        self.region = region
        self.max_unpacked_bytes = max_unpacked_bytes
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # Left by a process that was killed mid-unpack: never complete, never used.
        for stale in root.glob("*/*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(root / TRASH_DIR, ignore_errors=True)
        self._emptying: set[asyncio.Task[None]] = set()

    def path_for(self, runtime_id: str, version: str) -> Path:
        return self.root / runtime_id / version

    async def unpack(self, runtime_id: str, version: str, artifact: CodeArtifact) -> Path:
        lock = self._locks.setdefault((runtime_id, version), asyncio.Lock())
        async with lock:
            target = self.path_for(runtime_id, version)
            if (target / ".unpacked").exists():
                return target
            data = await asyncio.to_thread(self._fetch, artifact)
            previous = self._latest_unpacked(runtime_id, exclude=version)
            await asyncio.to_thread(
                _extract, data, target, artifact, self.max_unpacked_bytes, previous
            )
            return target

    def _latest_unpacked(self, runtime_id: str, *, exclude: str) -> Path | None:
        """The most recently unpacked version of this runtime, whose files a new version
        can share (a one-line change leaves the dependencies as they were)."""
        found = [
            path
            for path in (self.root / runtime_id).glob("*")
            if path.name != exclude and path.name.isdigit() and (path / ENTRIES_FILE).is_file()
        ]
        return max(found, key=lambda p: p.stat().st_mtime, default=None)

    def newest_unpacked(self, runtime_id: str) -> Path | None:
        """The most recently unpacked version of this runtime still there."""
        return self._latest_unpacked(runtime_id, exclude="")

    async def discard_version(self, runtime_id: str, version: str) -> None:
        """Remove one version's unpacked code (it failed, nothing runs it).

        It is renamed away at once and deleted in the background: removing a tree of a
        few thousand files takes a second, and the version's failure (UPDATE_FAILED,
        which `dev` waits on to say a save is broken) need not wait for it."""
        self._locks.pop((runtime_id, version), None)
        target = self.path_for(runtime_id, version)
        trash = self.root / TRASH_DIR / f"{runtime_id}-{version}-{os.urandom(4).hex()}"
        try:
            trash.parent.mkdir(parents=True, exist_ok=True)
            target.rename(trash)
        except OSError:
            trash = target  # not there, or not movable: removed in place
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(_remove, trash, target.with_name(target.name + ".partial"))
        )
        self._emptying.add(task)
        task.add_done_callback(self._emptying.discard)

    async def settle(self) -> None:
        """Wait for the background removals (the local AgentCore is stopping)."""
        if self._emptying:
            await asyncio.gather(*self._emptying, return_exceptions=True)

    async def discard(self, runtime_id: str) -> None:
        """Remove every version's unpacked code (the runtime was deleted)."""
        for key in [k for k in self._locks if k[0] == runtime_id]:
            del self._locks[key]
        await asyncio.to_thread(_remove, self.root / runtime_id)

    def _fetch(self, artifact: CodeArtifact) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = self.aws.boto3_client("s3", self.region)
        where = f"s3://{artifact.bucket}/{artifact.prefix}"
        kwargs: dict[str, Any] = {"Bucket": artifact.bucket, "Key": artifact.prefix}
        if artifact.version_id:
            kwargs["VersionId"] = artifact.version_id
        try:
            body = s3.get_object(**kwargs)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ArtifactError(
                f"Code artifact {where} could not be read from S3 ({code}). Upload the zip "
                "first, or fix codeConfiguration.code.s3."
            ) from exc
        except BotoCoreError as exc:
            raise ArtifactError(f"Code artifact {where} could not be read: {exc}") from exc


def _remove(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _extract(
    data: bytes, target: Path, artifact: CodeArtifact, limit: int, previous: Path | None = None
) -> None:
    """Unpack `data` into `target` via `target.partial`, or raise ArtifactError and leave
    nothing. Every odd archive (bad entries, lying sizes, corrupt data) is a reason, not a
    crash.

    An entry whose name, size, CRC-32 and mode equal a file of the `previous` version is
    hard-linked from it instead of decompressed: a redeploy after a one-line change then
    unpacks only what changed. Python replaces `.pyc` files rather than writing into
    them, so versions that share a file never see each other's writes in practice."""
    reusable = _entries(previous)
    where = f"s3://{artifact.bucket}/{artifact.prefix}"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ArtifactError(f"Code artifact {where} is not a zip file. {_REBUILD}") from exc
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        members = _checked_members(archive, where, limit)
        staging.mkdir(parents=True)
        written = 0
        index: dict[str, list[int]] = {}
        made: set[Path] = set()  # one mkdir per folder, not one per file
        for member, relative in members:
            destination = staging / relative
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                made.add(destination)
                continue
            if destination.parent not in made:
                destination.parent.mkdir(parents=True, exist_ok=True)
                made.add(destination.parent)
            mode = (member.external_attr >> 16) & 0o777
            key = [member.CRC, member.file_size, mode]
            index[str(relative)] = key
            if previous is not None and reusable.get(str(relative)) == key:
                try:
                    os.link(previous / relative, destination)
                    written += member.file_size
                    if written > limit:
                        raise ArtifactError(_too_big(where, limit, "unpacks to"))
                    continue
                except OSError:
                    pass  # gone or on another file system: unpack it as usual
            # Count what is really written: a header's declared size can lie.
            with archive.open(member) as source, destination.open("xb") as out:
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise ArtifactError(_too_big(where, limit, "unpacks to"))
                    out.write(chunk)
            if mode & 0o111:
                destination.chmod(mode)
        _check_entry_point(staging, artifact)
        (staging / ENTRIES_FILE).write_text(json.dumps(index))
        (staging / ".unpacked").touch()
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except ArtifactError:
        raise
    except (
        zipfile.BadZipFile,
        OSError,
        RuntimeError,  # an encrypted entry
        NotImplementedError,  # an unsupported compression method
        ValueError,
        EOFError,
        zlib.error,
    ) as exc:
        raise ArtifactError(
            f"Code artifact {where} could not be unpacked: {exc}. {_REBUILD}"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _entries(version_dir: Path | None) -> dict[str, list[int]]:
    """What a version's unpack recorded: relative path -> [CRC-32, size, mode]."""
    if version_dir is None:
        return {}
    try:
        doc = json.loads((version_dir / ENTRIES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _too_big(where: str, limit: int, verb: str) -> str:
    return (
        f"Code artifact {where} {verb} more than {limit / 2**20:g} MB, the limit for "
        "direct code deploy. Leave out what the server does not need (tests, caches, "
        "unused dependencies), or deploy a container image instead."
    )


def _checked_members(
    archive: zipfile.ZipFile, where: str, limit: int
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every entry with its relative path, after refusing what cannot be unpacked as-is."""

    def refuse(member: zipfile.ZipInfo, problem: str) -> ArtifactError:
        return ArtifactError(
            f"Code artifact {where} has an entry {member.filename!r} that {problem}. {_REBUILD}"
        )

    checked: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    files: set[PurePosixPath] = set()
    directories: set[PurePosixPath] = set()
    declared = 0
    for member in archive.infolist():
        name = member.filename
        if "\\" in name:
            raise refuse(member, "uses backslashes (a Windows path)")
        if "\x00" in member.orig_filename:  # zipfile cuts the name there; we refuse it
            raise refuse(member, "has a NUL character in its name")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise refuse(member, "is an absolute path")
        relative = PurePosixPath(name)
        if ".." in relative.parts:
            raise refuse(member, "climbs out of the folder with '..'")
        if not relative.parts or relative == PurePosixPath("."):
            raise refuse(member, "has no name")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise refuse(member, "is a symbolic link; zip the file it points to instead")
        if member.flag_bits & 0x1:
            raise refuse(member, "is encrypted")
        if member.is_dir():
            if member.file_size:
                raise refuse(member, f"is a directory but holds {member.file_size} bytes")
            if relative in files:
                raise refuse(member, "is both a file and a directory")
            directories.add(relative)
        else:
            if relative in files:
                raise refuse(member, "appears twice")
            if relative in directories:
                raise refuse(member, "is both a file and a directory")
            files.add(relative)
            declared += member.file_size
        directories.update(relative.parents)
        checked.append((member, relative))
    if files & directories:
        clash = sorted(files & directories)[0]
        raise ArtifactError(
            f"Code artifact {where} has {str(clash)!r} both as a file and as a folder. {_REBUILD}"
        )
    if declared > limit:
        raise ArtifactError(_too_big(where, limit, f"declares {declared} bytes,"))
    return checked


def _check_entry_point(unpacked: Path, artifact: CodeArtifact) -> None:
    root = unpacked.resolve()
    for item in artifact.entry_point:
        if not (root / item).resolve().is_relative_to(root):
            raise ArtifactError(
                f"entryPoint {item!r} points outside the code artifact. Give a path "
                "relative to the zip's root, such as 'main.py'."
            )
    entry = artifact.entry_point[0]
    if entry.endswith((".py", ".js", ".mjs", ".cjs")) and not (unpacked / entry).is_file():
        raise ArtifactError(
            f"entryPoint {entry!r} is not in the code artifact. The zip must have it "
            "at its root (zip the contents of your project folder, not the folder)."
        )


class LocalArtifactPreparer:
    """Unpack the artifact and start it once, so a broken artifact fails at creation."""

    def __init__(
        self,
        store: ArtifactStore,
        start_probe: Callable[..., Any],
        keep_probe: Callable[[str, str, Instance], bool] | None = None,
    ) -> None:
        self.store = store
        self._start_probe = start_probe
        # True: the probe's instance was kept (a warm spare, `spares.py`), not stopped
        self._keep_probe = keep_probe

    async def prepare(self, runtime_id: str, version: str, config: RuntimeVersionConfig) -> None:
        artifact = config.artifact
        if (
            isinstance(artifact, ContainerArtifact)
            and await asyncio.to_thread(container_engine) is None
        ):
            raise ArtifactError(
                "No container engine (docker or podman) is available to the local "
                "AgentCore, so container artifacts cannot run here. Deploy a code zip "
                "(codeConfiguration) instead, or start Docker and retry."
            )
        try:
            if isinstance(artifact, CodeArtifact):
                await self.store.unpack(runtime_id, version, artifact)
            instance: Instance = await self._start_probe(runtime_id, version, config)
        except StartupTimeout as exc:
            await self.store.discard_version(runtime_id, version)
            raise ArtifactError(
                f"The runtime did not start listening within the startup limit: {exc}"
            ) from exc
        except StartupCrashed as exc:
            await self.store.discard_version(runtime_id, version)
            tail = f" Last output:\n{exc.log_tail}" if exc.log_tail else ""
            raise ArtifactError(f"The runtime failed to start: {exc}.{tail}") from exc
        except BaseException:
            # A failed (or cancelled) version never runs: its unpacked code goes too.
            await asyncio.shield(self.store.discard_version(runtime_id, version))
            raise
        if self._keep_probe is None or not self._keep_probe(runtime_id, version, instance):
            await instance.stop()

    async def discard(self, runtime_id: str) -> None:
        """The runtime was deleted: its unpacked code goes."""
        await self.store.discard(runtime_id)
