"""Code zips: the unpacked-size limit, odd archives, entry points outside the code, cleanup.

This module's local AgentCore runs with --max-unpacked-mb 1, so the service's 750 MB
limit is tried with megabytes. Every archive that cannot run must end CREATE_FAILED with
a failureReason that says what to do, never an internal error, and leave no files.
"""

from __future__ import annotations

import io
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.local import SAMPLE_MAIN, LocalAgentCoreHandle, run_local_agentcore

MAIN = "print('hello from main')\n"


def build(*entries: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


def info(name: str, *, mode: int | None = None) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name)
    zi.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        zi.external_attr = mode << 16
    return zi


def mark_encrypted(data: bytes, name: bytes) -> bytes:
    """Set the 'encrypted' flag of `name` in its local and central headers (zipfile
    clears it when writing)."""
    out = bytearray(data)
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = out.find(signature)
        while at >= 0:
            if out[at + name_at : at + name_at + len(name)] == name:
                out[at + flag_at] |= 0x1
            at = out.find(signature, at + 1)
    return bytes(out)


def with_main(*entries: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    return build(("main.py", MAIN.encode()), *entries)


def stored(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    zi = zipfile.ZipInfo(name)
    zi.compress_type = zipfile.ZIP_STORED
    return zi, data


def duplicate() -> bytes:
    buf = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", MAIN)
        z.writestr("main.py", "print('the other one')\n")
    return buf.getvalue()


# name → (zip bytes, a phrase the failureReason must hold)
CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "directory entry with data": (
        lambda: with_main((info("lib/", mode=stat.S_IFDIR | 0o755), b"surprise")),
        "is a directory but holds 8 bytes",
    ),
    "duplicate names": (duplicate, "appears twice"),
    "absolute path": (lambda: with_main((info("/tmp/evil.py"), b"x")), "absolute path"),
    "dot-dot path": (lambda: with_main((info("../evil.py"), b"x")), "climbs out"),
    "symlink entry": (
        lambda: with_main((info("link.py", mode=stat.S_IFLNK | 0o777), b"/etc/passwd")),
        "symbolic link",
    ),
    "NUL in a name": (
        lambda: with_main((info("evilZ.py"), b"x")).replace(b"evilZ.py", b"evil\x00.py"),
        "NUL character",
    ),
    "backslashes": (lambda: with_main((info("lib\\evil.py"), b"x")), "backslashes"),
    "file and folder of one name": (
        lambda: with_main((info("lib"), b"x"), (info("lib/mod.py"), b"y")),
        "both as a file and as a folder",
    ),
    "folder entry then a file of its name": (
        lambda: with_main((info("lib/", mode=stat.S_IFDIR | 0o755), b""), (info("lib"), b"y")),
        "both a file and a directory",
    ),
    "encrypted entry": (
        lambda: mark_encrypted(with_main((info("secret.py"), b"x")), b"secret.py"),
        "is encrypted",
    ),
    "corrupt data (CRC)": (
        lambda: build(stored("main.py", b"print('AAAA')\n")).replace(b"AAAA", b"BBBB"),
        "could not be unpacked",
    ),
    "not a zip": (lambda: b"PK\x03\x04 this is not really a zip", "is not a zip file"),
    "declared size over the limit": (
        # 2 MB of zeros deflate to about 2 KB: the 1 MB limit is for the unpacked size.
        lambda: with_main((info("big.bin"), bytes(2 * 1024 * 1024))),
        "more than 1 MB, the limit for direct code deploy",
    ),
}


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAgentCoreHandle]:
    tmp = tmp_path_factory.mktemp("artifacts")
    # What a local AgentCore killed mid-unpack leaves behind; the next start removes it.
    stale = tmp / "home" / "artifacts" / "old_runtime-AbCdEf1234" / "1.partial"
    stale.mkdir(parents=True)
    (stale / "half.py").write_text("x")
    # ...and a failed version's tree it was still removing in the background
    trash = tmp / "home" / "artifacts" / ".discarded" / "old_runtime-AbCdEf1234-2-0a1b2c3d"
    trash.mkdir(parents=True)
    (trash / "main.py").write_text("x")
    with run_local_agentcore(
        tmp, extra_args=("--max-unpacked-mb", "1", "--startup-timeout", "20")
    ) as handle:
        yield handle


def create_from_bytes(
    handle: LocalAgentCoreHandle, name: str, data: bytes, entry_point: list[str] | None = None
) -> dict[str, Any]:
    key = f"odd/{name}-{time.time_ns()}.zip"
    handle.client("s3").put_object(Bucket=handle.bucket, Key=key, Body=data)
    control = handle.client("bedrock-agentcore-control")
    created = control.create_agent_runtime(
        agentRuntimeName=name,
        agentRuntimeArtifact={
            "codeConfiguration": {
                "code": {"s3": {"bucket": handle.bucket, "prefix": key}},
                "runtime": "PYTHON_3_11",
                "entryPoint": entry_point or ["main.py"],
            }
        },
        roleArn=handle.role_arn,
        networkConfiguration={"networkMode": "PUBLIC"},
        protocolConfiguration={"serverProtocol": "MCP"},
    )
    return handle.wait_status(created["agentRuntimeId"])


def leftovers(handle: LocalAgentCoreHandle, runtime_id: str) -> list[Path]:
    root = handle.home / "artifacts"
    return sorted(root.glob(f"{runtime_id}/*")) + sorted(root.glob("*/*.partial"))


def test_stale_partial_folders_are_removed_at_start(small_limit: LocalAgentCoreHandle) -> None:
    assert not list((small_limit.home / "artifacts").glob("*/*.partial"))
    assert not (small_limit.home / "artifacts" / ".discarded").exists()


@pytest.mark.parametrize("case", list(CORPUS))
def test_odd_zip_fails_with_a_reason_and_leaves_nothing(
    small_limit: LocalAgentCoreHandle, case: str
) -> None:
    make, phrase = CORPUS[case]
    name = "odd_" + "".join(c if c.isalnum() else "_" for c in case)[:40]
    got = create_from_bytes(small_limit, name, make())
    assert got["status"] == "CREATE_FAILED", got
    reason = got["failureReason"]
    assert phrase in reason, reason
    assert "Internal error" not in reason
    assert leftovers(small_limit, got["agentRuntimeId"]) == []
    # The service keeps serving: the next good zip still deploys.
    assert small_limit.client("s3").list_buckets()["Buckets"]


@pytest.mark.parametrize(
    "entry_point", [["../outside.py"], ["/usr/bin/env"], ["main.py", "../../../etc/passwd"]]
)
def test_entry_point_outside_the_code_is_refused(
    small_limit: LocalAgentCoreHandle, entry_point: list[str]
) -> None:
    try:
        got = create_from_bytes(
            small_limit,
            f"escape_{len(entry_point)}_{len(entry_point[-1])}",
            build(("main.py", SAMPLE_MAIN.encode())),
            entry_point,
        )
    except ClientError as exc:  # refused by validation: as good
        assert exc.response["Error"]["Code"] == "ValidationException"
        return
    assert got["status"] == "CREATE_FAILED", got
    assert "points outside the code artifact" in got["failureReason"], got
    assert leftovers(small_limit, got["agentRuntimeId"]) == []


def test_delete_removes_the_unpacked_code(small_limit: LocalAgentCoreHandle) -> None:
    got = small_limit.create_runtime("to_delete")
    assert got["status"] == "READY", got
    runtime_id = got["agentRuntimeId"]
    unpacked = small_limit.home / "artifacts" / runtime_id
    assert (unpacked / "1" / "main.py").is_file()
    small_limit.client("bedrock-agentcore-control").delete_agent_runtime(agentRuntimeId=runtime_id)
    deadline = time.monotonic() + 30
    while unpacked.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not unpacked.exists()


def test_a_new_version_shares_the_unchanged_files_of_the_last(
    small_limit: LocalAgentCoreHandle,
) -> None:
    """A redeploy after a one-line change unpacks only what changed: equal entries (name,
    size, CRC-32, mode) are hard links to the last version's files, and each version
    still serves its own code."""
    lib = "VALUE = 'shared'\n" * 200
    got = small_limit.create_runtime(
        "shares_files", {"main.py": SAMPLE_MAIN, "lib/shared.py": lib, "note.txt": "v1\n"}
    )
    assert got["status"] == "READY", got
    runtime_id = got["agentRuntimeId"]
    control = small_limit.client("bedrock-agentcore-control")
    current = control.get_agent_runtime(agentRuntimeId=runtime_id)
    key = small_limit.upload({"main.py": SAMPLE_MAIN, "lib/shared.py": lib, "note.txt": "v2\n"})
    artifact = current["agentRuntimeArtifact"]
    artifact["codeConfiguration"]["code"]["s3"]["prefix"] = key
    control.update_agent_runtime(
        agentRuntimeId=runtime_id,
        agentRuntimeArtifact=artifact,
        roleArn=current["roleArn"],
        networkConfiguration=current["networkConfiguration"],
        protocolConfiguration=current["protocolConfiguration"],
    )
    assert small_limit.wait_status(runtime_id)["status"] == "READY"
    v1, v2 = (small_limit.home / "artifacts" / runtime_id / v for v in ("1", "2"))
    assert (v1 / "lib/shared.py").stat().st_ino == (v2 / "lib/shared.py").stat().st_ino
    assert (v1 / "note.txt").stat().st_ino != (v2 / "note.txt").stat().st_ino
    assert (v1 / "note.txt").read_text() == "v1\n" and (v2 / "note.txt").read_text() == "v2\n"
    assert (v2 / "lib/shared.py").read_text() == lib
