"""The build step on its own, over a real local AgentCore (moto's S3): the sample's zip,
built once for the module, in the deployer's private, encrypted bucket; a rerun builds
and writes nothing; a lost object is uploaded again; destroy takes only its own objects."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agentcore_mcp.deploy.context import Event
from agentcore_mcp.deploy.errors import BuildError
from agentcore_mcp.deploy.steps import build
from tests.support.deploy import step_context, writes_of
from tests.support.local import ACCOUNT, REGION, LocalAgentCoreHandle

pytestmark = pytest.mark.slow  # builds the sample's zip (dependencies from the cache)

NAME = "build_sample"
BUCKET = f"agentcore-mcp-{ACCOUNT}-{REGION}"
BUCKET_SETTINGS = ["s3.PutPublicAccessBlock", "s3.PutBucketEncryption", "s3.PutBucketTagging"]


@pytest.fixture(scope="module")
def built(
    steps_agentcore: LocalAgentCoreHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("build") / "deployment_config.json"
    s3 = steps_agentcore.client("s3")
    try:
        s3.head_bucket(Bucket=BUCKET)
        bucket_existed = True
    except ClientError:
        bucket_existed = False
    events: list[Event] = []
    ctx = step_context(steps_agentcore, state, name=NAME, events=events)
    changed, writes = writes_of(ctx, lambda: build.apply(ctx))
    yield {
        "ctx": ctx,
        "state": state,
        "changed": changed,
        "writes": writes,
        "bucket_existed": bucket_existed,
        "events": events,
    }


def test_uploads_the_hashed_zip_to_a_private_encrypted_bucket(
    steps_agentcore: LocalAgentCoreHandle, built: dict[str, Any]
) -> None:
    ctx = built["ctx"]
    created = [] if built["bucket_existed"] else ["s3.CreateBucket"]
    assert built["changed"] is True
    assert built["writes"] == [*created, *BUCKET_SETTINGS, "s3.PutObject"]
    art = ctx.record.artifact
    assert art is not None and art.kind == "zip" and art.bucket == BUCKET == ctx.record.bucket
    assert art.key == f"{NAME}/{art.sha256}.zip" and art.manifest and art.input_hash
    s3 = steps_agentcore.client("s3")
    got = s3.get_object(Bucket=BUCKET, Key=art.key)
    body = got["Body"].read()
    assert hashlib.sha256(body).hexdigest() == art.sha256 and len(body) == art.size
    assert got["Metadata"] == {"sha256": art.sha256}
    assert got["ServerSideEncryption"] == "AES256"
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "main.py" in names and ".agentcore-mcp/manifest.json" in names
    assert not any(n.startswith("agentcore_mcp/deploy/") for n in names)  # the kit only
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=art.key)["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == ctx.tags
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True,
    )
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    bucket_tags = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    assert bucket_tags == [{"Key": "agentcore-mcp:deployment", "Value": f"agentcore-mcp/{REGION}"}]


def test_a_rerun_neither_builds_nor_writes(
    steps_agentcore: LocalAgentCoreHandle, built: dict[str, Any]
) -> None:
    events: list[Event] = []
    again = step_context(steps_agentcore, built["state"], name=NAME, events=events)
    assert writes_of(again, lambda: build.apply(again)) == (False, [])
    said = [e.message for e in events]
    assert said == [f"artifact unchanged ({built['ctx'].record.artifact.sha256[:12]})"]
    assert again.record.artifact == built["ctx"].record.artifact


def test_an_object_deleted_by_hand_is_uploaded_again_and_nothing_else(
    steps_agentcore: LocalAgentCoreHandle, built: dict[str, Any]
) -> None:
    art = built["ctx"].record.artifact
    s3 = steps_agentcore.client("s3")
    s3.delete_object(Bucket=BUCKET, Key=art.key)
    repair = step_context(steps_agentcore, built["state"], name=NAME)
    changed, writes = writes_of(repair, lambda: build.apply(repair))
    assert changed is True and writes == ["s3.PutObject"]
    again = repair.record.artifact
    assert again is not None and again.input_hash == art.input_hash
    body = s3.get_object(Bucket=BUCKET, Key=again.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == again.sha256


def test_destroy_deletes_its_objects_and_leaves_a_stray_one_and_the_bucket(
    steps_agentcore: LocalAgentCoreHandle, built: dict[str, Any]
) -> None:
    s3 = steps_agentcore.client("s3")
    stray = f"{NAME}/{'f' * 64}.zip"  # an artifact key, uploaded by hand: untagged
    s3.put_object(Bucket=BUCKET, Key=stray, Body=b"not the deployer's")
    events: list[Event] = []
    gone = step_context(steps_agentcore, built["state"], name=NAME, events=events)
    ours = gone.record.artifact.key
    changed, writes = writes_of(gone, lambda: build.destroy(gone))
    assert changed is True and writes == ["s3.DeleteObject"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{NAME}/")["Contents"]]
    assert keys == [stray] and ours != stray
    assert f"left s3://{BUCKET}/{stray}: untagged" in "\n".join(e.message for e in events)
    assert gone.record.artifact is None and gone.record.bucket == ""
    s3.delete_object(Bucket=BUCKET, Key=stray)


def test_a_container_without_an_engine_fails_before_anything_is_made(
    steps_agentcore: LocalAgentCoreHandle,
    state_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker on it
    ctx = step_context(steps_agentcore, state_path, name="build_image", artifact="container")
    with pytest.raises(BuildError) as failed:
        build.apply(ctx)
    assert "needs Docker with buildx" in str(failed.value)
    assert "drop --artifact container" in str(failed.value)
    assert ctx.target.calls.calls == []  # not even a read
    repositories = steps_agentcore.client("ecr").describe_repositories()["repositories"]
    assert "agentcore-mcp/build_image" not in [r["repositoryName"] for r in repositories]
    assert ctx.record.artifact is None
