"""Runtime artifacts: code zips from the embedded S3, unpacked once per version.

`LocalArtifactPreparer` is what the control plane runs while a runtime is CREATING or
UPDATING. It fails the way the service does, with a `failureReason`, for an artifact
that cannot run: a missing S3 object, a file that is not a zip, a missing entry point,
a container with no engine to run it, or a program that exits or never listens.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcore_mcp.local.control.models import (
    ArtifactError,
    CodeArtifact,
    ContainerArtifact,
    RuntimeVersionConfig,
)
from agentcore_mcp.local.instances import (
    Instance,
    StartupCrashed,
    StartupTimeout,
    container_engine,
)

if TYPE_CHECKING:
    from agentcore_mcp.local.aws import EmbeddedAws


class ArtifactStore:
    """Unpacked code artifacts under `root/{runtime_id}/{version}`."""

    def __init__(self, aws: EmbeddedAws, root: Path, region: str) -> None:
        self.aws = aws
        self.root = root
        self.region = region
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def path_for(self, runtime_id: str, version: str) -> Path:
        return self.root / runtime_id / version

    async def unpack(self, runtime_id: str, version: str, artifact: CodeArtifact) -> Path:
        lock = self._locks.setdefault((runtime_id, version), asyncio.Lock())
        async with lock:
            target = self.path_for(runtime_id, version)
            if (target / ".unpacked").exists():
                return target
            data = await asyncio.to_thread(self._fetch, artifact)
            await asyncio.to_thread(self._extract, data, target, artifact)
            return target

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

    @staticmethod
    def _extract(data: bytes, target: Path, artifact: CodeArtifact) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise ArtifactError(
                f"Code artifact s3://{artifact.bucket}/{artifact.prefix} is not a zip file."
            ) from exc
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        root = staging.resolve()
        for member in archive.infolist():
            destination = (staging / member.filename).resolve()
            if not destination.is_relative_to(root):
                raise ArtifactError(f"Code artifact has an unsafe path: {member.filename!r}")
        archive.extractall(staging)
        for member in archive.infolist():
            mode = (member.external_attr >> 16) & 0o777
            if mode & 0o111:
                (staging / member.filename).chmod(mode)
        entry = artifact.entry_point[0]
        if entry.endswith((".py", ".js", ".mjs", ".cjs")) and not (staging / entry).is_file():
            raise ArtifactError(
                f"entryPoint {entry!r} is not in the code artifact. The zip must have it "
                "at its root (zip the contents of your project folder, not the folder)."
            )
        (staging / ".unpacked").touch()
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)


class LocalArtifactPreparer:
    """Unpack the artifact and start it once, so a broken artifact fails at creation."""

    def __init__(self, store: ArtifactStore, start_probe: Callable[..., Any]) -> None:
        self.store = store
        self._start_probe = start_probe

    async def prepare(self, runtime_id: str, version: str, config: RuntimeVersionConfig) -> None:
        artifact = config.artifact
        if isinstance(artifact, ContainerArtifact):
            if await asyncio.to_thread(container_engine) is None:
                raise ArtifactError(
                    "No container engine (docker or podman) is available to the local "
                    "AgentCore, so container artifacts cannot run here. Deploy a code zip "
                    "(codeConfiguration) instead, or start Docker and retry."
                )
        else:
            await self.store.unpack(runtime_id, version, artifact)
        try:
            instance: Instance = await self._start_probe(runtime_id, version, config)
        except StartupTimeout as exc:
            raise ArtifactError(
                f"The runtime did not start listening within the startup limit: {exc}"
            ) from exc
        except StartupCrashed as exc:
            tail = f" Last output:\n{exc.log_tail}" if exc.log_tail else ""
            raise ArtifactError(f"The runtime failed to start: {exc}.{tail}") from exc
        await instance.stop()
