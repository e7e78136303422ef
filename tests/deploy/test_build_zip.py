"""The code zip on its own: deterministic, size limits named, the real aarch64 build."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agentcore_mcp.deploy.artifact.bytecode import bytecode_python
from agentcore_mcp.deploy.artifact.codezip import BuiltZip, build_zip, check_size, zip_inputs
from agentcore_mcp.deploy.config import load_config
from agentcore_mcp.deploy.errors import BuildError
from tests.support.deploy import PROJECTS


def test_same_tree_same_bytes_and_modes_kept(tmp_path: Path) -> None:
    inputs = zip_inputs(load_config(PROJECTS / "tabletool"))
    first = build_zip(inputs, tmp_path / "a", lambda _m: None)
    second = build_zip(inputs, tmp_path / "b", lambda _m: None)
    assert first.sha256 == second.sha256 and first.input_hash == second.input_hash
    with zipfile.ZipFile(first.path) as z:
        infos = z.infolist()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert all((i.external_attr >> 16) & 0o777 for i in infos)  # POSIX modes present
        assert "tabulate/__init__.py" in z.namelist() and "main.py" in z.namelist()


def test_too_big_names_the_largest_packages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "hugepkg").mkdir(parents=True)
    (site / "hugepkg" / "blob.bin").write_bytes(b"x" * 4096)
    (site / "small").mkdir()
    (site / "small" / "a.py").write_text("x = 1\n")
    built = BuiltZip(tmp_path / "z.zip", "0" * 64, 3000, 5000, "h", False)
    with pytest.raises(BuildError) as caught:
        check_size(built, site, max_zipped=2000, max_unpacked=10_000)
    message = str(caught.value)
    assert "hugepkg" in message and message.index("hugepkg") < message.index("small")


@pytest.mark.slow
def test_real_aarch64_zip_has_aarch64_manylinux_wheels(tmp_path: Path) -> None:
    config = load_config(PROJECTS / "tabletool", target="aws", manifest=False)
    assert config.wheel_platform == "aarch64-manylinux2014"
    built = build_zip(zip_inputs(config), tmp_path, lambda _m: None)
    with zipfile.ZipFile(built.path) as z:
        names = z.namelist()
        binaries = [n for n in names if n.endswith(".so")]
        assert binaries, "pydantic_core and friends ship compiled code"
        assert not any("x86_64" in n for n in binaries), [n for n in binaries if "x86_64" in n]
        tags = [
            line.split(":", 1)[1].strip()
            for n in names
            if n.endswith(".dist-info/WHEEL")
            for line in z.read(n).decode().splitlines()
            if line.startswith("Tag:")
        ]
    platform_tags = [t for t in tags if not t.endswith("-any")]
    assert platform_tags and all("aarch64" in t and "manylinux" in t for t in platform_tags), (
        platform_tags
    )


def _pyc_flags(data: bytes) -> int:
    # PEP 552: the word after the magic; 0b01 = hash-based, source never checked.
    return int.from_bytes(data[4:8], "little")


def test_zip_carries_unchecked_hash_bytecode_for_every_module(tmp_path: Path) -> None:
    inputs = zip_inputs(load_config(PROJECTS / "tabletool"))
    assert inputs.compile_with is not None  # the host's minor is the default runtime's
    built = build_zip(inputs, tmp_path, lambda _m: None)
    tag = f"cpython-3{sys.version_info.minor}"
    with zipfile.ZipFile(built.path) as z:
        names = set(z.namelist())
        # the user's package, the kit, and the dependencies (the SDK, a user dependency)
        for module in (
            "tabletool/server.py",
            "agentcore_mcp/server/run.py",
            "mcp/__init__.py",
            "tabulate/__init__.py",
        ):
            folder, _, name = module.rpartition("/")
            pyc = f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"
            assert module in names and pyc in names, pyc
            assert _pyc_flags(z.read(pyc)) == 0b01, pyc
        # the entry point runs as __main__ and never reads bytecode
        assert "main.py" in names and f"__pycache__/main.{tag}.pyc" not in names


def test_unpacked_zip_imports_its_bytecode_whatever_the_file_times(tmp_path: Path) -> None:
    """The runtime's Python with only the zip on its path uses the shipped .pyc even when
    the unpacked sources look newer, and writes nothing (adversarial: a source changed
    after unpacking, which a timestamp check would recompile, is not read)."""
    built = build_zip(zip_inputs(load_config(PROJECTS / "tabletool")), tmp_path, lambda _m: None)
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(built.path) as z:
        z.extractall(unpacked)
    server = unpacked / "tabletool" / "server.py"
    server.write_text(server.read_text() + "\nraise SystemExit('compiled from source')\n")
    before = sorted(unpacked.rglob("*.pyc"))
    proc = subprocess.run(
        [
            getattr(sys, "_base_executable", sys.executable),
            "-I",
            "-S",
            "-B",
            "-c",
            "import sys; sys.path.insert(0, '.'); import tabletool.server as s; "
            "print(type(s.mcp).__name__, sys.modules['mcp'].__spec__.cached)",
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "MCPServer"
    assert sorted(unpacked.rglob("*.pyc")) == before


def test_no_interpreter_for_the_runtime_says_the_zip_has_no_bytecode() -> None:
    assert bytecode_python(f"{sys.version_info.major}.{sys.version_info.minor}") == sys.executable
    assert bytecode_python("3.99") is None
