"""What an install of agentcore-mcp weighs (issue 13): the base wheel, extras, the sample's zip.

Builds the wheel with `uv build`, then installs it as the deployer does for AgentCore
(`uv pip install --target DIR --python-platform aarch64-manylinux2014 --python-version 3.13
--only-binary :all:`) for each configuration, and measures the installed files unpacked
and zipped (ZIP_DEFLATED level 6, as the deployer zips). Also measures a plain venv on this
machine, the figure a server author's `uv add agentcore-mcp` costs.

    uv run python bench/run_package_size.py          # table, exit 1 if a target is missed
    uv run python bench/run_package_size.py --json > bench/results/package-size-latest.json

Uses the uv cache; the first run downloads the aarch64 wheels. MB are 10^6 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLATFORM = "aarch64-manylinux2014"
PYTHON_VERSION = "3.13"
MB = 1_000_000
# Issue 13's figures for the wheel before the split (every dependency in the base).
BEFORE_VENV_MB = 228.0
BEFORE_AARCH64_ZIPPED_MB = 65.0
TARGET_BASE_RATIO = 0.30  # base install <= 0.3 x 228 MB
TARGET_SAMPLE_ZIP_RATIO = 0.35  # sample zip without secrets <= 0.35 x 65 MB zipped
TIMEOUT_SECONDS = 900

# name -> extras; "sample" is the deployed sample server (web_search included).
CONFIGURATIONS = {
    "base": "",
    "sample (base + web-search)": "web-search",
    "sample + secret (+ secrets)": "web-search,secrets",
    "all": "all",
}


@dataclass
class Size:
    name: str
    extras: str
    platform: str
    unpacked_mb: float
    zipped_mb: float | None
    distributions: list[str]


def uv(*args: str) -> None:
    found = shutil.which("uv")
    if not found:
        sys.exit("uv is needed: https://docs.astral.sh/uv/")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run(
        [found, "--quiet", *args],
        check=True,
        cwd=REPO,
        env=env,
        timeout=TIMEOUT_SECONDS,
        stdout=subprocess.DEVNULL,
    )


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def zipped_bytes(root: Path, out: Path) -> int:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            z.write(path, path.relative_to(root).as_posix())
    size = out.stat().st_size
    out.unlink()
    return size


def distributions(site: Path) -> list[str]:
    return sorted(
        p.name.removesuffix(".dist-info").split("-")[0].lower().replace("_", "-")
        for p in site.glob("*.dist-info")
    )


def spec(wheel: Path, extras: str) -> str:
    return f"{wheel}[{extras}]" if extras else str(wheel)


def measure_aarch64(wheel: Path, work: Path, name: str, extras: str) -> Size:
    target = work / f"target-{len(os.listdir(work))}"
    uv(
        "pip",
        "install",
        "--target",
        str(target),
        "--python-platform",
        PLATFORM,
        "--python-version",
        PYTHON_VERSION,
        "--only-binary",
        ":all:",
        spec(wheel, extras),
    )
    size = Size(
        name,
        extras,
        f"{PLATFORM} py{PYTHON_VERSION}",
        tree_bytes(target) / MB,
        zipped_bytes(target, work / "measure.zip") / MB,
        distributions(target),
    )
    shutil.rmtree(target)
    return size


def measure_venv(wheel: Path, work: Path, extras: str) -> Size:
    venv = work / "venv"
    uv("venv", "--python", sys.executable, str(venv))
    uv("pip", "install", "--python", str(venv / "bin" / "python"), spec(wheel, extras))
    [site] = (venv / "lib").glob("python*/site-packages")
    size = Size(
        "base (venv here)",
        extras,
        f"{sys.platform} py{sys.version_info[0]}.{sys.version_info[1]}",
        tree_bytes(site) / MB,
        None,
        distributions(site),
    )
    shutil.rmtree(venv)
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="package-size-") as tmp:
        work = Path(tmp)
        uv("build", "--wheel", "--out-dir", str(work / "dist"), str(REPO))
        [wheel] = (work / "dist").glob("agentcore_mcp-*.whl")
        sizes = [
            measure_aarch64(wheel, work, name, extras) for name, extras in CONFIGURATIONS.items()
        ]
        sizes.append(measure_venv(wheel, work, ""))
    by_name = {s.name: s for s in sizes}
    base, sample = by_name["base"], by_name["sample (base + web-search)"]
    secret = by_name["sample + secret (+ secrets)"]
    venv = by_name["base (venv here)"]
    checks = {
        f"base venv <= {TARGET_BASE_RATIO} x {BEFORE_VENV_MB:g} MB": (
            venv.unpacked_mb,
            TARGET_BASE_RATIO * BEFORE_VENV_MB,
        ),
        f"base aarch64 unpacked <= {TARGET_BASE_RATIO} x {BEFORE_VENV_MB:g} MB": (
            base.unpacked_mb,
            TARGET_BASE_RATIO * BEFORE_VENV_MB,
        ),
        f"sample zip <= {TARGET_SAMPLE_ZIP_RATIO} x {BEFORE_AARCH64_ZIPPED_MB:g} MB": (
            sample.zipped_mb or 0.0,
            TARGET_SAMPLE_ZIP_RATIO * BEFORE_AARCH64_ZIPPED_MB,
        ),
    }
    secret_adds = sorted(set(secret.distributions) - set(sample.distributions))
    lines = ["| install | platform | unpacked MB | zipped MB |", "|---|---|---:|---:|"]
    for s in sizes:
        zipped = f"{s.zipped_mb:.1f}" if s.zipped_mb is not None else "-"
        lines.append(f"| {s.name} | {s.platform} | {s.unpacked_mb:.1f} | {zipped} |")
    lines.append("")
    lines.append(f"a secret adds: {', '.join(secret_adds)} (the [secrets] extra: botocore)")
    missed = []
    for label, (got, limit) in checks.items():
        ok = got <= limit
        lines.append(f"{'ok  ' if ok else 'MISS'} {label}: {got:.1f} (limit {limit:.1f})")
        if not ok:
            missed.append(label)
    table = "\n".join(lines)
    if args.json:
        print(table, file=sys.stderr)
        report = {
            "sizes": [asdict(s) for s in sizes],
            "secret_adds": secret_adds,
            "checks": {k: {"got": g, "limit": lim} for k, (g, lim) in checks.items()},
            "missed": missed,
        }
        print(json.dumps(report, indent=2))
    else:
        print(table)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
