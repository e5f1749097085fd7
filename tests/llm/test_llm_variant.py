"""The LLM variant from the template's side: its baked tests pass, its report names are the ones
the default policy bounds, and `make demo-llm` registers the report where the approval reads it.

The LLM variant is baked once per module; its evaluation code is imported from the bake, as a team
would run it. The real model runs only in the slow tests (here and in the baked repo's own).
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cookiecutter.main import cookiecutter
from moto import mock_aws

from clearance.decide.checks import evaluate
from clearance.policy import load_policy
from clearance_dev.demo import llm as llm_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO_ROOT / "src" / "clearance" / "policy" / "policies" / "default.yaml"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/llm-models/1"


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The LLM variant baked with the default answers."""
    out = tmp_path_factory.mktemp("llm-bake")
    return Path(
        cookiecutter(
            str(REPO_ROOT), no_input=True, output_dir=str(out), extra_context={"model_type": "llm"}
        )
    )


@pytest.fixture(scope="module")
def llm(baked: Path) -> Iterator[Any]:
    """The baked repo's llm package, imported from the bake."""
    sys.path.insert(0, str(baked))
    saved = {k: v for k, v in sys.modules.items() if k == "pipelines" or k.startswith("pipelines.")}
    for key in saved:
        del sys.modules[key]
    try:
        package = next((baked / "pipelines").glob("*/llm")).parent.name
        yield importlib.import_module(f"pipelines.{package}.llm.report")
    finally:
        sys.path.remove(str(baked))
        for key in [k for k in sys.modules if k == "pipelines" or k.startswith("pipelines.")]:
            del sys.modules[key]
        sys.modules.update(saved)


def report_with(values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "llm_evaluation": values,
        "details": {},
        "model": {"name": "test"},
        "scorers": {},
    }


def m(value: float, n: int, lower: float, upper: float, **extra: Any) -> dict[str, Any]:
    """A metric in the shared shape (PLAN.md): value, n, 95% interval."""
    interval = {"lower": lower, "upper": upper, "level": 0.95, "method": "test"}
    return {"value": value, "n": n, "interval": interval, **extra}


# SmolLM2-135M-Instruct's values from `make demo-llm` (docs/llm.md, Measured), rounded.
SMOLLM2 = {
    "memorization": {
        "edit_similarity_mean": m(0.083, 46, 0.044, 0.135),
        "lcp_mean": m(0.587, 46, 0.341, 0.864),
        "verbatim_rate": m(0.0, 46, 0.0, 0.077),
    },
    "disinformation": {
        "affirm_rate": m(0.0, 60, 0.0, 0.06),
        "real_affirm_rate": m(0.0, 60, 0.0, 0.06),
        "balanced_accuracy": m(0.5, 120, 0.47, 0.53, group_sizes={"false": 60, "real": 60}),
        "amplify_rate": m(1.0, 8, 0.676, 1.0),
        "wedging_toxicity_rate": m(0.375, 8, 0.137, 0.694),
    },
    "bbq": {
        "accuracy_ambiguous": m(0.057, 140, 0.022, 0.109),
        "accuracy_disambiguated": m(0.55, 160, 0.473, 0.625),
        "bias_score_ambiguous": m(-0.218, 133, -0.379, -0.055),
        "bias_score_ambiguous_helm": m(-0.181, 115, -0.305, -0.055),
        "bias_score_disambiguated": m(-0.048, 129, -0.215, 0.14),
    },
    "bold": {
        "toxicity_rate": m(0.0, 360, 0.0, 0.0106),
        "negative_sentiment_rate": m(0.078, 360, 0.032, 0.131),
        "max_group_difference": m(0.067, 360, 0.0, 0.165),
    },
}


def test_report_sections_carry_every_metric_the_default_policy_bounds(llm: Any) -> None:
    """Each llm_evaluation rule of the default policy names a metric the report always has."""
    policy = load_policy(DEFAULT_POLICY)
    rules = [r for r in policy.rules if r.report == "llm_evaluation"]
    assert rules, "the default policy has no LLM rules"
    for rule in rules:
        section, metric = rule.metric.split(".", 1)
        assert metric in llm.METRICS[section], rule.metric


def test_default_policy_decides_an_llm_report(llm: Any) -> None:
    """SmolLM2's numbers: every LLM rule decided on its interval. Its constant "False" fails the
    balanced disinformation gate; the ambiguous BBQ bias (-0.22, interval [-0.38, -0.05]) and the
    BOLD group difference ([0, 0.165]) straddle their bounds: inconclusive, not passed."""
    report = report_with(SMOLLM2)
    assert llm.problems(report) == []
    decision = evaluate(
        load_policy(DEFAULT_POLICY), {"llm_evaluation": json.dumps(report).encode()}, ARN
    ).to_json()
    llm_checks = [c for c in decision["checks"] if c["report"] == "llm_evaluation"]
    failed = [c["metric"] for c in llm_checks if not c["passed"]]
    assert failed == [
        "disinformation.balanced_accuracy",
        "bbq.bias_score_ambiguous",
        "bold.max_group_difference",
    ]
    reasons = {c["metric"]: c["reason"] for c in llm_checks}
    assert reasons["disinformation.balanced_accuracy"].startswith("fail: 0.5, 95% interval")
    assert reasons["bbq.bias_score_ambiguous"].startswith("inconclusive: insufficient evidence")
    assert "items would decide" in reasons["bbq.bias_score_ambiguous"]
    assert "items per group would decide" not in reasons["bbq.bias_score_ambiguous"]
    assert reasons["bold.toxicity_rate"].startswith("pass: 0, 95% interval [0, 0.0106] (n 360")
    assert decision["decision"] == "Rejected"


def test_a_failed_evaluation_section_is_rejected_with_a_reason(llm: Any) -> None:
    """A section that could not run is nulls + error in the report: its rules fail, closed."""
    values = {**SMOLLM2, "bold": llm.failed_section("bold", "DatasetError: no BOLD prompts")}

    decision = evaluate(
        load_policy(DEFAULT_POLICY),
        {"llm_evaluation": json.dumps(report_with(values)).encode()},
        ARN,
    ).to_json()
    failed = {c["metric"]: c["reason"] for c in decision["checks"] if not c["passed"]}
    assert {"bold.toxicity_rate", "bold.max_group_difference"} <= set(failed)
    assert decision["decision"] == "Rejected"


def test_baked_llm_tests_pass(baked: Path) -> None:
    """The baked repo's own fast LLM tests (formulas, loaders, report, pipeline definition)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"]
        + ["tests/test_llm_evaluations.py", "tests/test_llm_pipeline.py"]
        + ["tests/test_llm_stats.py"],
        cwd=baked,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_demo_registers_the_report_as_model_quality_statistics(tmp_path: Path) -> None:
    """make demo-llm's registration: report in ModelQuality.Statistics with its digest."""
    report_path = tmp_path / "evaluation.json"
    report_path.write_text(json.dumps(report_with(SMOLLM2)))
    context = {
        "project_name": "LLM Team",
        "sagemaker_project_name": "llm-team",
        "model_package_group_name": "llm-team-models",
        "description": "A language model",
    }
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="team-bucket")
        sm.create_model_package_group(ModelPackageGroupName="llm-team-models")
        arn = llm_demo.register_llm(sm, s3, context, report_path, "team-bucket", "us-east-1")
        described = sm.describe_model_package(ModelPackageName=arn)
        statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
        bucket, _, key = statistics["S3Uri"].removeprefix("s3://").partition("/")
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        model_uri = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        mbucket, _, mkey = model_uri.removeprefix("s3://").partition("/")
        tarball = s3.get_object(Bucket=mbucket, Key=mkey)["Body"].read()
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert stored == report_path.read_bytes()
    assert statistics["ContentType"] == "application/json"
    assert statistics["ContentDigest"].startswith("sha256:")
    assert described["CustomerMetadataProperties"]["team:model-type"] == "llm"
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        assert archive.getnames() == ["MODEL.json"]


@pytest.mark.slow
def test_demo_llm_end_to_end(baked: Path, tmp_path: Path) -> None:
    """make demo-llm on the bake: real SmolLM2 evaluation, registration, approval decision."""
    code = llm_demo.main(["--out", str(tmp_path / "demo"), "--baked", str(baked)])
    assert code == 0
    decision = json.loads((tmp_path / "demo" / "decision.json").read_text())
    assert decision["status"] in ("Approved", "Rejected")
    checked = {c["metric"] for c in decision["checks"] if c["report"] == "llm_evaluation"}
    rules = {r.metric for r in load_policy(DEFAULT_POLICY).rules if r.report == "llm_evaluation"}
    assert checked == rules
    for section in ("memorization", "disinformation", "bbq", "bold"):
        assert "error" not in decision["metrics"][section]
