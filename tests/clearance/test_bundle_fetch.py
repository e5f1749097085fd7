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
from clearance.registry import EvidenceStore, champion_values, fetch_bundle, fetch_bundle_pinned

BUCKET = "team-bucket"
GOV = "gov-bucket"


@pytest.fixture
def aws(tmp_path: Path):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=GOV)
        s3.put_bucket_versioning(Bucket=GOV, VersioningConfiguration={"Status": "Enabled"})
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
    # The champion's report changed or vanished: its value is the reason, never left out (which
    # would let the rule's own, looser bounds decide).
    s3.put_object(Bucket=BUCKET, Key="q0.86.json", Body=b"not json")
    [reason] = champion_values(sm, s3, policy, group, "arn:new", [BUCKET]).values()
    assert isinstance(reason, str) and arns[1] in reason and "auc" in reason


def test_a_champion_that_cannot_be_listed_fails_its_rules_closed() -> None:
    """An AWS error listing the group's Approved packages (e.g. AccessDenied) becomes the reason
    of every champion rule, and checks.evaluate fails those rules: Rejected, not the own bounds."""
    from botocore.exceptions import ClientError

    from clearance.contract.status import REJECTED
    from clearance.decide import checks

    class DeniedSageMaker:
        def list_model_packages(self, **_: object) -> None:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
            raise ClientError(error, "ListModelPackages")

    policy = load_policy(
        "version: 1\nrules:\n  - {id: c, report: model_quality, metric: auc, min: 0.5, "
        "champion: {max_drop: 0.01}}\n"
    )
    values = champion_values(DeniedSageMaker(), None, policy, "g", "arn:new", [BUCKET])
    [(key, reason)] = values.items()
    assert key == ("model_quality", "auc")
    assert reason.startswith("cannot list the Approved packages of g: ")
    assert "AccessDenied" in reason
    report = b'{"binary_classification_metrics": {"auc": {"value": 0.9}}}'
    arn = "arn:aws:sagemaker:us-east-1:222222222222:model-package/g/2"
    decision = checks.evaluate(policy, {"model_quality": report}, arn, champions=values)
    assert decision.decision == REJECTED
    [check] = decision.checks
    assert not check.passed and "champion comparison cannot be made" in check.reason
    # Without the champion entry the same report passes on the rule's own bound (min 0.5).
    assert checks.evaluate(policy, {"model_quality": report}, arn).decision != REJECTED


def _copy_all(s3) -> None:
    """What copy-artifacts does: every team object to artifacts/<bucket>/<key>/<version>."""
    for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        s3.put_object(Bucket=GOV, Key=f"artifacts/{BUCKET}/{obj['Key']}/null", Body=body)


def test_with_an_evidence_store_the_model_is_the_governance_copy_and_pinned(aws) -> None:
    """Manifest and model come from the governance copies; a model.tar.gz the team swaps later
    is not what Verify scores, and the pin names the copy and its VersionId."""
    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=60)
    described = _upload(s3, root, model)
    _copy_all(s3)
    s3.put_object(Bucket=BUCKET, Key="run/model/model.tar.gz", Body=b"swapped after the copy")
    got_root, got_model, pin = fetch_bundle_pinned(
        s3, described, [BUCKET], tmp / "fetched", EvidenceStore(GOV)
    )
    copy_key = f"artifacts/{BUCKET}/run/model/model.tar.gz/null"
    assert got_model.read_bytes() == model.read_bytes()
    assert pin == {
        "model_read_from": f"s3://{GOV}/{copy_key}",
        "model_version_id": s3.head_object(Bucket=GOV, Key=copy_key)["VersionId"],
    }
    assert (
        load_bundle(got_root, got_model).model_sha256
        == hashlib.sha256(model.read_bytes()).hexdigest()
    )
    # Without a store: the team's current object (here the swapped one), and no pin.
    _, team_model, none = fetch_bundle_pinned(s3, described, [BUCKET], tmp / "team")
    assert team_model.read_bytes() == b"swapped after the copy" and none == {}


def test_no_governance_copy_with_the_manifests_model_digest_is_refused(aws) -> None:
    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=60)
    described = _upload(s3, root, model)
    s3.put_object(Bucket=BUCKET, Key="run/model/model.tar.gz", Body=b"swapped before the copy")
    _copy_all(s3)
    with pytest.raises(ReportError, match="no governance copy of .*model.tar.gz has sha256"):
        fetch_bundle_pinned(s3, described, [BUCKET], tmp / "fetched", EvidenceStore(GOV))
    assert not (tmp / "fetched" / "model" / "model.tar.gz").exists()


def test_verify_records_the_governance_copy_it_scored(aws) -> None:
    """The Verify step's recomputation records model_read_from/model_version_id beside
    model_sha256 in checks.json's verification (what the deploy gate requires)."""
    from clearance.pipeline.steps.verify import recompute
    from clearance.policy import load_default_policy

    s3, _, tmp = aws
    root, model = make_bundle(tmp / "built", rows=200)
    described = _upload(s3, root, model)
    _copy_all(s3)
    result, problem = recompute(
        s3, described, [BUCKET], load_default_policy(), 100, EvidenceStore(GOV)
    )
    assert problem is None, problem
    copy_key = f"artifacts/{BUCKET}/run/model/model.tar.gz/null"
    assert result.bundle["model_read_from"] == f"s3://{GOV}/{copy_key}"
    assert (
        result.bundle["model_version_id"] == s3.head_object(Bucket=GOV, Key=copy_key)["VersionId"]
    )
    assert result.bundle["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    # No copy of the evaluated model: verification fails closed, with the reason.
    s3.delete_object(Bucket=GOV, Key=copy_key)
    for version in s3.list_object_versions(Bucket=GOV, Prefix=copy_key).get("Versions", []):
        s3.delete_object(Bucket=GOV, Key=copy_key, VersionId=version["VersionId"])
    result, problem = recompute(
        s3, described, [BUCKET], load_default_policy(), 100, EvidenceStore(GOV)
    )
    assert result is None and "no governance copy" in problem
