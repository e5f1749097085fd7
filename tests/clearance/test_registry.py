"""Registry round trip on moto: ModelMetrics -> S3 reports (allow-list, ContentDigest) -> decision
-> one update_model_package; re-running on a decided package changes nothing.

moto findings pinned here (see the README):
- botocore refuses an empty ``{}`` MetricsSource on create_model_package (ContentType and S3Uri
  are required), so the SDK's empty entries are reproduced with parameter validation off;
- moto's update_model_package *replaces* CustomerMetadataProperties (real SageMaker merges), so
  apply_decision sends the existing entries too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from moto import mock_aws

from clearance.decide.checks import APPROVED, REJECTED, Check, ChecksError, Decision, evaluate
from clearance.policy import load_policy
from clearance.registry import (
    MAX_DESCRIPTION,
    PENDING,
    apply_decision,
    approval_description,
    decision_metadata,
    fetch_reports,
)

REFERENCE_FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-formats"
BIAS = (REFERENCE_FORMATS / "clarify-bias-analysis" / "analysis.json").read_bytes()
SHAP = (REFERENCE_FORMATS / "clarify-explainability-analysis" / "analysis.json").read_bytes()
QUALITY = (REFERENCE_FORMATS / "model-quality-statistics-binary" / "statistics.json").read_bytes()
TEAM_BUCKET = "sagemaker-project-p-abc123"
OTHER_BUCKET = "someone-elses-bucket"
GROUP = "credit-risk-p-abc123-models"
TEAM_METADATA = {"team:project": "credit-risk-p-abc123", "team:model-type": "tabular"}

POLICY = load_policy(
    """\
version: 2
id: registry-test
rules:
  - {id: class-imbalance, report: bias_pre_training, metric: CI, abs_max: 0.5}
  - {id: disparate-impact, report: bias_post_training, metric: DI, min: 0.8, max: 1.25}
  - {id: gender-reliance, report: explainability, metric: customer_gender_male, abs_max: 0.05}
  - {id: accuracy-floor, report: model_quality, metric: accuracy, min: 0.4}
"""
)


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any]]:
    # One moto state for the module (client creation dominates the run time); every test uses its
    # own object keys, and package versions simply keep counting up.
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sm = boto3.client("sagemaker", region_name="us-east-1")
        for bucket in (TEAM_BUCKET, OTHER_BUCKET):
            s3.create_bucket(Bucket=bucket)
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        yield sm, s3


def _source(s3: Any, key: str, body: bytes, bucket: str = TEAM_BUCKET, digest: bool = True) -> dict:
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    source = {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{key}"}
    if digest:
        source["ContentDigest"] = "sha256:" + hashlib.sha256(body).hexdigest()
    return source


def _metrics(s3: Any, prefix: str | None = None, **replace: Any) -> dict[str, Any]:
    prefix = prefix or uuid.uuid4().hex
    metrics: dict[str, Any] = {
        "Bias": {
            "PreTrainingReport": _source(s3, f"{prefix}/data_bias/analysis.json", BIAS),
            "PostTrainingReport": _source(s3, f"{prefix}/model_bias/analysis.json", BIAS),
        },
        "Explainability": {"Report": _source(s3, f"{prefix}/explainability/analysis.json", SHAP)},
        "ModelQuality": {"Statistics": _source(s3, f"{prefix}/quality/statistics.json", QUALITY)},
    }
    for path, value in replace.items():
        section, name = path.split("__")
        metrics.setdefault(section, {})[name] = value
    return metrics


def _register(sm: Any, metrics: dict[str, Any], status: str = PENDING) -> str:
    return sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        ModelMetrics=metrics,
        CustomerMetadataProperties=dict(TEAM_METADATA),
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7-1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


class CountingSageMaker:
    """Wraps a client and counts update_model_package calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.updates: list[dict[str, Any]] = []

    def update_model_package(self, **kwargs: Any) -> Any:
        self.updates.append(kwargs)
        return self._client.update_model_package(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_round_trip_approves_and_records_metadata(aws: tuple[Any, Any]) -> None:
    """Evaluate from the registry, one update call, describe shows status, reason and metadata."""
    sm, s3 = aws
    arn = _register(sm, _metrics(s3))
    fetched = fetch_reports(sm, s3, arn, [TEAM_BUCKET])
    assert all(isinstance(fetched[k], bytes) for k in ("bias_pre_training", "explainability"))
    assert fetched.model_package_group == GROUP and fetched.approval_status == PENDING
    assert fetched.sources["model_quality"]["sha256"] == hashlib.sha256(QUALITY).hexdigest()
    decision = evaluate(POLICY, fetched, arn, evaluated_at="2026-11-25T10:00:00Z")
    assert decision.decision == APPROVED, [c.reason for c in decision.failed_checks]
    assert decision.to_json()["reports"]["explainability"]["s3_uri"].startswith(
        f"s3://{TEAM_BUCKET}/"
    )

    counting = CountingSageMaker(sm)
    result = apply_decision(counting, decision, decided_at="2026-11-25T10:00:01Z")
    assert result.updated and (result.status_before, result.status_after) == (PENDING, APPROVED)
    assert len(counting.updates) == 1
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == APPROVED
    assert described["ApprovalDescription"] == (
        "Approved by Clearance policy registry-test v2: all 4 checks passed."
    )
    assert described["CustomerMetadataProperties"] == {
        **TEAM_METADATA,
        "clearance:decision": "Approved",
        "clearance:policy-id": "registry-test",
        "clearance:policy-version": "2",
        "clearance:policy-sha256": POLICY.sha256,
        "clearance:checks-sha256": decision.sha256,
        "clearance:decided-at": "2026-11-25T10:00:01Z",
        "clearance:failed-checks": "none",
    }


def test_rerun_on_a_decided_package_changes_nothing(aws: tuple[Any, Any]) -> None:
    """The second apply (or one after a manual decision) makes no update call and says so."""
    sm, s3 = aws
    arn = _register(sm, _metrics(s3))
    decision = evaluate(POLICY, fetch_reports(sm, s3, arn, [TEAM_BUCKET]), arn)
    apply_decision(sm, decision)
    before = sm.describe_model_package(ModelPackageName=arn)
    counting = CountingSageMaker(sm)
    again = apply_decision(counting, decision)
    assert not again.updated and counting.updates == []
    assert "is Approved, not PendingManualApproval: nothing changed" in again.message
    after = sm.describe_model_package(ModelPackageName=arn)
    assert after["CustomerMetadataProperties"] == before["CustomerMetadataProperties"]

    manual = _register(sm, _metrics(s3, "v2"), status="Rejected")
    result = apply_decision(counting, evaluate(POLICY, {}, manual))
    assert not result.updated and counting.updates == [] and result.status_after == "Rejected"


def test_rejection_names_failed_checks(aws: tuple[Any, Any]) -> None:
    """A rejected package is a normal outcome: status, description and failed-checks metadata."""
    sm, s3 = aws
    stray = _source(s3, "v1/quality/statistics.json", QUALITY, bucket=OTHER_BUCKET)
    arn = _register(sm, _metrics(s3, ModelQuality__Statistics=stray))
    decision = evaluate(POLICY, fetch_reports(sm, s3, arn, [TEAM_BUCKET]), arn)
    assert decision.decision == REJECTED
    [failed] = decision.failed_checks
    assert failed.id == "accuracy-floor" and "not on the allow-list" in failed.reason
    apply_decision(sm, decision)
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == REJECTED
    assert described["ApprovalDescription"].startswith(
        "Rejected by Clearance policy registry-test v2: 1 of 4 checks failed: accuracy-floor. "
    )
    assert described["CustomerMetadataProperties"]["clearance:failed-checks"] == "accuracy-floor"


def _fetch_reason(sm: Any, s3: Any, arn: str, kind: str, allowed: list[str] | None = None) -> str:
    value = fetch_reports(sm, s3, arn, allowed if allowed is not None else [TEAM_BUCKET])[kind]
    assert not isinstance(value, bytes), "expected a ReportError"
    return value.reason


def test_report_changed_after_registration_fails_its_digest(aws: tuple[Any, Any]) -> None:
    """ContentDigest 'sha256:<hex>' is verified; an overwritten object fails its rules."""
    sm, s3 = aws
    arn = _register(sm, _metrics(s3, "digest"))
    s3.put_object(Bucket=TEAM_BUCKET, Key="digest/model_bias/analysis.json", Body=BIAS + b" ")
    reason = _fetch_reason(sm, s3, arn, "bias_post_training")
    assert "does not match its ContentDigest" in reason and "changed after registration" in reason


@pytest.mark.parametrize("digest", ["md5:abc", "sha256:xyz", "a" * 64])
def test_undocumented_digest_forms_cannot_be_verified(aws: tuple[Any, Any], digest: str) -> None:
    """Only botocore's documented form [Ss][Hh][Aa]256:<64 hex> is accepted; others fail closed."""
    sm, s3 = aws
    source = _source(s3, "v1/x.json", SHAP)
    source["ContentDigest"] = digest
    arn = _register(sm, _metrics(s3, Explainability__Report=source))
    assert "cannot be verified" in _fetch_reason(sm, s3, arn, "explainability")


def test_uppercase_digest_prefix_and_hex_are_accepted(aws: tuple[Any, Any]) -> None:
    """The pattern is case-insensitive: SHA256:<HEX> verifies."""
    sm, s3 = aws
    source = _source(s3, "v1/x.json", SHAP)
    source["ContentDigest"] = "SHA256:" + hashlib.sha256(SHAP).hexdigest().upper()
    arn = _register(sm, _metrics(s3, Explainability__Report=source))
    assert fetch_reports(sm, s3, arn, [TEAM_BUCKET])["explainability"] == SHAP


def test_missing_object_https_uri_and_prefix_allow_list(aws: tuple[Any, Any]) -> None:
    """Unreadable objects and non-S3 URIs fail with reasons; 'prefix-*' allow-list entries work."""
    sm, s3 = aws
    missing = {"ContentType": "application/json", "S3Uri": f"s3://{TEAM_BUCKET}/nope.json"}
    https = {"ContentType": "application/json", "S3Uri": "https://example.com/analysis.json"}
    arn = _register(
        sm, _metrics(s3, Explainability__Report=missing, ModelQuality__Statistics=https)
    )
    assert "cannot read" in _fetch_reason(sm, s3, arn, "explainability")
    assert "NoSuchKey" in _fetch_reason(sm, s3, arn, "explainability")
    assert "not an s3:// URI" in _fetch_reason(sm, s3, arn, "model_quality")
    fetched = fetch_reports(sm, s3, arn, ["sagemaker-project-*"])
    assert isinstance(fetched["bias_pre_training"], bytes)
    assert "allow-list (empty)" in _fetch_reason(sm, s3, arn, "bias_pre_training", allowed=[])


def test_absent_slots_are_named(aws: tuple[Any, Any]) -> None:
    """A package without bias or explainability metrics fails those rules, naming the slots."""
    sm, s3 = aws
    metrics = _metrics(s3)
    del metrics["Bias"], metrics["Explainability"]
    arn = _register(sm, metrics)
    fetched = fetch_reports(sm, s3, arn, [TEAM_BUCKET])
    assert fetched["bias_pre_training"].reason == (
        "ModelMetrics has no Bias.PreTrainingReport or Bias.Report"
    )
    assert fetched["explainability"].reason == "ModelMetrics has no Explainability.Report"
    assert fetched["llm_evaluation"].reason.startswith(
        "ModelQuality.Statistics holds Model Monitor"
    )


def test_sdk_empty_entries_fall_back_to_the_combined_bias_report(aws: tuple[Any, Any]) -> None:
    """`{}` entries (what the SDK writes for metrics it was not given) count as absent."""
    sm, s3 = aws
    unvalidated = boto3.client(
        "sagemaker", region_name="us-east-1", config=Config(parameter_validation=False)
    )
    metrics = _metrics(s3)
    metrics["Bias"] = {
        "PreTrainingReport": {},
        "PostTrainingReport": {},
        "Report": _source(s3, "v1/bias/analysis.json", BIAS),
    }
    metrics["Explainability"] = {"Report": {}}
    arn = _register(unvalidated, metrics)
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelMetrics"]["Bias"]["PreTrainingReport"] == {}
    fetched = fetch_reports(sm, s3, arn, [TEAM_BUCKET])
    assert fetched["bias_pre_training"] == BIAS and fetched["bias_post_training"] == BIAS
    assert fetched.sources["bias_pre_training"]["slot"] == "Bias.Report"
    assert "no Explainability.Report" in fetched["explainability"].reason


def test_botocore_refuses_empty_metrics_source(aws: tuple[Any, Any]) -> None:
    """Finding: with validation on, botocore rejects `{}` (ContentType/S3Uri are required)."""
    from botocore.exceptions import ParamValidationError

    sm, s3 = aws
    with pytest.raises(ParamValidationError, match="ModelMetrics.Bias.Report"):
        _register(sm, _metrics(s3, Bias__Report={}))


def test_a_broken_dedicated_slot_is_not_bypassed_by_the_combined_report(
    aws: tuple[Any, Any],
) -> None:
    """Bias.Report is a fallback for an absent slot, never for a failing one."""
    sm, s3 = aws
    outside = _source(s3, "v1/data_bias.json", BIAS, bucket=OTHER_BUCKET)
    arn = _register(
        sm,
        _metrics(
            s3,
            Bias__PreTrainingReport=outside,
            Bias__Report=_source(s3, "v1/bias/analysis.json", BIAS),
        ),
    )
    assert "not on the allow-list" in _fetch_reason(sm, s3, arn, "bias_pre_training")


def test_llm_evaluation_in_the_quality_slot(aws: tuple[Any, Any]) -> None:
    """ModelQuality.Statistics holding an llm_evaluation document is the llm_evaluation report."""
    sm, s3 = aws
    llm = json.dumps(
        {"version": "1.0", "llm_evaluation": {"bold": {"toxicity_rate": 0.0}}}
    ).encode()
    arn = _register(sm, {"ModelQuality": {"Statistics": _source(s3, "llm/evaluation.json", llm)}})
    fetched = fetch_reports(sm, s3, arn, [TEAM_BUCKET])
    assert fetched["llm_evaluation"] == llm
    assert "holds an LLM evaluation" in fetched["model_quality"].reason
    assert set(fetched.sources) == {"llm_evaluation"}


def test_describe_errors_propagate(aws: tuple[Any, Any]) -> None:
    """Nothing can be decided about a package that cannot be described."""
    sm, s3 = aws
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        fetch_reports(sm, s3, "arn:aws:sagemaker:us-east-1:123456789012:model-package/absent/1", [])


def _decision(failed: int, passed: int = 1, id_length: int = 40) -> Decision:
    checks = [
        Check(
            f"rule-{i:03d}-" + "x" * (id_length - 9),
            "model_quality",
            "auc",
            False,
            (0.1,),
            {},
            "r" * 300,
        )
        for i in range(failed)
    ] + [Check(f"ok-{i}", "model_quality", "auc", True, (0.9,), {}, "fine") for i in range(passed)]
    return Decision(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        {"id": "p", "version": 1, "sha256": "0" * 64},
        REJECTED if failed else APPROVED,
        tuple(checks),
    )


@functools.cache
def _shape_max(name: str) -> int:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return int(model.shape_for(name).metadata["max"])


# botocore: CustomerMetadataValue pattern ([\p{L}\p{Z}\p{N}_.:\/=+\-@]*); Python's re has no \p.
METADATA_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")


def test_many_failed_checks_fit_the_api_limits() -> None:
    """Description <= 1024 names failed ids first; failed-checks <= 256, space-separated, '+N'."""
    decision = _decision(failed=30)
    description = approval_description(decision)
    assert len(description) == MAX_DESCRIPTION == _shape_max("ApprovalDescription")
    assert description.startswith(
        "Rejected by Clearance policy p v1: 30 of 31 checks failed: rule-000"
    )
    assert description.endswith("...")
    metadata = decision_metadata(decision, "2026-11-25T10:00:00Z")
    failed = metadata["clearance:failed-checks"]
    assert len(failed) <= _shape_max("CustomerMetadataValue")
    shown = failed.split(" ")
    assert shown[-1].startswith("+") and int(shown[-1][1:]) + len(shown) - 1 == 30
    assert all(METADATA_VALUE.match(value) for value in metadata.values()), metadata
    assert all(len(key) <= _shape_max("CustomerMetadataKey") for key in metadata)


def test_metadata_values_are_sanitised_to_the_api_pattern() -> None:
    """A policy id from a hand-edited checks.json cannot smuggle characters the API refuses."""
    decision = Decision(
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        {"id": "team,policy#1", "version": "3;drop", "sha256": "0" * 64},
        APPROVED,
        (Check("ok", "model_quality", "auc", True, (0.9,), {}, "fine"),),
    )
    metadata = decision_metadata(decision, "2026-11-25T10:00:00Z")
    assert metadata["clearance:policy-id"] == "team-policy-1"
    assert metadata["clearance:policy-version"] == "3-drop"


def test_self_contradicting_decision_is_refused_before_any_call(aws: tuple[Any, Any]) -> None:
    """An 'Approved' decision with a failed check never reaches the registry."""
    sm, _ = aws
    bad = _decision(failed=1)
    bad = Decision(bad.model_package_arn, bad.policy, APPROVED, bad.checks)
    counting = CountingSageMaker(sm)
    with pytest.raises(ChecksError, match="Approved but not every check passed"):
        apply_decision(counting, bad)
    assert counting.updates == []


def test_moto_replaces_customer_metadata_on_update(aws: tuple[Any, Any]) -> None:
    """Finding: moto's update_model_package replaces the map (SageMaker merges); pinned here so a
    moto fix is noticed. apply_decision sends existing keys too, so both behave the same."""
    sm, s3 = aws
    arn = _register(sm, _metrics(s3))
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"x": "1"})
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "x": "1"
    }
