"""Run ControlPlaneApp for real: uvicorn on 127.0.0.1 in a thread, moto for IAM and S3.

`S3CheckingPreparer` is a small, real ArtifactPreparer: a code artifact must exist in
moto's S3 (HEAD object), otherwise preparation fails with a failureReason. A runtime's
environment variable `LOCAL_TEST_PREPARE_SECONDS` makes its preparation that slow, so
tests can watch CREATING/UPDATING without mocks.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from agentcore_mcp.local.control import (
    ArtifactError,
    CodeArtifact,
    ControlPlaneApp,
    RuntimeRegistry,
    RuntimeVersionConfig,
    check_runtime_role,
)
from tests.support.moto import ACCOUNT_ID, MotoServer
from tests.support.procs import free_port

PREPARE_DELAY_VAR = "LOCAL_TEST_PREPARE_SECONDS"
DEFAULT_PREPARE_SECONDS = 0.2


class S3CheckingPreparer:
    def __init__(self, moto: MotoServer) -> None:
        self.moto = moto

    async def prepare(self, runtime_id: str, version: str, config: RuntimeVersionConfig) -> None:
        delay = float(config.environment.get(PREPARE_DELAY_VAR, DEFAULT_PREPARE_SECONDS))
        await asyncio.sleep(delay)
        if isinstance(config.artifact, CodeArtifact):
            await asyncio.to_thread(self._head, config.artifact)

    def _head(self, artifact: CodeArtifact) -> None:
        kwargs: dict[str, Any] = {"Bucket": artifact.bucket, "Key": artifact.prefix}
        if artifact.version_id:
            kwargs["VersionId"] = artifact.version_id
        try:
            self.moto.client("s3").head_object(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ArtifactError(
                f"Code artifact s3://{artifact.bucket}/{artifact.prefix} could not be read "
                f"from S3 ({code})."
            ) from exc


@dataclass
class ControlPlaneServer:
    registry: RuntimeRegistry
    app: ControlPlaneApp
    port: int
    region: str
    deleted: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """An unmodified boto3 bedrock-agentcore-control client aimed at this server."""
        return boto3.client(
            "bedrock-agentcore-control",
            endpoint_url=self.base_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 2}),
        )


@contextmanager
def serve_control_plane(
    moto: MotoServer, persist_dir: Path | None = None
) -> Iterator[ControlPlaneServer]:
    registry = RuntimeRegistry(region=moto.region, account_id=ACCOUNT_ID, persist_dir=persist_dir)
    deleted: list[str] = []

    async def on_runtime_deleted(runtime_id: str) -> None:
        deleted.append(runtime_id)

    app = ControlPlaneApp(
        registry,
        role_checker=functools.partial(check_runtime_role, lambda: moto.client("iam")),
        preparer=S3CheckingPreparer(moto),
        on_runtime_deleted=on_runtime_deleted,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"control-plane-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the control plane server did not start")
        time.sleep(0.02)
    try:
        yield ControlPlaneServer(registry, app, port, moto.region, deleted)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
