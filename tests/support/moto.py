"""moto's AWS server as a real process on 127.0.0.1, for tests that need real AWS clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

from tests.support.procs import RunningProcess, free_port, run_process

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass
class MotoServer:
    process: RunningProcess
    region: str = REGION

    @property
    def endpoint_url(self) -> str:
        return self.process.base_url

    def env(self) -> dict[str, str]:
        """Environment for a child process whose AWS SDK calls must all go to this moto.

        Dummy credentials, a fixed region, and config/credentials files that do not exist,
        so nothing from the developer's own AWS setup leaks in.
        """
        missing = str(Path(self.process.log_path).parent / "no-such-aws-file")
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_CONFIG_FILE": missing,
            "AWS_SHARED_CREDENTIALS_FILE": missing,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for `service` talking to this moto with dummy credentials."""
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            **kwargs,
        )

    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self.client("secretsmanager")
        return client

    def reset(self) -> None:
        """Drop every resource moto holds (moto's own reset API)."""
        httpx2.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


@contextmanager
def run_moto(tmp_path: Path, *, region: str = REGION) -> Iterator[MotoServer]:
    """`python -m moto.server` on a free loopback port; stopped on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with run_process(argv, port=port, tmp_path=tmp_path, name="moto") as process:
        yield MotoServer(process, region)
