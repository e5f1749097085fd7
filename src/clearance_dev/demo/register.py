"""Demo helpers: secure buckets, uploads, the default policy and the team metadata of a build
(the cross-account registration itself is `clearance_dev.demo.central.register`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearance.contract import metadata
from clearance.policy import DEFAULT_POLICY_PATH
from clearance_dev.demo.common import DemoError


def secure_bucket(s3: Any, bucket: str, region: str, *, create: bool = True) -> None:
    """A bucket as the governance product creates them: encrypted, no public access."""
    if create:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
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
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    # No TLS-only bucket policy here although the governance product sets one: moto's server
    # evaluates bucket policies, the stand-in speaks plain http on loopback, and
    # aws:SecureTransport=false then denies every request (403 Forbidden).


def default_policy_path() -> Path:
    path = DEFAULT_POLICY_PATH
    if not path.is_file():
        raise DemoError(f"policy: {path} is missing. Reinstall clearance (make venv)")
    return path


def upload_file(s3: Any, path: Path, bucket: str, key: str) -> tuple[str, str]:
    """Upload one file; returns (s3 uri, sha256 hex)."""
    data = path.read_bytes()
    s3.put_object(Bucket=bucket, Key=key, Body=data, ServerSideEncryption="aws:kms")
    return f"s3://{bucket}/{key}", hashlib.sha256(data).hexdigest()


def team_metadata(context: Mapping[str, Any]) -> dict[str, str]:
    """team:* keys (clearance.contract.metadata, as the team pipeline writes them), clipped to the
    API's 256-character values. ``team:facet`` is the facet column name.
    """
    values = {
        metadata.TEAM_PROJECT: context.get("sagemaker_project_name", ""),
        metadata.TEAM_DESCRIPTION: context.get("description", ""),
        metadata.TEAM_PROBLEM_TYPE: context.get("problem_type", ""),
        metadata.TEAM_LABEL: context.get("label_column", ""),
        metadata.TEAM_FACET: context.get("facet_column", ""),
        metadata.TEAM_MODEL_TYPE: context.get("model_type", ""),
    }
    return {k: metadata.team_value(str(v)) for k, v in values.items() if str(v)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _team_bucket(context: Mapping[str, Any]) -> str:
    return f"{context['sagemaker_project_name']}-artifacts".lower()[:63].rstrip("-.")
