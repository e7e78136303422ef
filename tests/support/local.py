"""Start the local AgentCore as a real process and set up what a runtime needs in it."""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from agentcore_mcp.auth import SigV4Httpx2Auth
from tests.support.procs import RunningProcess, free_port, run_process

REGION = "us-east-1"
ACCOUNT = "123456789012"
# The local AgentCore accepts the credentials of whoever started it; tests use these.
CREDS = {
    "AWS_ACCESS_KEY_ID": "AKIALOCALTESTKEY0001",
    "AWS_SECRET_ACCESS_KEY": "local-test-secret-0001",
}

# Raw-HTTP calls to the data plane: signed with the credentials above, with the headers
# an MCP client sends.
SIGV4_AUTH = SigV4Httpx2Auth(
    Credentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"]), region=REGION
)
MCP_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}
PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()

SAMPLE_MAIN = """\
from agentcore_mcp.server import serve
from agentcore_mcp.server.sample import build_sample_server

serve(build_sample_server())
"""

# The end of a runtime's `main.py` that is a plain HTTP server: every POST gets an empty
# JSON-RPC result for its id. A test puts what its instance does first (wait for a gate,
# burn CPU, start a child) before it.
ANSWERING_SERVER = """\
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": {}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""

# A runtime that answers any POST with an SSE stream it never ends, and writes the next
# ASGI message it receives (`http.disconnect` when its caller leaves) to the file $MARK.
LEAVES_MID_STREAM_MAIN = """
import os, pathlib, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    event = (b'event: message\\ndata: {"jsonrpc":"2.0","method":"notifications/message",'
             b'"params":{"level":"info","data":"started"}}\\n\\n')
    await send({"type": "http.response.body", "more_body": True, "body": event})
    message = await receive()  # uvicorn says http.disconnect when the caller leaves
    pathlib.Path(os.environ["MARK"]).write_text(message["type"])

uvicorn.run(app, host=os.environ["HOST"], port=int(os.environ["PORT"]), log_level="warning")
"""

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:*"},
            },
        }
    ],
}


def kit_files() -> dict[str, str]:
    """This checkout's `agentcore_mcp` sources as zip entries, as the deployer bundles them.

    A zip that carries its own copy is immune to edits of the working tree while a test
    runs: a startup manifest's fingerprint covers these sources.
    """
    import agentcore_mcp

    root = Path(agentcore_mcp.__file__).parent
    return {
        f"agentcore_mcp/{path.relative_to(root).as_posix()}": path.read_text()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def with_startup_manifest(files: Mapping[str, str], stage: Path) -> dict[str, str]:
    """`files` plus `.agentcore-mcp/manifest.json` for the sample server, recorded (in a
    child process, as the deployer does) from exactly these files."""
    import subprocess

    for name, text in files.items():
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from agentcore_mcp.server.manifest import write_manifest; "
            "write_manifest(None, '.agentcore-mcp/manifest.json')",
        ],
        cwd=stage,
        check=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ""},
    )
    return {
        **files,
        ".agentcore-mcp/manifest.json": (stage / ".agentcore-mcp/manifest.json").read_text(),
    }


def code_zip(files: Mapping[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


@dataclass
class LocalAgentCoreHandle:
    # None when started by `local start -d` (tests/support/local_cli.py)
    process: RunningProcess | None
    home: Path
    url: str
    role_arn: str = ""
    bucket: str = "agentcore-code"
    _counter: int = field(default=0)

    def client(self, service: str, **kwargs: Any) -> Any:
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}, read_timeout=120),
            **kwargs,
        )

    def invocation_url(self, arn: str, qualifier: str | None = None) -> str:
        """The data plane's URL for `arn` (escaped whole, as boto3 sends it)."""
        from urllib.parse import quote

        query = f"?qualifier={qualifier}" if qualifier else ""
        return f"{self.url}/runtimes/{quote(arn, safe='')}/invocations{query}"

    def upload(self, files: Mapping[str, str], key: str | None = None) -> str:
        self._counter += 1
        key = key or f"code/{self._counter}-{time.time_ns()}.zip"
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=code_zip(files))
        return key

    def create_runtime(
        self,
        name: str,
        files: Mapping[str, str] | None = None,
        *,
        wait: bool = True,
        entry_point: tuple[str, ...] = ("main.py",),
        **extra: Any,
    ) -> dict[str, Any]:
        key = self.upload(files or {"main.py": SAMPLE_MAIN})
        control = self.client("bedrock-agentcore-control")
        created: dict[str, Any] = control.create_agent_runtime(
            agentRuntimeName=name,
            agentRuntimeArtifact={
                "codeConfiguration": {
                    "code": {"s3": {"bucket": self.bucket, "prefix": key}},
                    "runtime": "PYTHON_3_11",
                    "entryPoint": list(entry_point),
                }
            },
            roleArn=self.role_arn,
            networkConfiguration={"networkMode": "PUBLIC"},
            protocolConfiguration={"serverProtocol": "MCP"},
            **extra,
        )
        if wait:
            return self.wait_status(created["agentRuntimeId"])
        return created

    def wait_status(self, runtime_id: str, timeout: float = 60) -> dict[str, Any]:
        control = self.client("bedrock-agentcore-control")
        deadline = time.monotonic() + timeout
        while True:
            got: dict[str, Any] = control.get_agent_runtime(agentRuntimeId=runtime_id)
            if not got["status"].endswith("ING") or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def provision(self, role_name: str = "AgentCoreRuntimeRole") -> None:
        """What a runtime needs in the embedded AWS: an execution role and the code bucket."""
        role = self.client("iam").create_role(
            RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
        )
        self.role_arn = role["Role"]["Arn"]
        self.client("s3").create_bucket(Bucket=self.bucket)

    def admin_headers(self) -> dict[str, str]:
        """The per-start admin token the local AgentCore wrote to its home (0600)."""
        from agentcore_mcp.local.credentials import read_local_credentials

        creds = read_local_credentials(self.home)
        assert creds is not None, f"no credentials.json in {self.home}"
        return {"authorization": f"Bearer {creds.admin_token}"}

    def status(self) -> dict[str, Any]:
        import httpx2

        response = httpx2.get(f"{self.url}/_local/status", headers=self.admin_headers(), timeout=10)
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc

    def log(self, runtime_id: str) -> str:
        path = self.home / "logs" / f"{runtime_id}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def run_local_agentcore(
    tmp_path: Path,
    *,
    extra_args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    host_path: bool = True,
) -> Iterator[LocalAgentCoreHandle]:
    """`host_path`: code-zip instances also see this environment's packages, for the
    hand-made zips (`main.py` and the kit's sources) most tests upload; deploy tests pass
    False, so an instance sees its zip and the standard library only, as on AWS."""
    port = free_port()
    home = tmp_path / "home"
    # Tests fire calls far faster than the service's 25/s per endpoint; those about
    # throttling pass their own --rate-limit.
    if "--rate-limit" not in extra_args:
        extra_args = ("--rate-limit", "0", *extra_args)
    argv = [
        sys.executable,
        "-m",
        "agentcore_mcp",
        "local",
        "start",
        "--port",
        str(port),
        "--home",
        str(home),
        *extra_args,
    ]
    full_env = {**CREDS, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": "", **(env or {})}
    full_env["AGENTCORE_MCP_LOCAL_INSTANCE_HOST_PATH"] = "1" if host_path else ""
    full_env.pop("AWS_ENDPOINT_URL")
    with run_process(
        argv, port=port, tmp_path=tmp_path, env=full_env, name="local", ready_timeout=60
    ) as proc:
        handle = LocalAgentCoreHandle(process=proc, home=home, url=f"http://127.0.0.1:{port}")
        handle.provision()
        yield handle


def local_agentcore_fixture(folder: str, *flags: str, env: Mapping[str, str] | None = None) -> Any:
    """A module-scoped fixture: one local AgentCore for the module's tests, started with
    `flags` (`local start`'s options) and `env`, its home in a fresh `folder`."""

    @pytest.fixture(scope="module")
    def local_agentcore(
        tmp_path_factory: pytest.TempPathFactory,
    ) -> Iterator[LocalAgentCoreHandle]:
        with run_local_agentcore(
            tmp_path_factory.mktemp(folder), extra_args=flags, env=env
        ) as handle:
            yield handle

    return local_agentcore
