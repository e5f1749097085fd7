"""Model cards: content valid against the model card schema, create/update on the moto registry."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from clearance.evidence import modelcard
from clearance.evidence.checks_view import load_checks_file, parse_checks
from clearance.evidence.common import EvidenceError
from clearance.evidence.package import PackageInfo
from clearance.evidence.parse import parse_reports
from clearance.evidence.publish import after_decision

REFERENCE_FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-formats"
BUCKET = "governance-artifacts"
GROUP = "credit-risk-models"
ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TEAM_METADATA = {
    "team:project": "credit-risk",
    "team:description": "Credit decisions for retail loans",
    "team:problem-type": "binary_classification",
    "team:label": "approved",
    "team:facet": "gender",
    "team:model-type": "tabular",
}

# Small reports in the exact shapes Clarify and Model Monitor write (see reference-formats).
BIAS_POST = {
    "version": "1.0",
    "post_training_bias_metrics": {
        "label": "approved",
        "label_value_or_threshold": "1",
        "facets": {
            "gender": [
                {
                    "value_or_threshold": "1",
                    "metrics": [
                        {"name": "DPPL", "description": "Difference in ...", "value": 0.0412},
                        {"name": "DI", "description": "Disparate Impact (DI)", "value": 0.93},
                        {"name": "TE", "description": "Treatment Equality (TE)", "value": -0.21},
                        {
                            "name": "CDDPL",
                            "description": "Conditional Demographic Disparity",
                            "value": None,
                            "error": "Group variable is empty or not provided",
                        },
                    ],
                }
            ]
        },
    },
}
BIAS_PRE = {
    "version": "1.0",
    "pre_training_bias_metrics": {
        "label": "approved",
        "label_value_or_threshold": "1",
        "facets": {
            "gender": [
                {
                    "value_or_threshold": "1",
                    "metrics": [
                        {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.02},
                        {"name": "DPL", "description": "Difference in ...", "value": 0.11},
                    ],
                }
            ]
        },
    },
}
EXPLAINABILITY = {
    "version": "1.0",
    "explanations": {
        "kernel_shap": {
            "label0": {
                "global_shap_values": {"income": 0.31, "age": 0.12, "gender": 0.02, "debt": 0.2},
                "expected_value": 0.4,
            }
        }
    },
}
QUALITY = {
    "version": 0.0,
    "binary_classification_metrics": {
        "confusion_matrix": {"0": {"0": 40, "1": 5}, "1": {"0": 7, "1": 48}},
        "accuracy": {"value": 0.88, "standard_deviation": "NaN"},
        "auc": {"value": 0.93, "standard_deviation": 0.01},
        "f1": {"value": 0.889, "standard_deviation": "NaN"},
    },
}
REPORTS: dict[str, dict[str, Any]] = {
    "bias_pre_training": BIAS_PRE,
    "bias_post_training": BIAS_POST,
    "explainability": EXPLAINABILITY,
    "model_quality": QUALITY,
}
SLOTS = {
    "bias_pre_training": ("Bias", "PreTrainingReport"),
    "bias_post_training": ("Bias", "PostTrainingReport"),
    "explainability": ("Explainability", "Report"),
    "model_quality": ("ModelQuality", "Statistics"),
}


def report_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=1).encode()


def register_package(sm: Any, s3: Any, version_tag: str, reports=REPORTS) -> tuple[str, dict]:
    """Upload reports; register a PendingManualApproval package as the team pipeline does."""
    if not sm.list_model_package_groups(NameContains=GROUP)["ModelPackageGroupSummaryList"]:
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        s3.create_bucket(Bucket=BUCKET)
    metrics: dict[str, dict[str, Any]] = {"Bias": {}}
    pinned = {}
    for kind, doc in reports.items():
        key = f"{version_tag}/{kind}.json"
        data = report_bytes(doc)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        group, slot = SLOTS[kind]
        uri = f"s3://{BUCKET}/{key}"
        metrics.setdefault(group, {})[slot] = {"ContentType": "application/json", "S3Uri": uri}
        pinned[kind] = {"s3_uri": uri, "sha256": hashlib.sha256(data).hexdigest()}
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties=TEAM_METADATA,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": f"s3://{BUCKET}/{version_tag}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics=metrics,
    )["ModelPackageArn"]
    return arn, pinned


def checks_doc(arn: str, decision: str, pinned: dict | None = None, **extra: Any) -> dict:
    passed = decision == "Approved"
    doc = {
        "model_package_arn": arn,
        "policy": {"id": "default", "version": 3, "sha256": "ab" * 32},
        "decision": decision,
        "evaluated_at": "2026-11-25T09:00:00Z",
        "checks": [
            {
                "id": "treatment-equity",
                "report": "bias_post_training",
                "metric": "TE",
                "passed": True,
                "values": [-0.21],
                "bounds": {"min": None, "max": None, "abs_max": 0.8},
                "reason": "all 1 value(s) within bounds",
            },
            {
                "id": "accuracy-floor",
                "report": "model_quality",
                "metric": "accuracy",
                "passed": passed,
                "values": [0.88],
                "bounds": {"min": 0.8 if passed else 0.9, "max": None, "abs_max": None},
                "reason": "within bounds" if passed else "0.88 is below min 0.9",
            },
        ],
    }
    if pinned:
        doc["reports"] = pinned
    doc.update(extra)
    return doc


def write_checks(tmp_path: Path, doc: dict, name: str = "checks.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def record_decision(sm: Any, arn: str, decision: str) -> None:
    """What the approval's Update step writes (merging metadata, as SageMaker does)."""
    meta = dict(sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"])
    meta.update({"clearance:decision": decision, "clearance:policy-version": "3"})
    sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=decision, CustomerMetadataProperties=meta
    )


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.client("sagemaker"), boto3.client("s3")


def stored_card(sm: Any, name: str) -> tuple[dict, dict]:
    desc = sm.describe_model_card(ModelCardName=name)
    return desc, json.loads(desc["Content"])


# --------------------------------------------------------------------------------------------------
# Content and schema


def metric_groups(content: dict, evaluation_name: str) -> list[dict]:
    (item,) = [e for e in content["evaluation_details"] if e["name"] == evaluation_name]
    return item["metric_groups"]


def build(decision: str = "Rejected", reports=REPORTS) -> dict:
    checks = parse_checks(checks_doc("arn:aws:sagemaker:us-east-1:1:model-package/g/1", decision))
    evidence = parse_reports({k: report_bytes(v) for k, v in reports.items()})
    package = PackageInfo.from_describe(
        {
            "ModelPackageArn": checks.model_package_arn,
            "ModelPackageGroupName": "g",
            "ModelPackageVersion": 1,
            "CustomerMetadataProperties": TEAM_METADATA,
        }
    )
    return modelcard.build_content(checks, evidence, package)


def test_content_carries_every_report_and_the_decision():
    """Bias per facet, SHAP bar chart, quality metrics and the decision all land in the card."""
    content = build("Rejected")
    modelcard.validate_content(content)

    post = metric_groups(content, "Clarify post-training bias")
    assert [g["name"] for g in post] == ["gender=1"]
    by_name = {m["name"]: m for m in post[0]["metric_data"]}
    assert by_name["DPPL"] == {
        "name": "DPPL",
        "type": "number",
        "value": 0.0412,
        "notes": "Difference in ...",
    }
    # A null metric is never turned into a number: it is recorded as a string with Clarify's error.
    assert by_name["CDDPL"]["type"] == "string"
    assert "Group variable is empty" in by_name["CDDPL"]["notes"]

    (shap,) = metric_groups(content, "Clarify explainability (SHAP)")
    bar = shap["metric_data"][0]
    assert bar["type"] == "bar_chart"
    assert bar["x_axis_name"] == ["income", "debt", "age", "gender"]
    assert bar["value"] == [0.31, 0.2, 0.12, 0.02]

    (quality,) = metric_groups(content, "Model quality")
    numbers = {m["name"]: m["value"] for m in quality["metric_data"] if m["type"] == "number"}
    assert numbers == {"accuracy": 0.88, "auc": 0.93, "f1": 0.889}
    (matrix,) = [m for m in quality["metric_data"] if m["type"] == "matrix"]
    assert matrix["value"] == [[40, 5], [7, 48]]

    (checks,) = metric_groups(content, "Clearance policy checks")
    assert checks["name"] == "policy default v3"
    assert [(m["name"], m["value"]) for m in checks["metric_data"]] == [
        ("treatment-equity", True),
        ("accuracy-floor", False),
    ]
    custom = content["additional_information"]["custom_details"]
    assert custom["clearance_decision"] == "Rejected"
    assert custom["failed_checks"] == "accuracy-floor"
    assert custom["policy_version"] == "3"
    assert (
        "accuracy-floor: 0.88 is below min 0.9"
        in (content["additional_information"]["caveats_and_recommendations"])
    )
    assert content["intended_uses"]["purpose_of_model"] == TEAM_METADATA["team:description"]
    assert content["model_overview"]["problem_type"] == "Binary Classification"


def test_llm_evaluation_becomes_metric_groups():
    """An LLM evaluation in the quality slot gives one metric group per evaluation."""
    llm = {
        "version": "1.0",
        "llm_evaluation": {
            "memorization": {"edit_similarity_max": 0.12, "samples": 20},
            "bbq": {"accuracy": 0.71, "bias_score": {"ambiguous": 0.05, "disambiguated": None}},
        },
        "details": {},
    }
    content = build("Approved", {"model_quality": llm})
    modelcard.validate_content(content)
    groups = {g["name"]: g for g in metric_groups(content, "LLM evaluation")}
    assert set(groups) == {"memorization", "bbq"}
    bbq = {m["name"]: m for m in groups["bbq"]["metric_data"]}
    assert bbq["bias_score.ambiguous"]["value"] == 0.05
    assert bbq["bias_score.disambiguated"]["type"] == "string"


def test_content_from_real_clarify_and_model_monitor_outputs_validates():
    """AWS's own report files (with a null CDDPL) give schema-valid content."""
    reports = {
        "bias_pre_training": "clarify-pretraining-bias-analysis-checkstep/analysis.json",
        "bias_post_training": "clarify-bias-analysis/analysis.json",
        "explainability": "clarify-explainability-analysis/analysis.json",
        "model_quality": "model-quality-statistics-binary/statistics.json",
    }
    evidence = parse_reports({k: (REFERENCE_FORMATS / v).read_bytes() for k, v in reports.items()})
    assert not evidence.problems
    checks = parse_checks(checks_doc("arn:aws:sagemaker:us-east-1:1:model-package/g/1", "Approved"))
    content = modelcard.build_content(checks, evidence, PackageInfo.from_describe({}))
    modelcard.validate_content(content)
    post = metric_groups(content, "Clarify post-training bias")
    assert post[0]["name"] == "customer_gender_female=1"


def _with(content: dict, path: str, value: Any) -> dict:
    doc = json.loads(json.dumps(content))
    node = doc
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("model_overview.model_name", "x", "model_overview.model_name"),
        ("unknown_section", {}, "unknown_section"),
        ("intended_uses.risk_rating", "Critical", "intended_uses.risk_rating"),
        ("model_overview.model_description", "x" * 1025, "model_overview.model_description"),
        ("evaluation_details.0.metric_groups.0.metric_data.0.name", "n" * 256, "name"),
        ("evaluation_details.0.metric_groups.0.name", "g" * 64, "name"),
        ("evaluation_details.0.metric_groups.0.metric_data.0.value", "yes", "value"),
        ("additional_information.custom_details", {"k": 3}, "custom_details"),
    ],
    ids=[
        "mirror-lacks-model_name",
        "unknown-section",
        "risk-rating-enum",
        "description-1024",
        "metric-name-255",
        "group-name-63",
        "boolean-metric-string-value",
        "custom-details-strings",
    ],
)
def test_invalid_content_is_refused_naming_the_field(path, value, field):
    """Each schema constraint the card relies on is enforced, and the error names the field."""
    with pytest.raises(EvidenceError) as info:
        modelcard.validate_content(_with(build(), path, value))
    assert field in info.value.field


def test_non_json_numbers_and_oversized_content_are_refused():
    """NaN is not JSON and SageMaker caps Content at 100,000 characters."""
    path = "evaluation_details.1.metric_groups.0.metric_data.0.value"
    content = build()
    assert (
        content["evaluation_details"][1]["metric_groups"][0]["metric_data"][0]["type"] == "number"
    )
    with pytest.raises(EvidenceError, match="NaN"):
        modelcard.validate_content(_with(content, path, math.nan))
    huge = _with(content, "training_details.training_observations", "x" * 1000)
    huge = _with(
        huge, "additional_information.custom_details", {f"k{i}": "v" * 1000 for i in range(120)}
    )
    with pytest.raises(EvidenceError, match="100000"):
        modelcard.validate_content(huge)


def test_card_names_fit_the_entity_name_pattern():
    """Names are `<group>-<version>`, and stay unique and valid when the group name is long."""
    short = PackageInfo.from_describe(
        {
            "ModelPackageArn": "arn:x/g/7",
            "ModelPackageGroupName": "credit-risk-models",
            "ModelPackageVersion": 7,
        }
    )
    assert modelcard.card_name_for(short) == "credit-risk-models-7"
    names = set()
    for version in (1, 2, 100):
        long = PackageInfo.from_describe(
            {
                "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:1:model-package/a/{version}",
                "ModelPackageGroupName": "a" * 63,
                "ModelPackageVersion": version,
            }
        )
        name = modelcard.card_name_for(long)
        assert ENTITY_NAME.match(name) and len(name) <= 63
        assert name == modelcard.card_name_for(long)
        names.add(name)
    assert len(names) == 3


REPORT_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**400), 10**400)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "facets",
                    "metrics",
                    "value",
                    "name",
                    "gender",
                    "label0",
                    "kernel_shap",
                    "global_shap_values",
                    "explanations",
                    "pre_training_bias_metrics",
                    "post_training_bias_metrics",
                    "binary_classification_metrics",
                    "accuracy",
                    "confusion_matrix",
                    "llm_evaluation",
                    "memorization",
                    "value_or_threshold",
                    "x",
                ]
            )
            | st.text(max_size=300),
            children,
            max_size=5,
        )
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(SLOTS) + ["llm_evaluation"]),
    doc=REPORT_JSON,
)
def test_fuzzed_reports_never_break_the_card(kind, doc):
    """Whatever a report holds, the card builds, validates, and holds only finite numbers."""
    data = json.dumps(doc, allow_nan=True).encode()
    checks = parse_checks(checks_doc("arn:aws:sagemaker:us-east-1:1:model-package/g/1", "Rejected"))
    content = modelcard.build_content(
        checks, parse_reports({kind: data}), PackageInfo.from_describe({})
    )
    modelcard.validate_content(content)
    text = json.dumps(content, allow_nan=False)  # raises on NaN/Infinity
    assert len(text) <= modelcard.CONTENT_MAX_CHARS


# --------------------------------------------------------------------------------------------------
# The registry (moto)


@pytest.mark.parametrize(
    ("decision", "status"), [("Approved", "Approved"), ("Rejected", "PendingReview")]
)
def test_after_decision_creates_a_card_whose_status_follows_the_decision(
    aws, tmp_path, decision, status
):
    """One card per package, named after it, status from the decision, content as built."""
    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")
    record_decision(sm, arn, decision)
    checks = write_checks(tmp_path, checks_doc(arn, decision, pinned))

    result = after_decision(sm, s3, arn, checks, tmp_path / "out")

    assert (result.card_name, result.card_action, result.card_status) == (
        f"{GROUP}-1",
        "created",
        status,
    )
    desc, content = stored_card(sm, result.card_name)
    assert desc["ModelCardStatus"] == status
    modelcard.validate_content(content)
    custom = content["additional_information"]["custom_details"]
    assert custom["model_package_arn"] == arn
    assert custom["clearance_decision"] == decision
    assert custom["checks_sha256"] == hashlib.sha256(checks.read_bytes()).hexdigest()
    # The reports were read from S3 and verified against checks.json's digests.
    (bias,) = [
        e for e in content["evaluation_details"] if e["name"] == "Clarify post-training bias"
    ]
    assert "verified" in bias["evaluation_observation"]
    assert content["model_overview"]["algorithm_type"] == "XGBoost"
    assert content["model_overview"]["model_artifact"] == [f"s3://{BUCKET}/v1/model.tar.gz"]
    assert result.html_path.read_text(encoding="utf-8").count(decision) >= 1


def test_rerun_changes_nothing_and_new_evidence_updates_the_card(aws, tmp_path):
    """Idempotent re-run; a new decision updates content and status (despite moto quirks)."""
    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")
    first = write_checks(tmp_path, checks_doc(arn, "Rejected", pinned), "first.json")
    created = after_decision(sm, s3, arn, first, tmp_path)
    again = after_decision(sm, s3, arn, first, tmp_path)
    assert again.card_action == "unchanged"
    assert again.card_version == created.card_version

    second = write_checks(
        tmp_path,
        checks_doc(arn, "Approved", pinned, evaluated_at="2026-11-26T10:00:00Z"),
        "second.json",
    )
    updated = after_decision(sm, s3, arn, second, tmp_path)
    assert updated.card_action == "updated"
    desc, content = stored_card(sm, updated.card_name)
    assert desc["ModelCardStatus"] == "Approved"
    assert content == modelcard.build_content(
        load_checks_file(second),
        _evidence_for(sm, s3, arn, second),
        PackageInfo.from_describe(sm.describe_model_package(ModelPackageName=arn)),
    )
    assert (
        content["additional_information"]["custom_details"]["evaluated_at"]
        == "2026-11-26T10:00:00Z"
    )


def _evidence_for(sm, s3, arn, checks_path):
    from clearance.evidence.package import fetch_evidence_reports

    checks = load_checks_file(checks_path)
    package = PackageInfo.from_describe(sm.describe_model_package(ModelPackageName=arn))
    reports, sources = fetch_evidence_reports(s3, checks, package)
    evidence = parse_reports(reports)
    evidence.add_sources(sources)
    return evidence


def test_archived_card_is_left_alone(aws, tmp_path):
    """An Archived card is frozen: no update, whatever the new decision."""
    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")
    sm.create_model_card(ModelCardName=f"{GROUP}-1", Content="{}", ModelCardStatus="Archived")
    result = after_decision(
        sm, s3, arn, write_checks(tmp_path, checks_doc(arn, "Approved", pinned)), tmp_path
    )
    assert result.card_action == "archived-left-alone"
    desc, content = stored_card(sm, f"{GROUP}-1")
    assert (desc["ModelCardStatus"], desc["ModelCardVersion"], content) == ("Archived", 1, {})


def test_checks_of_another_package_are_refused_before_any_write(aws, tmp_path):
    """A checks.json for package 1 can never produce package 2's card."""
    sm, s3 = aws
    arn1, pinned = register_package(sm, s3, "v1")
    arn2, _ = register_package(sm, s3, "v2")
    checks = write_checks(tmp_path, checks_doc(arn1, "Approved", pinned))
    with pytest.raises(EvidenceError, match="model_package_arn"):
        after_decision(sm, s3, arn2, checks, tmp_path / "out")
    assert sm.list_model_cards()["ModelCardSummaries"] == []
    assert not (tmp_path / "out").exists()


def test_a_report_whose_digest_changed_is_reported_not_shown(aws, tmp_path):
    """The card shows what the decision was made on: replaced bytes are flagged and left out."""
    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")
    tampered = dict(
        EXPLAINABILITY, explanations={"kernel_shap": {"label0": {"global_shap_values": {"x": 9.0}}}}
    )
    s3.put_object(Bucket=BUCKET, Key="v1/explainability.json", Body=report_bytes(tampered))
    result = after_decision(
        sm, s3, arn, write_checks(tmp_path, checks_doc(arn, "Rejected", pinned)), tmp_path
    )
    _, content = stored_card(sm, result.card_name)
    (item,) = [
        e for e in content["evaluation_details"] if e["name"].startswith("Clarify explainability")
    ]
    assert item["metric_groups"] == []
    assert "digest mismatch" in item["evaluation_observation"]
    assert "9.0" not in json.dumps(item)


def test_a_failed_card_write_still_leaves_the_page_and_fails_loudly(aws, tmp_path, monkeypatch):
    """If the registry refuses the card, the HTML page is written and the error propagates."""
    from botocore.exceptions import ClientError

    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateModelCard")

    monkeypatch.setattr(sm, "create_model_card", refuse)
    checks = write_checks(tmp_path, checks_doc(arn, "Rejected", pinned))
    with pytest.raises(ClientError, match="AccessDenied"):
        after_decision(sm, s3, arn, checks, tmp_path / "out")
    page = (tmp_path / "out" / f"{GROUP}-1.html").read_text(encoding="utf-8")
    assert 'data-decision="Rejected"' in page and "Model card" not in page


PIPELINE_POLICY = """
version: 1
id: pipeline
rules:
  - id: accuracy-floor
    report: model_quality
    metric: accuracy
    min: {floor}
  - id: treatment-equity
    report: bias_post_training
    metric: TE
    abs_max: 0.8
"""


@pytest.mark.parametrize(
    ("floor", "decision", "status"),
    [(0.8, "Approved", "Approved"), (0.9, "Rejected", "PendingReview")],
)
def test_approval_pipeline_steps_leave_a_card_and_a_page(aws, tmp_path, floor, decision, status):
    """Evaluate step -> Update step with --evidence-dir: decision, card and page agree."""
    from clearance.pipeline.steps import evaluate, update

    sm, s3 = aws
    arn, _ = register_package(sm, s3, "v1")
    policy = tmp_path / "policy.yaml"
    policy.write_text(PIPELINE_POLICY.format(floor=floor), encoding="utf-8")
    out = tmp_path / "evaluate"
    argv = ["--model-package-arn", arn, "--policy", str(policy), "--output-dir", str(out)]
    assert evaluate.main([*argv, "--allowed-buckets", BUCKET]) == 0
    evidence_dir = tmp_path / "evidence"
    assert (
        update.main(["--checks", str(out / "checks.json"), "--evidence-dir", str(evidence_dir)])
        == 0
    )

    meta = sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert meta["clearance:decision"] == decision
    desc, content = stored_card(sm, f"{GROUP}-1")
    assert desc["ModelCardStatus"] == status
    modelcard.validate_content(content)
    custom = content["additional_information"]["custom_details"]
    # The card names the same checks.json the registry metadata pins.
    assert custom["checks_sha256"] == meta["clearance:checks-sha256"]
    assert custom["clearance_decision"] == decision
    # The Evaluate step pinned each report's digest; the card read and verified the same bytes.
    observations = [e.get("evaluation_observation", "") for e in content["evaluation_details"][1:]]
    assert observations and all("verified" in o for o in observations)
    page = (evidence_dir / f"{GROUP}-1.html").read_text(encoding="utf-8")
    assert f'data-decision="{decision}"' in page


@pytest.mark.parametrize(
    "pinned_as", ["llm_evaluation", None], ids=["pinned", "from-model-metrics"]
)
def test_llm_package_shows_its_evaluation_once(aws, tmp_path, pinned_as):
    """The quality slot holding an LLM evaluation gives one LLM evaluation entry and no problem."""
    sm, s3 = aws
    llm = {
        "version": "1.0",
        "llm_evaluation": {
            "memorization": {"edit_similarity_max": 0.12},
            "bold": {"toxicity": 0.01},
        },
        "details": {},
    }
    arn, pinned = register_package(sm, s3, "v1", reports={"model_quality": llm})
    # What the evaluator records for this slot; without it the card reads ModelMetrics (unverified).
    pinned = {pinned_as: pinned["model_quality"]} if pinned_as else None
    checks = write_checks(tmp_path, checks_doc(arn, "Approved", pinned))
    result = after_decision(sm, s3, arn, checks, tmp_path)
    _, content = stored_card(sm, result.card_name)
    names = [e["name"] for e in content["evaluation_details"]]
    assert names == ["Clearance policy checks", "LLM evaluation"]
    (item,) = [e for e in content["evaluation_details"] if e["name"] == "LLM evaluation"]
    assert "Not shown" not in item["evaluation_observation"]
    assert ("verified" in item["evaluation_observation"]) == (pinned_as is not None)
    groups = {g["name"]: g["metric_data"] for g in item["metric_groups"]}
    assert groups["memorization"] == [
        {"name": "edit_similarity_max", "type": "number", "value": 0.12}
    ]
