"""Stage: buckets, uploads and the PendingManualApproval registration of each build."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearance.contract import metadata
from clearance.contract.reports import EVIDENCE_SLOT
from clearance.contract.status import PENDING
from clearance.policy import DEFAULT_POLICY_PATH
from clearance_dev.demo.common import REPORTS, Build, DemoError


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


def register(
    sm: Any,
    s3: Any,
    build: Build,
    context: Mapping[str, Any],
    team_bucket: str,
    region: str,
) -> str:
    """Upload one build's artifacts and register it as PendingManualApproval; returns the ARN."""
    group = context["model_package_group_name"]
    prefix = f"{context['sagemaker_project_name']}/{build.label}"
    model_uri, _ = upload_file(
        s3, build.out_dir / "model" / "model.tar.gz", team_bucket, f"{prefix}/model/model.tar.gz"
    )
    metrics: dict[str, dict[str, Any]] = {}
    for section, key, rel, content_type in REPORTS:
        uri, digest = upload_file(
            s3, build.reports_dir / rel, team_bucket, f"{prefix}/reports/{rel}"
        )
        metrics.setdefault(section, {})[key] = {
            "ContentType": content_type,
            "S3Uri": uri,
            "ContentDigest": f"sha256:{digest}",
        }
    # The verification bundle: every file under its own prefix, the manifest in its ModelMetrics
    # slot with its digest (docs/verification.md).
    evidence = build.out_dir / "evidence"
    for path in sorted(p for p in evidence.rglob("*") if p.is_file()):
        relative = path.relative_to(evidence).as_posix()
        uri, digest = upload_file(s3, path, team_bucket, f"{prefix}/evidence/{relative}")
        if relative == "manifest.json":
            section, key = EVIDENCE_SLOT
            metrics.setdefault(section, {})[key] = {
                "ContentType": "application/json",
                "S3Uri": uri,
                "ContentDigest": f"sha256:{digest}",
            }
    # The data-quality baseline `make local` writes: a Model Monitor schedule on the endpoint
    # compares captured requests with it (the deploy's endpoint.monitoring check builds it).
    drift: dict[str, Any] = {}
    baseline = build.out_dir / "baselines" / "data_quality"
    if (baseline / "statistics.json").is_file() and (baseline / "constraints.json").is_file():
        quality = {}
        for name in ("Statistics", "Constraints"):
            uri, digest = upload_file(
                s3,
                baseline / f"{name.lower()}.json",
                team_bucket,
                f"{prefix}/baselines/data_quality/{name.lower()}.json",
            )
            quality[name] = {"ContentType": "application/json", "S3Uri": uri}
        drift = {"DriftCheckBaselines": {"ModelDataQuality": quality}}
    response = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"{context['project_name']}: local build, BIAS={build.bias}",
        InferenceSpecification={
            "Containers": [
                {
                    # The built-in XGBoost image the team pipeline trains with (us-east-1 account;
                    # the stand-in does not pull it).
                    "Image": f"683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": model_uri,
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=PENDING,
        ModelMetrics=metrics,
        CustomerMetadataProperties=team_metadata(context),
        **drift,
    )
    return response["ModelPackageArn"]


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
