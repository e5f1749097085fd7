"""Stage: the two-account setup, the team's cross-account registration and the evidence copy.

Team account 111111111111 builds and registers; governance account 222222222222 owns the central
registry group, the governance bucket (versioned, Object Lock), the approval pipeline and the
handlers. Every call is made by the principal the templates give it (:mod:`clearance_dev.accounts`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from clearance.contract.reports import EVIDENCE_SLOT
from clearance.contract.status import PENDING
from clearance.handlers.copy_artifacts import CopyResult, copy_records
from clearance_dev.accounts import (
    GOVERNANCE_ACCOUNT,
    GROUP,
    PROJECT_ID,
    PROJECT_NAME,
    TEAM_ACCOUNT,
    TEAM_BUCKET,
    TwoAccounts,
)
from clearance_dev.demo.common import REPORTS, Build, DemoError
from clearance_dev.demo.register import secure_bucket, team_metadata

EVENT_FIXTURE_SEQUENCER = "0055AED6DCD9028"  # S3 sequencers grow; the demo counts up from here


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int
    sequencer: str


class Counter:
    """A MetricSink for the copy core: what the handler's alarms would have seen."""

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


def prepare(accounts: TwoAccounts, region: str, governance_bucket: str) -> str:
    """Buckets of both accounts and the project's registry group; returns the group's ARN."""
    gov_s3 = accounts.setup_client(GOVERNANCE_ACCOUNT, "s3")
    kwargs: dict[str, Any] = {"Bucket": governance_bucket, "ObjectLockEnabledForBucket": True}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    gov_s3.create_bucket(**kwargs)
    gov_s3.put_object_lock_configuration(
        Bucket=governance_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    secure_bucket(gov_s3, governance_bucket, region, create=False)
    team_s3 = accounts.setup_client(TEAM_ACCOUNT, "s3")
    secure_bucket(team_s3, TEAM_BUCKET, region)
    team_s3.put_bucket_versioning(Bucket=TEAM_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    # What the registry-groups Lambda does when the team launches its project (its group policy
    # is not stored: moto 5.2.5 lacks PutModelPackageGroupPolicy; the harness evaluates it).
    registry = accounts.client("registry-groups-role", "sagemaker")
    try:
        registry.describe_model_package_group(ModelPackageGroupName=GROUP)
    except registry.exceptions.ClientError:
        registry.create_model_package_group(
            ModelPackageGroupName=GROUP,
            ModelPackageGroupDescription=f"{PROJECT_NAME} of {TEAM_ACCOUNT}",
        )
    return registry.describe_model_package_group(ModelPackageGroupName=GROUP)[
        "ModelPackageGroupArn"
    ]


def register(
    accounts: TwoAccounts,
    build: Build,
    context: Mapping[str, Any],
    group_arn: str,
    region: str,
    sequence: list[int],
) -> tuple[str, list[Upload]]:
    """The team pipeline's part: reports into its bucket, the package into the governance group
    as PendingManualApproval with a ContentDigest per report. Returns (ARN, uploads)."""
    s3 = accounts.client("team-pipeline", "s3")
    prefix = f"{PROJECT_NAME}-{PROJECT_ID}/{build.label}"
    uploads: list[Upload] = []

    def put(path: Path, key: str) -> tuple[str, str]:
        import hashlib

        data = path.read_bytes()
        response = s3.put_object(
            Bucket=TEAM_BUCKET, Key=key, Body=data, ServerSideEncryption="aws:kms"
        )
        sequence[0] += 1
        uploads.append(
            Upload(
                TEAM_BUCKET,
                key,
                response["ETag"].strip('"'),
                response.get("VersionId"),
                len(data),
                f"{EVENT_FIXTURE_SEQUENCER}{sequence[0]:04X}",
            )
        )
        return f"s3://{TEAM_BUCKET}/{key}", hashlib.sha256(data).hexdigest()

    model_uri, _ = put(build.out_dir / "model" / "model.tar.gz", f"{prefix}/model/model.tar.gz")
    metrics: dict[str, dict[str, Any]] = {}
    for section, key, rel, content_type in REPORTS:
        uri, digest = put(build.reports_dir / rel, f"{prefix}/reports/{rel}")
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
        uri, digest = put(path, f"{prefix}/evidence/{relative}")
        if relative == "manifest.json":
            section, key = EVIDENCE_SLOT
            metrics.setdefault(section, {})[key] = {
                "ContentType": "application/json",
                "S3Uri": uri,
                "ContentDigest": f"sha256:{digest}",
            }
    # The data-quality baseline `make local` writes (issue 13): the deploy's endpoint.monitoring
    # check builds the endpoint's Model Monitor schedule from DriftCheckBaselines.ModelDataQuality.
    drift: dict[str, Any] = {}
    baseline = build.out_dir / "baselines" / "data_quality"
    if (baseline / "statistics.json").is_file() and (baseline / "constraints.json").is_file():
        quality = {}
        for name in ("Statistics", "Constraints"):
            uri, digest = put(
                baseline / f"{name.lower()}.json", f"{prefix}/baselines/{name.lower()}.json"
            )
            # Pinned like the reports: the endpoint check reads the governance copy with this
            # sha256, so a constraints.json loosened after the approval is never monitored with.
            quality[name] = {
                "ContentType": "application/json",
                "S3Uri": uri,
                "ContentDigest": f"sha256:{digest}",
            }
        drift = {"DriftCheckBaselines": {"ModelDataQuality": quality}}
    response = accounts.registration_client().create_model_package(
        ModelPackageGroupName=group_arn,
        ModelPackageDescription=f"{context['project_name']}: local build, BIAS={build.bias}",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": model_uri,
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=PENDING,
        ModelMetrics=metrics,
        CustomerMetadataProperties=team_metadata(
            {**context, "sagemaker_project_name": PROJECT_NAME}
        ),
        **drift,
    )
    return response["ModelPackageArn"], uploads


def s3_event(upload: Upload, region: str) -> dict[str, Any]:
    """The ObjectCreated:Put notification S3 sends copy-artifacts for one upload."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": upload.bucket, "arn": f"arn:aws:s3:::{upload.bucket}"},
                    "object": {
                        "key": quote_plus(upload.key, safe="/"),
                        "size": upload.size,
                        "eTag": upload.etag,
                        "versionId": upload.version_id,
                        "sequencer": upload.sequencer,
                    },
                },
            }
        ]
    }


def copy_evidence(
    accounts: TwoAccounts, uploads: list[Upload], governance_bucket: str, region: str
) -> tuple[list[CopyResult], dict[str, float]]:
    """copy-artifacts (as its role) for every upload; the counters its alarms watch."""
    s3 = accounts.client("copy-role", "s3")
    counter = Counter()
    results: list[CopyResult] = []
    for upload in uploads:
        results.extend(
            copy_records(s3_event(upload, region), s3, governance_bucket, metrics=counter)
        )
    bad = [r for r in results if r.action not in ("copied", "already-copied")]
    if bad:
        raise DemoError(f"copy-artifacts: {bad[0].action}: {bad[0].reason}")
    return results, counter.counts


def write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
