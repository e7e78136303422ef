"""One way to pick a deployment: `--name` on every command that acts on one, an error
that lists the deployments when a state file holds several and none is named, explicit
`--arn` / `--url` / `--ssm-parameter` over the state file, and the auth method of the
deployment picked. The state files are written by the tests (two records pointing at
real runtimes on a real local AgentCore); no deploy runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore_mcp.deploy.state import (
    CognitoRecord,
    DeploymentRecord,
    DeploymentState,
    RuntimeRecord,
    load_state,
    save_state,
)
from tests.client._runtimes import Deployed, deployed_runtimes
from tests.support.local import REGION

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{}-AbCdEf1234"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with deployed_runtimes(tmp_path_factory.mktemp("local")) as d:
        yield d


def record(
    name: str, arn: str, *, auth: str = "sigv4", endpoint: str = "", target: str = "local",
    cognito: CognitoRecord | None = None, updated_at: float = 1.0,
) -> DeploymentRecord:  # fmt: skip
    return DeploymentRecord(
        target=target,  # type: ignore[arg-type]
        region=REGION,
        name=name,
        account="123456789012",  # the local AgentCore's, and the ARNs'
        auth=auth,  # type: ignore[arg-type]
        # Readers check the endpoint: a local record's is a loopback URL.
        endpoint_url=endpoint or ("http://127.0.0.1:8700" if target == "local" else ""),
        updated_at=updated_at,
        runtime=RuntimeRecord(id=arn.rsplit("/", 1)[1], arn=arn, name=name),
        cognito=cognito,
    )


def write_state(path: Path, *records: DeploymentRecord) -> Path:
    save_state(DeploymentState(path, {r.key: r for r in records}))
    return path


def two_deployments(d: Deployed, path: Path) -> Path:
    """A SigV4 deployment and an OAuth one (the more recently updated) of the sample."""
    cognito = CognitoRecord(
        pool_id=d.pool, pool_name="mcp-users", client_id=d.client_id, user_secret_id=d.secret_id
    )
    return write_state(
        path,
        record("sample_sigv4", d.sigv4_arn, endpoint=d.local.url),
        record("sample_oauth", d.oauth_arn, auth="oauth", endpoint=d.local.url, cognito=cognito,
               updated_at=2.0),
    )  # fmt: skip


def cli(
    d: Deployed | None, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`agentcore-mcp ARGS` in `cwd` (which holds the test's state file), HOME there too."""
    base = d.env() if d else {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if d:
        base.pop("AWS_ENDPOINT_URL")  # the state says where the runtimes are
    return subprocess.run(
        [sys.executable, "-m", "agentcore_mcp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env={**base, "HOME": str(cwd), **(env or {})},
    )


def in_process(
    cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`agentcore-mcp ARGS` in this process (typer's CliRunner over the CLI's own app), in
    `cwd` with HOME there and no AWS_* variables but `env`'s: for matrices whose every row `cli`
    would pay a process start for; one row of each runs end to end through `cli`."""
    from typer.testing import CliRunner

    from agentcore_mcp.cli import app

    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(cwd))
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    got = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(list(args), got.exit_code, got.stdout, got.stderr)


# --- the library: select_record -----------------------------------------------------


def test_select_record_matrix(tmp_path: Path) -> None:
    from agentcore_mcp.deploy.state import (
        AmbiguousDeploymentError,
        NoDeploymentError,
        select_record,
    )

    path = write_state(
        tmp_path / "s.json",
        record("alpha", ARN.format("alpha"), updated_at=5.0),
        record("beta", ARN.format("beta")),
        record("beta", ARN.format("beta"), target="aws"),
    )
    state = load_state(path)
    assert select_record(state, name="alpha").name == "alpha"
    assert select_record(state, name="beta", target="aws").target == "aws"
    with pytest.raises(AmbiguousDeploymentError) as several:
        select_record(state)  # never "the most recently updated"
    message = str(several.value)
    for listed in ("alpha (local, us-east-1)", "beta (local, us-east-1)",
                   "beta (aws, us-east-1, account 123456789012)", "--name"):  # fmt: skip
        assert listed in message, message
    assert len(several.value.candidates) == 3
    with pytest.raises(AmbiguousDeploymentError) as same_name:
        select_record(state, name="beta")
    assert "--target" in str(same_name.value)
    with pytest.raises(NoDeploymentError) as missing:
        select_record(state, name="gamma")
    assert "name gamma" in str(missing.value) and "alpha (local" in str(missing.value)
    only = write_state(tmp_path / "one.json", record("solo", ARN.format("solo")))
    assert select_record(load_state(only)).name == "solo"  # one: no --name needed
    with pytest.raises(NoDeploymentError, match="records no deployment"):
        select_record(load_state(tmp_path / "none.json"))


# --- the runtime commands: tools --remote, test-auth, connect, proxy ------------------


def test_several_deployments_and_no_name_is_a_usage_error(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tools list --remote` runs as a process; the other commands in-process."""
    two_deployments(deployed, tmp_path / "deployment_config.json")
    # the state says where the runtimes are: no AWS_ENDPOINT_URL (as `cli` does)
    aws = {k: v for k, v in deployed.env().items() if k.startswith("AWS_")}
    aws.pop("AWS_ENDPOINT_URL")
    for args in (
        ("tools", "list", "--remote"),
        ("tools", "call", "echo", "-a", "text=x", "--remote"),
        ("test-auth",),
        ("connect", "--client", "cursor"),
        ("proxy", "--stdio"),
    ):
        out = cli(deployed, tmp_path, *args) if args == ("tools", "list", "--remote") else (
            in_process(tmp_path, monkeypatch, *args, env=aws))  # fmt: skip
        assert out.returncode == 2, (args, out.stderr)
        for listed in ("sample_sigv4 (local, us-east-1)", "sample_oauth (local, us-east-1)",
                       "Pass --name NAME"):  # fmt: skip
            assert listed in out.stderr, (args, out.stderr)


@pytest.mark.slow  # six CLI processes, four of them calling a runtime
def test_name_picks_and_auth_follows_the_deployment(deployed: Deployed, tmp_path: Path) -> None:
    two_deployments(deployed, tmp_path / "deployment_config.json")
    # The OAuth deployment is reached with OAuth (its stored Cognito user), no --oauth.
    oauth = cli(
        deployed, tmp_path, "tools", "call", "echo", "-a", "text=o", "--name", "sample_oauth"
    )
    assert oauth.returncode == 0, oauth.stderr
    assert oauth.stdout.strip() == "o"
    sig = cli(deployed, tmp_path, "tools", "list", "--remote", "--name", "sample_sigv4", "--json")
    assert sig.returncode == 0, sig.stderr
    assert "echo" in {t["name"] for t in json.loads(sig.stdout)}
    probed = cli(deployed, tmp_path, "test-auth", "--name", "sample_oauth", "--json")
    assert probed.returncode == 0, probed.stderr
    doc = json.loads(probed.stdout)
    assert doc["target"]["arn"] == deployed.oauth_arn and doc["target"]["auth"] == "oauth"
    entry = cli(
        deployed, tmp_path, "connect", "--client", "cursor", "--name", "sample_sigv4", "--json"
    )
    assert entry.returncode == 0, entry.stderr
    args = json.loads(entry.stdout)["config"]["mcpServers"]["agentcore-sample_sigv4"]["args"]
    assert "--sigv4" in args and any("sample_sigv4" in a for a in args)
    named = cli(deployed, tmp_path, "connect", "--client", "cursor", "--name", "sample_oauth",
                "--entry-name", "mine", "--json")  # fmt: skip
    entry_args = json.loads(named.stdout)["config"]["mcpServers"]["mine"]["args"]
    assert "--oauth" in entry_args and deployed.client_id in entry_args
    unknown = cli(deployed, tmp_path, "tools", "list", "--name", "nope")
    assert unknown.returncode == 6
    assert "name nope" in unknown.stderr and "sample_sigv4 (local" in unknown.stderr


@pytest.mark.slow  # three CLI processes calling a runtime
def test_explicit_runtime_flags_win_over_the_state_file(deployed: Deployed, tmp_path: Path) -> None:
    """--ssm-parameter, --arn and --url name the runtime even where a state file (here
    with one deployment, the OAuth one) would otherwise be used."""
    cognito = CognitoRecord(
        pool_id=deployed.pool, pool_name="p", client_id=deployed.client_id,
        user_secret_id=deployed.secret_id,
    )  # fmt: skip
    write_state(
        tmp_path / "deployment_config.json",
        record("sample_oauth", deployed.oauth_arn, auth="oauth", endpoint=deployed.local.url,
               cognito=cognito),
    )  # fmt: skip
    deployed.local.client("ssm").put_parameter(
        Name="/pick/agent_arn", Value=deployed.sigv4_arn, Type="String", Overwrite=True
    )
    env = {"AWS_ENDPOINT_URL": deployed.local.url}
    by_ssm = cli(deployed, tmp_path, "test-auth", "--ssm-parameter", "/pick/agent_arn", "--json",
                 env=env)  # fmt: skip
    assert by_ssm.returncode == 0, by_ssm.stderr
    assert json.loads(by_ssm.stdout)["target"]["arn"] == deployed.sigv4_arn
    listed = cli(deployed, tmp_path, "tools", "list", "--ssm-parameter", "/pick/agent_arn",
                 env=env)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    by_arn = cli(deployed, tmp_path, "test-auth", "--arn", deployed.sigv4_arn, "--json", env=env)
    assert json.loads(by_arn.stdout)["target"]["arn"] == deployed.sigv4_arn


# --- the deployment commands: status, logs, update-token, destroy, role ---------------


def test_deployment_commands_take_name_and_refuse_to_guess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS call is needed to pick: the state file alone decides (no local AgentCore).
    `status` runs as a process (refused, then picked by --name); the other commands'
    refusals and the lone record's pick run in-process."""
    write_state(
        tmp_path / "deployment_config.json",
        record("first_srv", ARN.format("first_srv")),
        record("second_srv", ARN.format("second_srv"), updated_at=9.0),
    )
    for args in (
        ("status",),
        ("logs",),
        ("update-token",),
        ("destroy", "--dry-run"),
        ("role", "show", "--name", "no_such_srv"),
    ):
        out = cli(None, tmp_path, *args) if args == ("status",) else (
            in_process(tmp_path, monkeypatch, *args))  # fmt: skip
        expected = 7 if "no_such_srv" in args else 2
        assert out.returncode == expected, (args, out.stderr)
        assert "first_srv (local, us-east-1)" in out.stderr, (args, out.stderr)
        assert "second_srv (local, us-east-1)" in out.stderr, (args, out.stderr)
    shown = cli(None, tmp_path, "status", "--name", "first_srv", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["deployment"]["name"] == "first_srv"
    # One deployment recorded: it is picked without --name, whatever its name.
    solo = tmp_path / "solo"
    solo.mkdir()
    write_state(solo / "deployment_config.json", record("solo_srv", ARN.format("solo_srv")))
    alone = in_process(solo, monkeypatch, "status", "--json")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["deployment"]["name"] == "solo_srv"


def test_status_live_says_what_is_missing(deployed: Deployed, tmp_path: Path) -> None:
    """A recorded runtime that no longer exists: "MISSING" and what to do, not "version
    None"."""
    write_state(
        tmp_path / "deployment_config.json",
        record("ghost_srv", ARN.format("ghost_srv"), endpoint=deployed.local.url),
    )
    out = cli(deployed, tmp_path, "status", "--live", "--local-home", str(deployed.local.home))
    assert out.returncode == 0, out.stderr
    assert "MISSING" in out.stdout and "agentcore-mcp deploy" in out.stdout
    assert "None" not in out.stdout


# --- small fixes that need a runtime ---------------------------------------------------


def test_refusals_print_as_text_and_test_auth_does_not_point_to_itself(
    deployed: Deployed, tmp_path: Path
) -> None:
    wrong = cli(deployed, tmp_path, "tools", "list", "--arn", deployed.oauth_arn, "--sigv4",
                env={"AWS_ENDPOINT_URL": deployed.local.url})  # fmt: skip
    assert wrong.returncode == 5, wrong.stderr
    assert wrong.stderr.startswith("error: JSON-RPC error -32002"), wrong.stderr
    assert "[red]" not in wrong.stderr and "[/]" not in wrong.stderr
    probed = cli(deployed, tmp_path, "test-auth", "--arn", deployed.oauth_arn,
                 "--client-id", deployed.client_id, "--user-secret-id", deployed.secret_id,
                 "--json", env={"AWS_ENDPOINT_URL": deployed.local.url})  # fmt: skip
    assert probed.returncode == 0, probed.stderr
    methods = {m["method"]: m for m in json.loads(probed.stdout)["methods"]}
    assert "--oauth" in methods["sigv4"]["reason"]  # the hint is still there ...
    assert "test-auth" not in methods["sigv4"]["reason"]  # ... without "run test-auth"


def test_local_env_exports_aws_default_region(deployed: Deployed, tmp_path: Path) -> None:
    out = cli(None, tmp_path, "local", "env", "--home", str(deployed.local.home))
    assert out.returncode == 0, out.stderr
    assert f"export AWS_DEFAULT_REGION={REGION}" in out.stdout.splitlines()
    assert f"export AWS_REGION={REGION}" in out.stdout.splitlines()
