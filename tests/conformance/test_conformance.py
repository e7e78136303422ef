"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against our server.

One real `agentcore-mcp serve tests.conformance.conformance_app:build` process; the suite's
server mode runs every scenario applicable at each protocol version in `SPEC_VERSIONS`
(`--suite all --spec-version V`). Each scenario's `checks.json` is judged here against
`expected-failures.yml`: an unlisted failure or warning fails the test, and so does a
listed scenario that no longer fails or warns.

Node 22 and the suite come from `package.json` / `package-lock.json` beside this file;
the session fixture runs `npm ci` when `node_modules` is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
import yaml  # type: ignore[import-untyped]

from tests.support.procs import RunningProcess, run_mcp_server

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node" / "bin" / "node"
CLI = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
INSTALL_LOG = HERE / "npm-install.log"
EXPECTED_FILE = HERE / "expected-failures.yml"
APP = "tests.conformance.conformance_app:build"

# 2025-06-18 and 2025-11-25 use the initialize handshake; 2026-07-28 is the stateless
# era with per-request `_meta`. (2025-03-26 only has server-session-lifecycle, which
# the two later dated versions run as well.)
SPEC_VERSIONS = ("2025-06-18", "2025-11-25", "2026-07-28")

# The suite's per-scenario timeout (ms) and a bound for one whole version's run (s).
SCENARIO_TIMEOUT_MS = 20_000
RUN_TIMEOUT_S = 150

Outcome = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    outcome: Outcome
    problems: tuple[str, ...]  # "<check id> STATUS: message" for FAILURE and WARNING checks


@dataclass(frozen=True)
class Expectations:
    failures: dict[str, dict[str, str]]  # version -> scenario -> reason
    warnings: dict[str, dict[str, str]]

    def expected(self, version: str, scenario: str) -> tuple[Outcome, str]:
        if scenario in self.failures.get(version, {}):
            return "fail", self.failures[version][scenario]
        if scenario in self.warnings.get(version, {}):
            return "warn", self.warnings[version][scenario]
        return "pass", ""


def load_expectations(path: Path = EXPECTED_FILE) -> Expectations:
    doc = yaml.safe_load(path.read_text()) or {}
    sections: dict[str, dict[str, dict[str, str]]] = {}
    for section in ("failures", "warnings"):
        raw = doc.get(section) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path.name}: '{section}' must map spec versions to scenarios")
        parsed: dict[str, dict[str, str]] = {}
        for version, entries in raw.items():
            if str(version) not in SPEC_VERSIONS:
                raise ValueError(f"{path.name}: {section}: unknown spec version {version!r}")
            if not isinstance(entries, dict):
                raise ValueError(f"{path.name}: {section}.{version} must map scenario: reason")
            for scenario, reason in entries.items():
                if not isinstance(reason, str) or not reason.strip():
                    raise ValueError(f"{path.name}: {section}.{version}.{scenario} needs a reason")
            parsed[str(version)] = {str(k): " ".join(str(v).split()) for k, v in entries.items()}
        sections[section] = parsed
    unknown = set(doc) - set(sections)
    if unknown:
        raise ValueError(f"{path.name}: unknown top-level keys {sorted(unknown)}")
    return Expectations(failures=sections["failures"], warnings=sections["warnings"])


def installed_matches_pins() -> bool:
    """Node and the suite are installed, at the versions package.json pins."""
    if not (NODE.is_file() and CLI.is_file()):
        return False
    pins: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
    for name, pin in pins.items():
        manifest = HERE / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != pin:
            return False
    return True


def ensure_suite_installed() -> None:
    """`npm ci` here when Node 22 or the suite is missing or stale; fail clearly if it can't."""
    if installed_matches_pins():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is not on PATH: the conformance suite is installed with `npm ci` in "
            f"{HERE} (the Node that runs npm can be older: package.json pins Node 22 itself)"
        )
    lock = HERE / "package-lock.json"
    argv = [npm, "ci" if lock.is_file() else "install", "--no-audit", "--no-fund"]
    with INSTALL_LOG.open("w") as log:
        log.write(f"$ {' '.join(argv)}  (cwd {HERE})\n")
        log.flush()
        try:
            proc = subprocess.run(
                argv, cwd=HERE, stdout=log, stderr=subprocess.STDOUT, timeout=600, check=False
            )
            returncode = proc.returncode
        except subprocess.TimeoutExpired:
            returncode = -1
    if returncode != 0 or not installed_matches_pins():
        tail = "\n".join(INSTALL_LOG.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(
            f"installing the MCP conformance suite failed (`{' '.join(argv)}` in {HERE}, "
            f"exit {returncode}); full log: {INSTALL_LOG}\n{tail}"
        )


@pytest.fixture(scope="session")
def conformance_cli() -> list[str]:
    """argv prefix that runs the pinned conformance CLI under the pinned Node 22."""
    ensure_suite_installed()
    version = subprocess.run(
        [str(NODE), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    assert version.startswith("v22."), f"{NODE} is {version}, expected Node 22"
    return [str(NODE), str(CLI)]


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    with run_mcp_server(tmp_path_factory.mktemp("conformance-server"), APP) as running:
        yield running


def node_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    return env


def applicable_scenarios(cli: list[str], version: str) -> list[str]:
    """What `list --server --spec-version V` says applies at that version."""
    out = subprocess.run(
        [*cli, "list", "--server", "--spec-version", version],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=node_env(),
    ).stdout
    return re.findall(r"^\s+- (\S+)", out, flags=re.MULTILINE)


RUNNING = re.compile(r"^=== Running scenario: (\S+) ===$", re.MULTILINE)
SAVED = re.compile(r"^Results saved to (.+)$", re.MULTILINE)


def judge(checks: list[dict[str, object]]) -> tuple[Outcome, tuple[str, ...]]:
    problems = tuple(
        f"{c.get('id')} {c.get('status')}: {c.get('errorMessage') or c.get('details') or ''}"[:400]
        for c in checks
        if c.get("status") in ("FAILURE", "WARNING")
    )
    statuses = {c.get("status") for c in checks}
    if "FAILURE" in statuses:
        return "fail", problems
    if "WARNING" in statuses:
        return "warn", problems
    return "pass", problems


def run_suite(cli: list[str], url: str, version: str, out_dir: Path) -> dict[str, ScenarioResult]:
    """Run every applicable scenario at `version`; one result per scenario."""
    argv = [
        *cli,
        "server",
        "--url",
        url,
        "--suite",
        "all",
        "--spec-version",
        version,
        "--timeout",
        str(SCENARIO_TIMEOUT_MS),
        "-o",
        str(out_dir),
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, env=node_env()
    )
    (out_dir / "conformance-stdout.txt").write_text(
        proc.stdout + "\n--- stderr ---\n" + proc.stderr
    )
    results: dict[str, ScenarioResult] = {}
    blocks = RUNNING.split(proc.stdout)[1:]  # [name, body, name, body, ...]
    for name, body in zip(blocks[::2], blocks[1::2], strict=True):
        saved = SAVED.search(body)
        checks_file = Path(saved.group(1).strip()) / "checks.json" if saved else None
        if checks_file is None or not checks_file.is_file():
            results[name] = ScenarioResult(name, "fail", (f"no results written:\n{body.strip()}",))
            continue
        outcome, problems = judge(json.loads(checks_file.read_text()))
        results[name] = ScenarioResult(name, outcome, problems)
    return results


def render_table(version: str, results: dict[str, ScenarioResult], exp: Expectations) -> str:
    lines = [f"conformance @ {version}: {len(results)} scenarios"]
    for name in sorted(results):
        r = results[name]
        expected, reason = exp.expected(version, name)
        if r.outcome == expected:
            got = {"pass": "pass", "warn": "expected-warn", "fail": "expected-fail"}[expected]
            lines.append(f"  ok {name:<48} {got}" + (f"  ({reason})" if reason else ""))
        else:
            lines.append(f"  !! {name:<48} {r.outcome}, expected {expected}")
    return "\n".join(lines)


def test_expected_failures_file_is_well_formed() -> None:
    exp = load_expectations()
    listed = {s for entries in exp.failures.values() for s in entries}
    listed |= {s for entries in exp.warnings.values() for s in entries}
    assert listed, "expected-failures.yml lists nothing; delete this test if that is true"


@pytest.mark.parametrize("version", SPEC_VERSIONS)
def test_conformance_suite(
    version: str,
    conformance_cli: list[str],
    conformance_server: RunningProcess,
    tmp_path: Path,
) -> None:
    exp = load_expectations()
    results = run_suite(conformance_cli, f"{conformance_server.base_url}/mcp", version, tmp_path)
    table = render_table(version, results, exp)
    print(table)

    problems: list[str] = []
    applicable = applicable_scenarios(conformance_cli, version)
    not_run = sorted(set(applicable) - set(results))
    if not_run:
        problems.append(f"applicable scenarios the run did not report: {not_run}")
    for name, r in sorted(results.items()):
        expected, _ = exp.expected(version, name)
        if r.outcome == expected:
            continue
        if expected == "pass":
            detail = "\n      ".join(r.problems)
            problems.append(f"{name}: unexpected {r.outcome}:\n      {detail}")
        else:
            problems.append(
                f"{name}: listed as expected {expected} in {EXPECTED_FILE.name} but got "
                f"{r.outcome}; update the entry (remove it if the scenario now passes)"
            )
    for section, listed in (("failures", exp.failures), ("warnings", exp.warnings)):
        for name in sorted(set(listed.get(version, {})) - set(results)):
            problems.append(f"{section}.{version}.{name} is listed but the scenario did not run")

    assert conformance_server.alive(), f"server died during the run:\n{conformance_server.log()}"
    assert not problems, (
        "\n".join(problems)
        + f"\n\n{table}\n\nper-scenario checks.json under {tmp_path}; server log: "
        f"{conformance_server.log_path}"
    )
