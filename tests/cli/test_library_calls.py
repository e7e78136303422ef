"""What `local status`, `local env`, `local logs` and the runtime lookup of `tools --remote`
/ `test-auth` / `proxy` / `connect` run, called from Python: the README's "every command
is a library call" holds for them. One real local AgentCore (a process on loopback) is
shared by the module; state files and homes are the tests' own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from agentcore_mcp.client import RuntimeTargetError, RuntimeTargetUsageError
from agentcore_mcp.deploy.lookup import RuntimeQuery, find_runtime, runtime_session
from agentcore_mcp.deploy.state import DeploymentRecord, DeploymentState, RuntimeRecord, save_state
from agentcore_mcp.local.credentials import (
    new_local_credentials,
    read_local_credentials,
    write_local_credentials,
)
from agentcore_mcp.local.home import default_home
from agentcore_mcp.local.running import (
    LocalAdminRefusedError,
    LocalLogError,
    LocalNotRunningError,
    NotARuntimeIdError,
    local_env,
    local_log_path,
    local_status,
    read_log,
)
from agentcore_mcp.local.service import LocalSettings
from tests.support.local import REGION, LocalAgentCoreHandle, run_local_agentcore

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    with run_local_agentcore(tmp_path_factory.mktemp("local")) as handle:
        yield handle


def test_local_status_lists_a_runtime_it_serves(local: LocalAgentCoreHandle) -> None:
    created = local.create_runtime("status_probe")
    status = local_status(local.home, url=local.url)
    assert status.url == local.url and status.region == REGION
    ids = {r.runtime_id: r for r in status.runtimes}
    assert created["agentRuntimeId"] in ids
    assert ids[created["agentRuntimeId"]].status == created["status"]
    assert status.document["runtimes"]  # the answer as sent, for --json


def test_local_status_refuses_to_send_the_token_to_another_home(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    # Another home's credentials name the same URL: that process cannot prove it holds
    # them, so nothing is sent and the caller is told what listens there.
    other = tmp_path / "other-home"
    write_local_credentials(other, new_local_credentials(local.url, REGION, ACCOUNT))
    with pytest.raises(LocalNotRunningError, match="not the local AgentCore") as refused:
        local_status(other, url=local.url)
    assert refused.value.exit_code == 4


def test_local_status_without_a_token_is_refused_by_the_local_agentcore(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    # A home with no credentials.json sends no token: the admin path answers 401.
    with pytest.raises(LocalAdminRefusedError, match="refused the admin token") as refused:
        local_status(tmp_path / "empty-home", url=local.url)
    assert refused.value.exit_code == 5


def test_local_status_with_nothing_running(tmp_path: Path) -> None:
    with pytest.raises(LocalNotRunningError, match="no pid file"):
        local_status(tmp_path / "home")


def test_local_env_is_the_running_ones_own_key(local: LocalAgentCoreHandle) -> None:
    env = local_env(local.home)
    creds = read_local_credentials(local.home)
    assert creds is not None
    assert env.variables["AWS_ENDPOINT_URL"] == local.url
    assert env.variables["AWS_ACCESS_KEY_ID"] == creds.access_key_id
    # The key works: the local AgentCore's STS answers a call signed with it.
    sts = boto3.client(
        "sts",
        endpoint_url=env.variables["AWS_ENDPOINT_URL"],
        region_name=env.variables["AWS_REGION"],
        aws_access_key_id=env.variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env.variables["AWS_SECRET_ACCESS_KEY"],
    )
    assert sts.get_caller_identity()["Account"] == ACCOUNT
    assert env.exports()[-1] == "unset AWS_SESSION_TOKEN AWS_PROFILE"
    # The secret is never in the dataclass's repr (logs, tracebacks).
    assert creds.secret_access_key not in repr(env)


def test_local_env_with_nothing_running(tmp_path: Path) -> None:
    with pytest.raises(LocalNotRunningError, match="local start -d") as refused:
        local_env(tmp_path / "home")
    assert refused.value.exit_code == 4


def test_read_log_yields_what_the_file_holds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "mcp_server-AbCdEf1234.log").write_text("one\ntwo\n")
    (home / "local.log").write_text("own\n")
    assert list(read_log("mcp_server-AbCdEf1234", home)) == ["one\n", "two\n", ""]
    assert list(read_log(None, home)) == ["own\n", ""]


@pytest.mark.parametrize("bad", ["../local", "x/../../etc/passwd", "mcp[local]", ""])
def test_read_log_refuses_what_is_not_a_runtime_id(tmp_path: Path, bad: str) -> None:
    # The id names a file under home/logs: anything else could read any *.log.
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "local.log").write_text("secret-ish\n")
    with pytest.raises(NotARuntimeIdError) as refused:
        local_log_path(bad, home)
    assert refused.value.exit_code == 2


def test_read_log_of_a_runtime_without_a_log(tmp_path: Path) -> None:
    with pytest.raises(LocalLogError, match="no log at") as missing:
        list(read_log("mcp_server-AbCdEf1234", tmp_path))
    assert missing.value.exit_code == 6


def _record(name: str, runtime_id: str, url: str, auth: str = "sigv4") -> DeploymentRecord:
    arn = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/{runtime_id}"
    return DeploymentRecord(
        target="local",
        region=REGION,
        name=name,
        account=ACCOUNT,
        auth=auth,  # type: ignore[arg-type]
        endpoint_url=url,
        updated_at=1.0,
        runtime=RuntimeRecord(id=runtime_id, arn=arn, name=name),
    )


def test_find_runtime_picks_by_name_in_the_state_file(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    state = tmp_path / "deployment_config.json"
    one = _record("one", "one-AbCdEf1234", local.url)
    two = _record("two", "two-AbCdEf1234", local.url, auth="oauth")
    save_state(DeploymentState(state, {one.key: one, two.key: two}))

    picked = find_runtime(RuntimeQuery(name="two", state=state))
    assert two.runtime is not None and picked.arn == two.runtime.arn
    assert picked.auth == "oauth"  # the deployment's method
    assert picked.aws_endpoint_url == local.url  # Cognito etc. on the same port
    assert find_runtime(RuntimeQuery(name="two", state=state, auth="sigv4")).auth == "sigv4"
    with pytest.raises(RuntimeTargetUsageError, match="one") as several:
        find_runtime(RuntimeQuery(state=state))
    assert several.value.exit_code == 2


def test_find_runtime_explicit_arn_wins_and_bad_input_says_what_to_pass(tmp_path: Path) -> None:
    arn = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/x-AbCdEf1234"
    target = find_runtime(RuntimeQuery(arn=arn, state=tmp_path / "missing.json"))
    assert target.arn == arn and target.region == REGION
    with pytest.raises(RuntimeTargetError, match="does not exist") as missing:
        find_runtime(RuntimeQuery(state=tmp_path / "missing.json"))
    assert missing.value.exit_code == 6
    with pytest.raises(RuntimeTargetError, match="--account"):
        find_runtime(RuntimeQuery(runtime_id="x-AbCdEf1234"))


def test_runtime_session_uses_the_local_agentcores_own_key(
    local: LocalAgentCoreHandle, tmp_path: Path
) -> None:
    state = tmp_path / "deployment_config.json"
    one = _record("one", "one-AbCdEf1234", local.url)
    save_state(DeploymentState(state, {one.key: one}))
    target = find_runtime(RuntimeQuery(state=state))
    session = runtime_session(target, local_home=local.home)
    creds = read_local_credentials(local.home)
    assert creds is not None
    got = session.get_credentials()
    assert got is not None and got.access_key == creds.access_key_id
    # A home that did not start the AgentCore at that URL lends nothing: the profile's.
    other = runtime_session(target, local_home=tmp_path / "not-started")
    other_creds = other.get_credentials()
    assert other_creds is None or other_creds.access_key != creds.access_key_id


def test_an_empty_agentcore_mcp_home_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`export AGENTCORE_MCP_HOME=` means the default, for the local AgentCore, the deployer
    and the CLI alike (local.service read it as `./local` of the working directory)."""
    from agentcore_mcp.deploy.config import DeployConfig
    from agentcore_mcp.deploy.target import local_home

    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("AGENTCORE_MCP_HOME", "")
    expected = tmp_path / "user" / ".agentcore-mcp" / "local"
    assert default_home() == expected
    assert LocalSettings().home == expected
    assert local_home(DeployConfig()) == expected
    monkeypatch.setenv("AGENTCORE_MCP_HOME", str(tmp_path / "set"))
    assert default_home() == LocalSettings().home == tmp_path / "set" / "local"


def test_an_empty_agentcore_mcp_home_end_to_end(tmp_path: Path) -> None:
    """`local env` with AGENTCORE_MCP_HOME empty reads ~/.agentcore-mcp/local, never the
    credentials.json of a `local` directory where the command happens to run."""
    user = tmp_path / "user"
    cwd = tmp_path / "somewhere"
    (cwd / "local").mkdir(parents=True)
    write_local_credentials(
        user / ".agentcore-mcp" / "local",
        new_local_credentials("http://127.0.0.1:8701", REGION, ACCOUNT),
    )
    write_local_credentials(
        cwd / "local", new_local_credentials("http://127.0.0.1:8799", REGION, ACCOUNT)
    )
    env = {**os.environ, "HOME": str(user), "AGENTCORE_MCP_HOME": ""}
    done = subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", "local", "env", "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"AWS_ENDPOINT_URL": "http://127.0.0.1:8701"' in done.stdout


@pytest.mark.slow  # a whole background start and stop
def test_background_argv_runs_what_the_starter_resolved(tmp_path: Path) -> None:
    """`local start -d` and a local deploy spawn one command line (`background_argv`):
    the background process runs every setting its starter resolved."""
    import botocore.exceptions

    from agentcore_mcp.local.process import background_argv, start_background, stop_background
    from tests.support.procs import free_port

    settings = LocalSettings(
        home=tmp_path / "home",
        port=free_port(),
        max_active_sessions=3,
        strict_credentials=True,
        rate_limit=0,
    )
    start_background(settings, background_argv(settings))
    try:
        status = local_status(settings.home)
        assert status.url == settings.url
        assert status.document["max_active_sessions"] == 3
        # --strict-credentials reached it: the well-known pair is refused.
        sts = boto3.client(
            "sts",
            endpoint_url=settings.url,
            region_name=settings.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        with pytest.raises(botocore.exceptions.ClientError):
            sts.get_caller_identity()
    finally:
        assert stop_background(settings) is not None
    assert not settings.pid_file.exists()
