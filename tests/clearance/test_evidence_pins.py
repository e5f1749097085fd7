"""The decision reads bytes the governance account holds, from the package's own team bucket only,
pinned by VersionId and sha256 in checks.json (issue 9, "Evidence the governance account controls").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clearance.contract import names
from clearance.contract.checks import ChecksError, decision_from_json
from clearance.decide.reports import ReportError
from clearance.handlers.copy_artifacts import copy_records
from clearance.registry import EvidenceStore, fetch_reports

TEAM, OTHER_TEAM = "111111111111", "444444444444"
KEY = names.ProjectKey(TEAM, "credit-risk", "p-abcdefghijkl")
OTHER = names.ProjectKey(OTHER_TEAM, "fraud", "p-bbbbbbbbbbbb")
GOV = "clearance-gov-222222222222-us-east-1"
ARN = f"arn:aws:sagemaker:us-east-1:222222222222:model-package/{KEY.group.lower()}/1"
REPORT = b'{"version": "1.0", "post_training_bias_metrics": {"facets": {}}}'
EVENT = Path(__file__).parents[1] / "events" / "s3_object_created_put.json"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (names.team_bucket(KEY), names.team_bucket(OTHER), "sagemaker-p-shared"):
            client.create_bucket(Bucket=bucket)
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        client.create_bucket(Bucket=GOV)
        client.put_bucket_versioning(Bucket=GOV, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _put_and_copy(s3: Any, bucket: str, key: str, body: bytes) -> str:
    """A team PUT, delivered to copy-artifacts as S3 would; returns the source VersionId."""
    response = s3.put_object(Bucket=bucket, Key=key, Body=body)
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"] = {
        "key": key,
        "size": len(body),
        "eTag": response["ETag"].strip('"'),
        "versionId": response["VersionId"],
        "sequencer": "0055AED6DCD90281E5",
    }
    assert copy_records(event, s3, GOV)[0].action == "copied"
    return response["VersionId"]


def _package(uri: str, body: bytes | None = REPORT, group: str = KEY.group) -> dict[str, Any]:
    source: dict[str, Any] = {"ContentType": "application/json", "S3Uri": uri}
    if body is not None:
        source["ContentDigest"] = f"sha256:{hashlib.sha256(body).hexdigest()}"
    return {
        "ModelPackageArn": ARN,
        "ModelPackageGroupName": group,
        "ModelMetrics": {"Bias": {"PostTrainingReport": source}},
    }


STORE = EvidenceStore(GOV)


def _bias(s3: Any, package: dict[str, Any], store: EvidenceStore | None = STORE) -> Any:
    fetched = fetch_reports(None, s3, ARN, ["sagemaker-*"], described=package, evidence=store)
    return fetched["bias_post_training"], fetched.sources.get("bias_post_training")


def test_decision_reads_the_governance_copy_pinned_by_version_and_sha256(s3: Any) -> None:
    bucket = names.team_bucket(KEY)
    version = _put_and_copy(s3, bucket, "credit-risk/bias.json", REPORT)
    # After registration the team overwrites its report with a "better" one.
    s3.put_object(Bucket=bucket, Key="credit-risk/bias.json", Body=b'{"tampered": true}')
    data, pin = _bias(s3, _package(f"s3://{bucket}/credit-risk/bias.json"))
    assert data == REPORT
    copy_key = names.copy_key(bucket, "credit-risk/bias.json", version)
    assert pin["read_from"] == f"s3://{GOV}/{copy_key}"
    assert pin["source_version_id"] == version
    assert pin["version_id"] == s3.head_object(Bucket=GOV, Key=copy_key)["VersionId"]
    assert pin["sha256"] == hashlib.sha256(REPORT).hexdigest()
    # The pin is a valid checks.json reports entry (the one parser accepts it).
    decision_from_json(_checks({"bias_post_training": pin}))


def test_a_report_never_copied_is_refused_not_read_from_the_team_bucket(s3: Any) -> None:
    bucket = names.team_bucket(KEY)
    s3.put_object(Bucket=bucket, Key="credit-risk/bias.json", Body=REPORT)  # no copy made
    error, pin = _bias(s3, _package(f"s3://{bucket}/credit-risk/bias.json"))
    assert isinstance(error, ReportError) and "no governance copy" in error.reason and pin is None


def test_without_content_digest_nothing_can_be_pinned(s3: Any) -> None:
    bucket = names.team_bucket(KEY)
    _put_and_copy(s3, bucket, "credit-risk/bias.json", REPORT)
    error, _ = _bias(s3, _package(f"s3://{bucket}/credit-risk/bias.json", body=None))
    assert isinstance(error, ReportError) and "no ContentDigest" in error.reason


@pytest.mark.parametrize(
    "bucket",
    [names.team_bucket(OTHER), "sagemaker-p-shared", GOV],
    ids=["another-team", "another-sagemaker-bucket", "governance-bucket"],
)
def test_reports_outside_the_packages_own_team_bucket_are_refused(s3: Any, bucket: str) -> None:
    """Team A cannot point its package at team B's passing report (nor any sagemaker-* bucket),
    even though the configured allow-list ('sagemaker-*') would have let it through."""
    if bucket == GOV:
        s3.put_object(Bucket=bucket, Key="fraud/bias.json", Body=REPORT)
    else:
        _put_and_copy(s3, bucket, "fraud/bias.json", REPORT)
    error, _ = _bias(s3, _package(f"s3://{bucket}/fraud/bias.json"))
    assert isinstance(error, ReportError)
    assert f"not in the project's own bucket s3://{names.team_bucket(KEY)}/" in error.reason


def test_legacy_group_names_keep_the_configured_allow_list(s3: Any) -> None:
    bucket = names.team_bucket(KEY)
    s3.put_object(Bucket=bucket, Key="r.json", Body=REPORT)
    package = _package(f"s3://{bucket}/r.json", group="credit-risk")
    data, pin = _bias(s3, package, store=None)
    assert data == REPORT and pin["version_id"]


def _checks(reports: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_package_arn": ARN,
        "policy": {"id": "default", "version": "1", "sha256": "0" * 64},
        "decision": "Rejected",
        "checks": [
            {
                "id": "r",
                "report": "bias_post_training",
                "metric": "m",
                "passed": False,
                "values": [],
                "bounds": {},
                "reason": "x",
            }
        ],
        "reports": reports,
    }


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ({"sha256": "XYZ"}, "64 lowercase hex"),
        ({"version_id": ""}, "non-empty string"),
        ({"read_from": "https://example.com/x"}, "s3:// URI"),
        ("not-an-object", "must be an object"),
    ],
)
def test_checks_json_pins_are_typed(pin: Any, problem: str) -> None:
    with pytest.raises(ChecksError, match=problem):
        decision_from_json(_checks({"bias_post_training": pin}))
