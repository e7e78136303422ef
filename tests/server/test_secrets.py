"""`NAME_SECRET_ID` -> `NAME` at server start: a real server process (the container entry,
`python -m agentcore_mcp.server`, and `agentcore-mcp serve`), moto's Secrets Manager as a
real process, the official `mcp` client. Nothing of ours is mocked.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import TextContent

from agentcore_mcp.server.secrets import secret_variables
from tests.support.moto import MotoServer, run_moto
from tests.support.procs import RunningProcess, free_port, run_process, run_to_exit

RAW_VALUE = "raw-secret-value-0123456789"
JSON_VALUE = "json-field-value-9876543210"
# The server records at import what it saw: the test proves NAME was there before it loaded.
APP = textwrap.dedent(
    """
    import os
    import sys

    from mcp.server.mcpserver import MCPServer

    AT_IMPORT = {n: os.environ.get(n) for n in ("ALPHA", "BETA", "GAMMA")}
    mcp = MCPServer("secrets-app")


    @mcp.tool()
    def seen(name: str) -> str:
        return str(AT_IMPORT.get(name, os.environ.get(name)))


    @mcp.tool()
    def botocore_loaded() -> str:
        return str("botocore" in sys.modules)
    """
)
# Settings of the developer's shell that would change what the server does.
_LEAKY_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_SECRETS_MANAGER")


@pytest.fixture(scope="module", autouse=True)
def _clean_environ() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in _LEAKY_ENV:
            mp.delenv(name, raising=False)
        for name in list(os.environ):
            if name.endswith("_SECRET_ID") or name in ("ALPHA", "BETA", "GAMMA"):
                mp.delenv(name)
        yield


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto(tmp_path_factory.mktemp("moto")) as running:
        sm = running.secretsmanager()
        sm.create_secret(Name="tests/raw", SecretString=f"  {RAW_VALUE}\n")
        sm.create_secret(Name="tests/json", SecretString=json.dumps({"BETA": JSON_VALUE}))
        sm.create_secret(Name="tests/json-other", SecretString='{"other": "x-not-this"}')
        sm.create_secret(Name="tests/blank", SecretString="   ")
        yield running


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets-app")
    (path / "secrets_app.py").write_text(APP)
    return path


def server_env(app_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join([str(app_dir), os.environ.get("PYTHONPATH", "")]),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **extra,
    }


@contextmanager
def container_server(
    app_dir: Path, tmp_path: Path, env: Mapping[str, str]
) -> Iterator[RunningProcess]:
    """`python -m agentcore_mcp.server secrets_app:mcp`, configured by env as on AgentCore."""
    port = free_port()
    argv = [sys.executable, "-m", "agentcore_mcp.server", "secrets_app:mcp"]
    full = {**server_env(app_dir, port), **env}
    with run_process(argv, port=port, tmp_path=tmp_path, env=full, name="server") as s:
        yield s


def call(server: RunningProcess, tool: str, **arguments: Any) -> str:
    async def go() -> str:
        async with Client(f"{server.base_url}/mcp", read_timeout_seconds=30) as client:
            result = await client.call_tool(tool, arguments)
        assert not result.is_error
        return "".join(c.text for c in result.content if isinstance(c, TextContent))

    return anyio.run(go)


# --- resolved -----------------------------------------------------------------------------


def test_secrets_fill_their_variables_before_the_server_loads(
    moto: MotoServer, app_dir: Path, tmp_path: Path
) -> None:
    env = {
        **moto.env(),
        "ALPHA_SECRET_ID": "tests/raw",
        "BETA_SECRET_ID": "tests/json",
        "LOG_LEVEL": "debug",  # botocore's debug logs print bodies: the value must not follow
    }
    with container_server(app_dir, tmp_path, env) as s:
        # Read before any tool answers with a value: what the start itself logged.
        log = s.log()
        assert call(s, "seen", name="ALPHA") == RAW_VALUE
        assert call(s, "seen", name="BETA") == JSON_VALUE
        assert call(s, "botocore_loaded") == "True"

    assert "ALPHA read from Secrets Manager" in log  # the debug log says what happened...
    assert "listening on" in log
    assert RAW_VALUE not in log and JSON_VALUE not in log  # ...and never the value


def test_region_comes_from_the_arn_when_the_environment_has_none(
    moto: MotoServer, app_dir: Path, tmp_path: Path
) -> None:
    arn = moto.secretsmanager().describe_secret(SecretId="tests/raw")["ARN"]
    env = {**moto.env(), "GAMMA_SECRET_ID": arn, "AWS_REGION": "", "AWS_DEFAULT_REGION": ""}
    with container_server(app_dir, tmp_path, env) as s:
        assert call(s, "seen", name="GAMMA") == RAW_VALUE


def test_a_value_already_set_wins_and_the_secret_is_not_read(
    moto: MotoServer, app_dir: Path, tmp_path: Path
) -> None:
    # The secret does not exist: reading it would fail the start.
    env = {**moto.env(), "ALPHA": "set-by-hand", "ALPHA_SECRET_ID": "tests/no-such-secret"}
    with container_server(app_dir, tmp_path, env) as s:
        assert call(s, "seen", name="ALPHA") == "set-by-hand"


def test_without_secret_ids_botocore_is_never_imported(app_dir: Path, tmp_path: Path) -> None:
    env = {"ALPHA_SECRET_ID": "", "ALPHA": "plain"}  # an empty id is no secret
    with container_server(app_dir, tmp_path, env) as s:
        assert call(s, "seen", name="ALPHA") == "plain"
        assert call(s, "botocore_loaded") == "False"


# --- failures: one line, exit 6, never listening ------------------------------------------

BOTOCORE_ABSENT = (
    # The base install has no botocore; this process is made to see the same.
    "import sys; sys.modules['botocore'] = None; "
    "from agentcore_mcp.server.__main__ import main; sys.exit(main(['secrets_app:mcp']))"
)


@pytest.mark.parametrize(
    ("secret_id", "extra_env", "fragments"),
    [
        ("tests/no-such-secret", {}, ("ResourceNotFoundException", "tests/no-such-secret")),
        ("tests/blank", {}, ("holds no value for ALPHA", '{"ALPHA": "..."}')),
        ("tests/json-other", {}, ("holds no value for ALPHA",)),
        ("tests/raw", {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, ("AWS_REGION",)),
        ("tests/raw", {"AWS_ENDPOINT_URL": "http://127.0.0.1:{closed}"}, ("Secrets Manager",)),
    ],
    ids=["no-such-secret", "blank", "json-without-the-field", "no-region", "unreachable"],
)
def test_a_secret_that_cannot_be_read_stops_the_start(
    moto: MotoServer,
    app_dir: Path,
    secret_id: str,
    extra_env: dict[str, str],
    fragments: tuple[str, ...],
) -> None:
    port = free_port()
    extra = {k: v.format(closed=free_port()) for k, v in extra_env.items()}
    env = {**server_env(app_dir, port), **moto.env(), "ALPHA_SECRET_ID": secret_id, **extra}
    argv = [sys.executable, "-m", "agentcore_mcp.server", "secrets_app:mcp"]

    status, output = run_to_exit(argv, env)

    assert status == 6, output
    assert output.count("\n") == 1 and output.startswith("error: "), output
    assert "ALPHA_SECRET_ID" in output, output
    for fragment in fragments:
        assert fragment in output, output
    assert "x-not-this" not in output  # the secret's content is not quoted back


def test_without_the_secrets_extra_the_start_names_it(app_dir: Path) -> None:
    env = {**server_env(app_dir, free_port()), "ALPHA_SECRET_ID": "tests/raw"}

    status, output = run_to_exit([sys.executable, "-c", BOTOCORE_ABSENT], env)

    assert status == 6, output
    assert output.count("\n") == 1, output
    assert "pip install 'agentcore-mcp[secrets]'" in output, output
    assert "ALPHA_SECRET_ID" in output, output


def test_the_cli_serve_stops_the_same_way(moto: MotoServer, app_dir: Path) -> None:
    port = free_port()
    env = {**server_env(app_dir, port), **moto.env(), "ALPHA_SECRET_ID": "tests/no-such-secret"}
    argv = [sys.executable, "-m", "agentcore_mcp", "serve", "secrets_app:mcp"]

    status, output = run_to_exit(argv, env)

    assert status == 6, output
    assert "ResourceNotFoundException" in output and "Traceback" not in output, output


# --- which variables count ----------------------------------------------------------------


def test_only_non_empty_name_secret_id_variables_count() -> None:
    env = {
        "OPENAI_API_KEY_SECRET_ID": " prod/openai ",
        "EMPTY_SECRET_ID": "  ",
        "_SECRET_ID": "no-name",
        "SECRET_ID": "no-name-either",
        "DB_PASSWORD_SECRET_IDX": "not-a-suffix",
        "lower_secret_id": "suffix-is-upper-case",
    }
    assert secret_variables(env) == {"OPENAI_API_KEY": "prod/openai"}
