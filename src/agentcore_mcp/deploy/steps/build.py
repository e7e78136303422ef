"""The artifact step: build the zip (or image) and put it in the deployer's bucket (or ECR)."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from agentcore_mcp.deploy.artifact.codezip import BuiltZip, build_zip, zip_inputs
from agentcore_mcp.deploy.artifact.container import build_container, require_container_engine
from agentcore_mcp.deploy.context import StepContext
from agentcore_mcp.deploy.errors import NameTakenError, error_code
from agentcore_mcp.deploy.ownership import (
    TAG_DEPLOYMENT,
    bucket_tag_value,
    bucket_tags,
    object_tagging,
    object_tags,
    repository_claim,
)
from agentcore_mcp.deploy.state import ArtifactRecord


def ensure_bucket(ctx: StepContext) -> bool:
    """The deployer's own bucket: private, SSE-encrypted, all public access blocked."""
    s3 = ctx.client("s3")
    bucket = ctx.names.bucket
    try:
        try:
            s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=ctx.target.account)
            exists = True
        except ClientError as exc:
            if error_code(exc) in ("403", "AccessDenied"):
                raise NameTakenError(
                    f"S3 bucket {bucket} belongs to another account; this cannot happen for "
                    "a bucket named after your account unless it was deleted and re-taken"
                ) from None
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            exists = False
        if exists and ctx.record.bucket == bucket:
            return False
        if ctx.dry_run:
            ctx.progress(f"would create bucket {bucket}")
            return True
        if not exists:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if ctx.target.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.target.region}
            try:
                s3.create_bucket(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise
            ctx.progress(f"created bucket {bucket}")
        # Settings applied every time the record lacks the bucket: a kill between create and
        # these calls must not leave an unprotected bucket behind.
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_bucket_tagging(
            Bucket=bucket,
            Tagging={
                "TagSet": [{"Key": TAG_DEPLOYMENT, "Value": bucket_tag_value(ctx.target.region)}]
            },
        )
        ctx.record.bucket = bucket
        ctx.save()
        return True
    except ClientError as exc:
        raise ctx.fail(exc, f"setting up bucket {bucket}") from None


def _object_exists(ctx: StepContext, key: str) -> bool:
    try:
        ctx.client("s3").head_object(Bucket=ctx.names.bucket, Key=key)
        return True
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise ctx.fail(exc, f"checking s3://{ctx.names.bucket}/{key}") from None


def apply(ctx: StepContext) -> bool:
    if ctx.config.artifact == "container":
        return _apply_container(ctx)
    changed = ensure_bucket(ctx)
    inputs = zip_inputs(ctx.config)
    input_hash = inputs.input_hash()
    recorded = ctx.record.artifact
    if (
        recorded is not None
        and recorded.kind == "zip"
        and recorded.input_hash == input_hash
        and recorded.bucket == ctx.names.bucket
        and _object_exists(ctx, recorded.key)
    ):
        ctx.progress(f"artifact unchanged ({recorded.sha256[:12]})")
        return changed
    if ctx.dry_run:
        ctx.progress("would build and upload the code zip")
        return True
    # A fresh private folder per build (never a shared, reusable one under $TMPDIR),
    # removed once the bytes are uploaded.
    built = build_zip(inputs, None, ctx.progress)
    try:
        changed |= _upload(ctx, built)
    finally:
        shutil.rmtree(built.path.parent, ignore_errors=True)
    ctx.record.artifact = ArtifactRecord(
        kind="zip",
        sha256=built.sha256,
        bucket=ctx.names.bucket,
        key=ctx.names.artifact_key(built.sha256),
        size=built.size,
        python_runtime=ctx.config.runtime_python,
        platform=inputs.platform,
        input_hash=input_hash,
        manifest=built.manifest,
    )
    ctx.save()
    return changed


def _upload(ctx: StepContext, built: BuiltZip) -> bool:
    key = ctx.names.artifact_key(built.sha256)
    if _object_exists(ctx, key):
        ctx.progress(f"zip {built.sha256[:12]} already uploaded")
        return False
    ctx.progress(f"uploading {built.size / 2**20:.1f} MB to s3://{ctx.names.bucket}/{key}")
    try:
        # The bytes that were hashed, from memory: the file on disk is never read back.
        ctx.client("s3").put_object(
            Bucket=ctx.names.bucket,
            Key=key,
            Body=built.body,
            ServerSideEncryption="AES256",
            Metadata={"sha256": built.sha256},
            Tagging=object_tagging(ctx.record.key, ctx.record.deployment_id),
        )
    except ClientError as exc:
        raise ctx.fail(exc, "uploading the code zip") from None
    return True


def _apply_container(ctx: StepContext) -> bool:
    engine = require_container_engine()  # fails at once without one
    ecr = ctx.client("ecr")
    repo = ctx.names.repository
    try:
        try:
            uri = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0][
                "repositoryUri"
            ]
        except ClientError as exc:
            if error_code(exc) != "RepositoryNotFoundException":
                raise
            uri = ecr.create_repository(
                repositoryName=repo,
                imageScanningConfiguration={"scanOnPush": True},
                encryptionConfiguration={"encryptionType": "AES256"},
                tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()],
            )["repository"]["repositoryUri"]
            ecr.put_lifecycle_policy(
                repositoryName=repo,
                lifecyclePolicyText=(
                    '{"rules":[{"rulePriority":1,"description":"keep the last 10 images",'
                    '"selection":{"tagStatus":"any","countType":"imageCountMoreThan",'
                    '"countNumber":10},"action":{"type":"expire"}}]}'
                ),
            )
        token = ecr.get_authorization_token()["authorizationData"][0]
    except ClientError as exc:
        raise ctx.fail(exc, f"setting up ECR repository {repo}") from None
    user, _, password = base64.b64decode(token["authorizationToken"]).decode().partition(":")
    inputs = zip_inputs(ctx.config)
    tag = inputs.input_hash()[:16]
    image = f"{uri}:{tag}"
    if ctx.record.artifact and ctx.record.artifact.image_uri == image:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for arcname, path in inputs.sources:
            (context / arcname).parent.mkdir(parents=True, exist_ok=True)
            (context / arcname).write_bytes(path.read_bytes())
        (context / "main.py").write_text(inputs.entry_point)
        (context / "requirements.txt").write_text("\n".join(inputs.requirements) + "\n")
        (context / "Dockerfile").write_text(
            f"FROM public.ecr.aws/docker/library/python:{inputs.python_version}-slim\n"
            "WORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
            'EXPOSE 8000\nCMD ["python", "main.py"]\n'
        )
        build_container(
            engine, context, image, (token["proxyEndpoint"], user, password), ctx.progress
        )
    ctx.record.artifact = ArtifactRecord(
        kind="container", sha256=tag, image_uri=image, repository=repo, input_hash=tag
    )
    ctx.save()
    return True


def destroy(ctx: StepContext) -> bool:
    """The deployment's objects, then the bucket if nothing else is in it; the ECR repo."""
    s3 = ctx.client("s3")
    bucket = ctx.names.bucket
    changed = False
    try:
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=ctx.names.artifact_prefix
            )
            keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        except ClientError as exc:
            if error_code(exc) not in ("NoSuchBucket", "404"):
                raise
            keys = None
        if keys is not None:
            ours = []
            for key in keys:  # objects carry the tags of the deployment that uploaded them
                why = ctx.not_ours(object_tags(s3, bucket, key))
                if why is None:
                    ours.append(key)
                else:
                    ctx.warn(f"left s3://{bucket}/{key}: {why}")
            if ctx.dry_run:
                ctx.progress(f"would delete {len(ours)} artifact(s) and the bucket if empty")
                return bool(ours)
            for key in ours:
                s3.delete_object(Bucket=bucket, Key=key)
                changed = True
            if ours:
                ctx.progress(f"deleted {len(ours)} artifact object(s)")
            # The bucket is shared by every deployment of the account and region: it goes
            # only when empty and tagged as the deployer's.
            shared = bucket_tags(s3, bucket).get(TAG_DEPLOYMENT) == bucket_tag_value(
                ctx.target.region
            )
            if shared and not s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("Contents"):
                s3.delete_bucket(Bucket=bucket)
                ctx.progress(f"deleted bucket {bucket}")
                changed = True
        ecr = ctx.client("ecr")
        repo = repository_claim(ecr, ctx.names.repository)
        why = ctx.not_ours(repo.tags) if repo is not None else None
        if repo is not None and why is not None:
            ctx.warn(f"left ECR repository {repo.arn}: {why}")
        elif repo is not None and not ctx.dry_run:
            ecr.delete_repository(repositoryName=ctx.names.repository, force=True)
            ctx.progress(f"deleted ECR repository {ctx.names.repository}")
            changed = True
    except ClientError as exc:
        raise ctx.fail(exc, "deleting the artifacts") from None
    ctx.record.artifact = None
    ctx.record.bucket = ""
    return changed
