"""Node peers against the local AgentCore: MCP Inspector's CLI four ways (proxy --stdio and
--port, each with SigV4 and OAuth), the TypeScript examples (SigV4 with the AWS SDK for
JavaScript's signer, Cognito bearer), and the official TypeScript SDK through the proxy.

Node 22, Inspector and the SDK come from the committed package.json / package-lock.json
(tests/proxy/node and examples/typescript); `npm ci` runs when node_modules is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentcore_mcp.auth import get_user_token
from tests.client._runtimes import PASSWORD, Deployed
from tests.proxy.test_proxy_http import port_proxy
from tests.proxy.test_proxy_stdio import oauth_args
from tests.support.local import CREDS
from tests.support.procs import REPO

pytestmark = pytest.mark.slow

EXAMPLES = REPO / "examples" / "typescript"
INSPECTOR_DIR = Path(__file__).resolve().parent / "node"
INSPECTOR = (
    INSPECTOR_DIR / "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
)
PROXY = [sys.executable, "-m", "agentcore_mcp", "proxy"]


def npm_ci(where: Path, marker: Path) -> Path:
    """Install the pinned packages once; the Node 22 binary they bring."""
    node = where / "node_modules/node/bin/node"
    if node.is_file() and marker.is_file():
        return node
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is not on PATH: the node peers are installed with `npm ci` in {where}")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=where, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    if done.returncode != 0 and "in sync" in done.stderr:
        # Inspector's tree names an optional, Windows-only package (vite ->
        # napi-windows-process-start-time) that the registry does not always serve; `npm ci`
        # then calls the lock out of sync, while `npm install` installs the locked tree and
        # skips the missing optional. It may add that optional's entry to the lock when the
        # registry serves it: the lock is put back as it was, since a test never changes the
        # clone it runs in.
        lock = where / "package-lock.json"
        locked = lock.read_bytes()
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund"], cwd=where, capture_output=True,
                text=True, timeout=600,
            )  # fmt: skip
        finally:
            if lock.read_bytes() != locked:
                lock.write_bytes(locked)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert node.is_file() and marker.is_file(), f"npm ci in {where} installed no Node 22"
    return node


@pytest.fixture(scope="module")
def node() -> Path:
    return npm_ci(EXAMPLES, EXAMPLES / "node_modules/tsx/dist/cli.mjs")


@pytest.fixture(scope="module")
def inspector_node() -> Path:
    return npm_ci(INSPECTOR_DIR, INSPECTOR)


def run_node(node: Path, argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, object]:
    out = subprocess.run(
        [str(node), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, (
        f"{argv}\nstdout: {out.stdout[-3000:]}\nstderr: {out.stderr[-3000:]}"
    )
    try:  # Inspector prints one (indented) document; the examples print one line last
        doc: dict[str, object] = json.loads(out.stdout)
    except ValueError:
        doc = json.loads(out.stdout.strip().splitlines()[-1])
    return doc


def tsx(node: Path, script: str, *args: str, env: dict[str, str]) -> dict[str, object]:
    return run_node(
        node, [str(EXAMPLES / "node_modules/tsx/dist/cli.mjs"), script, *args], env, EXAMPLES
    )


EXPECTED = {"echo": "hello from TypeScript", "long": "ok"}


def check(doc: dict[str, object]) -> None:
    assert "echo" in doc["tools"]  # type: ignore[operator]
    assert {k: doc[k] for k in EXPECTED} == EXPECTED, doc
    # Progress passed through before the result. The TypeScript SDK runs notification
    # handlers a microtask later but handles a response at once (shared/protocol.js
    # `_onnotification` vs `_onresponse`), so when the last progress and the result arrive
    # in one read (stdio under load) it drops that progress itself: [1] is then all it
    # reports. The Python tests check the exact order on the wire (test_proxy_stdio.py).
    assert doc["progress"] in ([1], [1, 2]), doc


def test_typescript_examples_sigv4_and_bearer(deployed: Deployed, node: Path) -> None:
    env = deployed.env()
    check(tsx(node, "client.ts", "--arn", deployed.sigv4_arn, env=env))
    idp = deployed.local.client("cognito-idp")
    token = get_user_token(idp, deployed.client_id, "alice", PASSWORD).access_token
    check(tsx(node, "client-oauth.ts", "--arn", deployed.oauth_arn,
              env={**env, "AGENTCORE_BEARER_TOKEN": token}))  # fmt: skip
    debug = subprocess.run(
        [str(node), "node_modules/tsx/dist/cli.mjs", "client.ts", "--arn", deployed.sigv4_arn,
         "--debug"], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert "authorization: AWS4-HMAC-SHA256 <redacted>" in debug.stderr, debug.stderr[-2000:]
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in debug.stderr


def test_typescript_sdk_through_the_proxy(deployed: Deployed, node: Path, tmp_path: Path) -> None:
    env = deployed.env()
    check(tsx(node, "proxy-client.ts", "--stdio", *PROXY, "--stdio", *oauth_args(deployed),
              env=env))  # fmt: skip
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn) as proxy:
        check(tsx(node, "proxy-client.ts", "--url", f"{proxy.base_url}/mcp", env=env))


def inspector(
    node: Path, target: list[str], *method: str, env: dict[str, str]
) -> dict[str, object]:
    return run_node(node, [str(INSPECTOR), "--cli", *target, *method], env, INSPECTOR_DIR)


LIST = ("--method", "tools/list")
CALL = ("--method", "tools/call", "--tool-name", "echo", "--tool-arg", "text=inspected")


def test_inspector_cli_four_ways(deployed: Deployed, inspector_node: Path, tmp_path: Path) -> None:
    env = deployed.env()
    # Inspector gives a stdio server only a default environment (HOME, PATH...): pass the
    # AWS settings explicitly (a real user's ~/.aws profile would be found through HOME),
    # and PYTHONPATH, so a run against another tree's sources tests that tree's proxy.
    passed = [k for k in sorted(env) if k.startswith("AWS_") or k == "PYTHONPATH"]
    server_env = [x for k in passed for x in ("-e", f"{k}={env[k]}")]
    for auth in (("--arn", deployed.sigv4_arn), oauth_args(deployed)):
        # `--` ends Inspector's own options: it has a --client-id of its own.
        stdio = ["--", *PROXY, "--stdio", *auth]
        tools = inspector(inspector_node, [*server_env, *LIST, *stdio], env=env)
        assert "echo" in json.dumps(tools)
        called = inspector(inspector_node, [*server_env, *CALL, *stdio], env=env)
        assert "inspected" in json.dumps(called)
        with port_proxy(deployed, tmp_path, *auth) as proxy:
            url = [f"{proxy.base_url}/mcp", "--transport", "http"]
            assert "echo" in json.dumps(inspector(inspector_node, url, *LIST, env=env))
            assert "inspected" in json.dumps(inspector(inspector_node, url, *CALL, env=env))


def test_inspector_cli_with_the_caller_token(
    deployed: Deployed, inspector_node: Path, tmp_path: Path
) -> None:
    """`proxy --port` with AGENTCORE_PROXY_TOKEN: Inspector connects by URL plus its
    `--header`; without the header it is refused."""
    token = "inspector-caller-token-0123456789"
    env = deployed.env()
    proxy_env = deployed.env(AGENTCORE_PROXY_TOKEN=token)
    with port_proxy(deployed, tmp_path, "--arn", deployed.sigv4_arn, env=proxy_env) as proxy:
        url = [f"{proxy.base_url}/mcp", "--transport", "http"]
        header = ["--header", f"Authorization: Bearer {token}"]
        called = inspector(inspector_node, [*url, *header], *CALL, env=env)
        assert "inspected" in json.dumps(called)
        refused = subprocess.run(
            [str(inspector_node), str(INSPECTOR), "--cli", *url, *LIST],
            cwd=INSPECTOR_DIR, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert refused.returncode != 0, refused.stdout
        assert "echo" not in refused.stdout
