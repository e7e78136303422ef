"""The container artifact: a linux/arm64 image built with Docker buildx and pushed to ECR."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agentcore_mcp.deploy.artifact.inputs import Progress
from agentcore_mcp.deploy.errors import BuildError


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
