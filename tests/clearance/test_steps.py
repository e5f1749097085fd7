"""The approval pipeline's processing entry points on moto, with a registered package.

Evaluate writes checks.json; Update sets the status in one call; a rejection exits 0; an invalid
policy or checks.json fails the step with one error line and leaves the registry untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clearance.pipeline.steps import evaluate, update

REGION = "us-east-1"
BUCKET = "governance-reports"
GROUP = "credit-risk-models"

POLICY = """\
version: 1
id: steps-test
rules:
  - id: statistical-parity
    report: bias_pre_training
    metric: DPL
    facet: gender
    abs_max: 0.1
  - id: disparate-impact
    report: bias_post_training
    metric: DI
    min: 0.8
    max: 1.25
  - id: accuracy
    report: model_quality
    metric: accuracy
    min: 0.6
"""

INVALID_POLICY = """\
version: 1
rules:
  - id: disparate-impact
    report: bias_post_training
    metric: DI
    min: 1.25
    max: 0.8
"""


def clarify_bias(section: str, metrics: dict[str, float | None]) -> dict[str, Any]:
    """A Clarify analysis.json with one facet value, in the processing job's exact shape."""
    entries = []
    for name, value in metrics.items():
        entry: dict[str, Any] = {"name": name, "description": name, "value": value}
        if value is None:
            entry["error"] = "Group variable is empty or not provided"
        entries.append(entry)
    return {
        "version": "1.0",
        section: {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {"gender": [{"value_or_threshold": "1", "metrics": entries}]},
        },
    }


def quality(accuracy: float) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": 600, "evaluation_time": "2026-01-01T00:00:00.000Z"},
        "binary_classification_metrics": {
            "accuracy": {"value": accuracy, "standard_deviation": 0.01},
            "auc": {"value": 0.8, "standard_deviation": 0.01},
        },
    }


FAIR = {
    "Bias/PreTrainingReport": clarify_bias(
        "pre_training_bias_metrics", {"DPL": -0.04, "CI": -0.01, "CDDL": None}
    ),
    "Bias/PostTrainingReport": clarify_bias(
        "post_training_bias_metrics", {"DI": 1.05, "DPPL": -0.02, "CDDPL": None}
    ),
    "ModelQuality/Statistics": quality(0.72),
}
BIASED = {
    **FAIR,
    "Bias/PreTrainingReport": clarify_bias("pre_training_bias_metrics", {"DPL": 0.2, "CI": -0.01}),
    "Bias/PostTrainingReport": clarify_bias("post_training_bias_metrics", {"DI": 0.31}),
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sm = boto3.client("sagemaker", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        yield sm, s3


def register(sm: Any, s3: Any, reports: dict[str, dict], bucket: str = BUCKET) -> str:
    metrics: dict[str, dict[str, Any]] = {}
    for slot, document in reports.items():
        section, key = slot.split("/")
        body = json.dumps(document).encode()
        object_key = f"reports/{len(sm.list_model_packages()['ModelPackageSummaryList'])}/{slot}"
        if bucket == BUCKET:
            s3.put_object(Bucket=bucket, Key=object_key, Body=body)
        metrics.setdefault(section, {})[key] = {
            "ContentType": "application/json",
            "S3Uri": f"s3://{bucket}/{object_key}",
            "ContentDigest": "sha256:" + hashlib.sha256(body).hexdigest(),
        }
    return sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics=metrics,
        CustomerMetadataProperties={"team:project": "credit-risk"},
    )["ModelPackageArn"]


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """The policy as the PolicyS3Uri input lands in the container: one YAML in a directory."""
    directory = tmp_path / "policy"
    directory.mkdir()
    (directory / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return directory


def run_evaluate(arn: str, policy: Path, out: Path, buckets: str = BUCKET) -> int:
    return evaluate.main(
        [
            "--model-package-arn",
            arn,
            "--policy",
            str(policy),
            "--output-dir",
            str(out),
            "--allowed-buckets",
            buckets,
        ]
    )


def status(sm: Any, arn: str) -> str:
    return sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]


def test_fair_package_is_evaluated_then_approved(aws, policy_dir: Path, tmp_path: Path) -> None:
    """Evaluate writes checks.json (Approved); Update records it with the clearance metadata."""
    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    checks = json.loads((out / "checks.json").read_text())
    assert checks["model_package_arn"] == arn
    assert checks["decision"] == "Approved"
    assert checks["policy"]["id"] == "steps-test"
    assert {c["id"]: c["passed"] for c in checks["checks"]} == {
        "statistical-parity": True,
        "disparate-impact": True,
        "accuracy": True,
    }
    assert status(sm, arn) == "PendingManualApproval"  # Evaluate never writes to the registry

    assert update.main(["--checks", str(out / "checks.json")]) == 0
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    metadata = described["CustomerMetadataProperties"]
    assert metadata["clearance:decision"] == "Approved"
    assert metadata["clearance:policy-id"] == "steps-test"
    assert (
        metadata["clearance:checks-sha256"]
        == hashlib.sha256((out / "checks.json").read_bytes()).hexdigest()
    )


def test_biased_package_is_rejected_and_both_steps_exit_zero(
    aws, policy_dir: Path, tmp_path: Path
) -> None:
    """A rejection is a successful run; the description names the failed checks."""
    sm, s3 = aws
    arn = register(sm, s3, BIASED)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    checks = json.loads((out / "checks.json").read_text())
    assert checks["decision"] == "Rejected"
    failed = {c["id"] for c in checks["checks"] if not c["passed"]}
    assert failed == {"statistical-parity", "disparate-impact"}
    assert update.main(["--checks", str(out / "checks.json")]) == 0
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert "statistical-parity" in described["ApprovalDescription"]
    assert "disparate-impact" in described["ApprovalDescription"]
    assert len(described["ApprovalDescription"]) <= 1024


def test_invalid_policy_fails_with_one_line_and_writes_nothing(
    aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """min > max: exit 2, one ERROR line naming rule and field, no checks.json, still pending."""
    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    policy = tmp_path / "bad.yaml"
    policy.write_text(INVALID_POLICY, encoding="utf-8")
    out = tmp_path / "checks"
    capsys.readouterr()
    assert run_evaluate(arn, policy, out) == 2
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err_lines) == 1
    assert err_lines[0].startswith("ERROR: disparate-impact.")  # as `clearance check` names it
    assert not out.exists() or not any(out.iterdir())
    assert status(sm, arn) == "PendingManualApproval"


def test_policy_directory_must_hold_exactly_one_yaml(
    aws, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two candidate policies is ambiguous: refuse rather than guess."""
    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    (policy_dir / "other.yml").write_text(POLICY, encoding="utf-8")
    capsys.readouterr()
    assert run_evaluate(arn, policy_dir, tmp_path / "checks") == 2
    assert capsys.readouterr().err.startswith("ERROR: --policy: ")
    assert not (tmp_path / "checks" / "checks.json").exists()


def test_reports_outside_the_allow_list_fail_their_rules(
    aws, policy_dir: Path, tmp_path: Path
) -> None:
    """Only allow-listed buckets are read: everything else is a failed check, not an approval."""
    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out, buckets="some-other-bucket") == 0
    checks = json.loads((out / "checks.json").read_text())
    assert checks["decision"] == "Rejected"
    assert not any(c["passed"] for c in checks["checks"])


def test_tampered_checks_json_is_refused_and_registry_untouched(
    aws, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Approved verdict contradicted by its own failed checks never reaches the registry."""
    sm, s3 = aws
    arn = register(sm, s3, BIASED)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    doc = json.loads((out / "checks.json").read_text())
    doc["decision"] = "Approved"
    (out / "checks.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert update.main(["--checks", str(out / "checks.json")]) == 2
    assert capsys.readouterr().err.startswith("ERROR: --checks: ")
    assert status(sm, arn) == "PendingManualApproval"


def test_update_on_a_decided_package_changes_nothing(aws, policy_dir: Path, tmp_path: Path) -> None:
    """Re-running Update after a person (or a previous run) decided leaves the package alone."""
    sm, s3 = aws
    arn = register(sm, s3, BIASED)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription="approved by a person",
    )
    assert update.main(["--checks", str(out / "checks.json")]) == 0
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "approved by a person"


def test_malformed_arn_is_one_error_line(tmp_path: Path, policy_dir: Path, capsys) -> None:
    """No AWS call is made for an ARN that is not a model package's."""
    capsys.readouterr()
    assert run_evaluate("not-an-arn", policy_dir, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ERROR: --model-package-arn: ")


def test_unknown_package_fails_the_step_without_output(
    aws, policy_dir: Path, tmp_path: Path, capsys
) -> None:
    """A package that cannot be described is not decided: exit 3 (AWS error), no checks.json."""
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/99"
    capsys.readouterr()
    assert run_evaluate(arn, policy_dir, tmp_path / "out") == 3
    assert capsys.readouterr().err.startswith("ERROR: --model-package-arn: cannot describe")
    assert not (tmp_path / "out" / "checks.json").exists()


def test_update_writes_the_evidence_before_the_decision(
    aws, policy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--evidence-dir: the evidence hook runs while the package is pending, then once more after
    the decision (refreshing the page's status line)."""
    from clearance.pipeline import steps

    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    calls = []

    def hook(sm_client, s3_client, package_arn, checks_path, out_dir):
        calls.append((package_arn, Path(checks_path), Path(out_dir), status(sm_client, arn)))

    monkeypatch.setattr(steps, "after_decision", hook)
    evidence = tmp_path / "evidence"
    assert update.main(["--checks", str(out / "checks.json"), "--evidence-dir", str(evidence)]) == 0
    assert calls == [
        (arn, out / "checks.json", evidence, "PendingManualApproval"),
        (arn, out / "checks.json", evidence, "Approved"),
    ]


def test_a_failure_writing_evidence_leaves_the_package_pending(
    aws, policy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Never decided without evidence: the card write fails -> exit 3, status and metadata
    untouched (the pipeline's retry, or a re-run, decides once the evidence can be written)."""
    from clearance.pipeline import steps

    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0

    def failing(*_: object) -> None:
        raise RuntimeError("AccessDenied: sagemaker:CreateModelCard")

    monkeypatch.setattr(steps, "after_decision", failing)
    capsys.readouterr()
    code = update.main(["--checks", str(out / "checks.json"), "--evidence-dir", str(tmp_path)])
    assert code == 3
    assert "CreateModelCard" in capsys.readouterr().err
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert not any(
        k.startswith("clearance:") for k in described.get("CustomerMetadataProperties", {})
    )


def test_steps_run_from_the_code_bundle_against_the_stand_in(tmp_path: Path, policy_dir) -> None:
    """The shipped zip (what the processing job imports) runs both steps as subprocesses."""
    from clearance.pipeline.bundle import build_code_bundle
    from clearance_dev.standin import LocalAWS

    bundle = build_code_bundle(tmp_path / "clearance.zip")
    with LocalAWS(region=REGION) as aws:
        sm, s3 = aws.client("sagemaker"), aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        arn = register(sm, s3, BIASED)
        env = {**os.environ, "PYTHONPATH": str(bundle)}
        env.pop("AWS_DEFAULT_REGION", None)  # the steps take the region from the package ARN
        probe = "import clearance.pipeline.steps.evaluate as m; print(m.__file__)"
        where = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        assert where.stdout.startswith(str(bundle))
        out = tmp_path / "checks"
        evaluated = subprocess.run(
            [sys.executable, "-m", "clearance.pipeline.steps.evaluate", "--model-package-arn", arn,
             "--policy", str(policy_dir), "--output-dir", str(out), "--allowed-buckets", BUCKET],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert evaluated.returncode == 0, evaluated.stderr
        updated = subprocess.run(
            [sys.executable, "-m", "clearance.pipeline.steps.update",
             "--checks", str(out / "checks.json")],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert updated.returncode == 0, updated.stderr
        assert status(sm, arn) == "Rejected"


def test_group_override_beside_the_policy_applies(aws, policy_dir: Path, tmp_path: Path) -> None:
    """overrides/<group>.yaml next to the policy (the PolicyS3Uri prefix layout) is resolved."""
    sm, s3 = aws
    arn = register(sm, s3, BIASED)
    (policy_dir / "overrides").mkdir()
    (policy_dir / "overrides" / f"{GROUP}.yaml").write_text(
        "version: 3\n"
        "rules:\n"
        "  - id: disparate-impact\n"
        "    report: bias_post_training\n"
        "    metric: DI\n"
        "    min: 0.3\n"
        "remove_rules:\n"
        "  - id: statistical-parity\n"
        "    reason: this group's data is known to be skewed and is corrected downstream\n",
        encoding="utf-8",
    )
    out = tmp_path / "checks"
    assert run_evaluate(arn, policy_dir, out) == 0
    checks = json.loads((out / "checks.json").read_text())
    assert checks["decision"] == "Approved"
    assert [c["id"] for c in checks["checks"]] == ["disparate-impact", "accuracy"]
    assert GROUP in checks["policy"]["id"]


@pytest.mark.parametrize(
    ("module", "argv"),
    [(evaluate, ["--policy", "p.yaml"]), (update, []), (update, ["--checks"])],
    ids=["evaluate-missing-arn", "update-missing-checks", "update-checks-without-value"],
)
def test_bad_arguments_are_one_error_line(
    module: Any, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's usage dump is replaced by the house format: one ERROR line, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        module.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: arguments: ") and err.count("\n") == 1
    assert "--help" in err


def test_a_pending_package_with_a_forged_decision_is_not_evaluated(
    aws, policy_dir: Path, tmp_path: Path, capsys
) -> None:
    """clearance:* keys are written by the approval only, when it decides: a pending package that
    carries one at registration fails the step (exit 2, nothing written), fail closed."""
    sm, s3 = aws
    arn = register(sm, s3, FAIR)
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={
            "team:project": "credit-risk",
            "clearance:decision": "Approved",
        },
    )
    capsys.readouterr()
    assert run_evaluate(arn, policy_dir, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: --model-package-arn: ") and "clearance:decision" in err
    assert not (tmp_path / "out" / "checks.json").exists()
    assert status(sm, arn) == "PendingManualApproval"
