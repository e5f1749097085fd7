"""The Verify step's reads: the bundle and model from allowed buckets, the champion's values."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from bundle_factory import make_bundle
from moto import mock_aws

from clearance.contract.reports import EVIDENCE_SLOT
from clearance.decide.bundle import load_bundle
from clearance.decide.reports import ReportError
from clearance.policy import load_policy
from clearance.registry import champion_values, fetch_bundle

BUCKET = "team-bucket"


@pytest.fixture
def aws(tmp_path: Path):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3, boto3.client("sagemaker", region_name="us-east-1"), tmp_path


def _upload(s3, root: Path, model: Path) -> dict:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        s3.put_object(Bucket=BUCKET, Key=f"run/evidence/{path.relative_to(root).as_posix()}",
                      Body=path.read_bytes())  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="run/model/model.tar.gz", Body=model.read_bytes())
    digest = hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    section, key = EVIDENCE_SLOT
    return {
        "ModelMetrics": {
            section: {
                key: {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{BUCKET}/run/evidence/manifest.json",
                    "ContentDigest": f"sha256:{digest}",
                }
            }
        },
        "InferenceSpecification": {
            "Containers": [{"ModelDataUrl": f"s3://{BUCKET}/run/model/model.tar.gz"}]
        },
    }


def test_bundle_and_model_come_back_digest_checked(aws) -> None:
    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=100)
    described = _upload(s3, root, model)
    got_root, got_model = fetch_bundle(s3, described, [BUCKET], tmp / "fetched")
    loaded = load_bundle(got_root, got_model)
    assert len(loaded.test) == 100 and loaded.facet.name == "gender"


def test_a_bucket_off_the_allow_list_is_refused(aws) -> None:
    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=50)
    described = _upload(s3, root, model)
    with pytest.raises(ReportError, match="not on the allow-list"):
        fetch_bundle(s3, described, ["governance-only"], tmp / "fetched")


def test_a_manifest_edited_after_registration_is_refused(aws) -> None:
    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=50)
    described = _upload(s3, root, model)
    s3.put_object(Bucket=BUCKET, Key="run/evidence/manifest.json", Body=b"{}")
    with pytest.raises(ReportError, match="ContentDigest"):
        fetch_bundle(s3, described, [BUCKET], tmp / "fetched")


def test_no_bundle_registered_says_so(aws) -> None:
    s3, _, tmp = aws
    with pytest.raises(ReportError, match="ModelDataQuality.Statistics"):
        fetch_bundle(s3, {"ModelMetrics": {}}, [BUCKET], tmp)


def test_champion_values_come_from_the_newest_other_approved_package(aws) -> None:
    s3, sm, _ = aws
    group = "g"
    sm.create_model_package_group(ModelPackageGroupName=group)
    arns = []
    for auc in (0.81, 0.86):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"q{auc}.json",
            Body=b'{"binary_classification_metrics": {"auc": {"value": %s}}}' % str(auc).encode(),
        )
        arns.append(
            sm.create_model_package(
                ModelPackageGroupName=group,
                InferenceSpecification={
                    "Containers": [{"Image": "1.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                ModelApprovalStatus="Approved",
                ModelMetrics={
                    "ModelQuality": {
                        "Statistics": {
                            "ContentType": "application/json",
                            "S3Uri": f"s3://{BUCKET}/q{auc}.json",
                        }
                    }
                },
            )["ModelPackageArn"]
        )
    policy = load_policy(
        "version: 1\nrules:\n  - {id: c, report: model_quality, metric: auc, "
        "champion: {max_drop: 0.01}}\n"
    )
    values = champion_values(sm, s3, policy, group, "arn:new", [BUCKET])
    assert values == {("model_quality", "auc"): 0.86}
    assert champion_values(sm, s3, policy, group, arns[1], [BUCKET]) == {
        ("model_quality", "auc"): 0.81
    }
    assert champion_values(sm, s3, policy, None, "arn:new", [BUCKET]) == {}


def _copy_all(s3, gov: str) -> None:
    """What copy-artifacts does: every team object to artifacts/<bucket>/<key>/<version>."""
    from clearance.contract import names

    for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        s3.put_object(Bucket=gov, Key=names.copy_key(BUCKET, obj["Key"], None), Body=body)


def test_with_an_evidence_store_everything_comes_from_the_governance_copies(aws) -> None:
    """Deleting the team's objects after the copy changes nothing: the copies are read."""
    from clearance.registry import EvidenceStore

    s3, _, tmp = aws
    s3.create_bucket(Bucket="gov")
    root, model = make_bundle(tmp / "built", rows=80)
    described = _upload(s3, root, model)
    _copy_all(s3, "gov")
    for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    got_root, got_model = fetch_bundle(s3, described, [BUCKET], tmp / "f", EvidenceStore("gov"))
    assert len(load_bundle(got_root, got_model).test) == 80


def test_a_governance_copy_that_differs_from_the_manifest_is_refused(aws) -> None:
    """A file changed before copy-artifacts saw it: no copy has the manifest's sha256."""
    from clearance.registry import EvidenceStore

    s3, _, tmp = aws
    s3.create_bucket(Bucket="gov")
    root, model = make_bundle(tmp / "built", rows=50)
    described = _upload(s3, root, model)
    s3.put_object(Bucket=BUCKET, Key="run/model/model.tar.gz", Body=b"another model")
    _copy_all(s3, "gov")
    with pytest.raises(ReportError, match="no governance copy of .*model.tar.gz has the manifest"):
        fetch_bundle(s3, described, [BUCKET], tmp / "f", EvidenceStore("gov"))
    assert not (tmp / "f" / "model" / "model.tar.gz").exists()
