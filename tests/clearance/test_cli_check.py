"""`clearance check | evaluate | approve`: exit codes 0/1/2/3, one error line, no half-written
checks.json, a table for people and --json for machines, AWS_ENDPOINT_URL honoured."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clearance import cli
from clearance.decide.checks import load_checks

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_FORMATS = REPO_ROOT / "tests" / "fixtures" / "aws-formats"
BIAS = REFERENCE_FORMATS / "clarify-bias-analysis" / "analysis.json"
SHAP = REFERENCE_FORMATS / "clarify-explainability-analysis" / "analysis.json"
QUALITY = REFERENCE_FORMATS / "model-quality-statistics-binary" / "statistics.json"
CONSOLE_SCRIPT = Path(sys.executable).parent / "clearance"

POLICY = """\
version: 1
id: cli-test
rules:
  - {id: class-imbalance, report: bias_pre_training, metric: CI, abs_max: 0.5}
  - {id: disparate-impact, report: bias_post_training, metric: DI, min: 0.8, max: 1.25}
  - {id: gender-reliance, report: explainability, metric: customer_gender_male, abs_max: 0.05}
  - {id: accuracy-floor, report: model_quality, metric: accuracy, min: 0.4}
"""
CDDPL_RULE = "  - {id: cddpl, report: bias_post_training, metric: CDDPL, abs_max: 1}\n"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def _check_args(policy: Path, out: Path, *extra: str) -> list[str]:
    return [
        "check",
        "--policy",
        str(policy),
        "--bias-pre",
        str(BIAS),
        "--bias-post",
        str(BIAS),
        "--explainability",
        str(SHAP),
        "--quality",
        str(QUALITY),
        "--out",
        str(out),
        *extra,
    ]


def test_check_approved_exit_0_with_table(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All rules pass on the reference reports: exit 0, a table, checks.json written."""
    out = tmp_path / "build" / "checks.json"
    assert cli.main(_check_args(policy, out)) == 0
    printed = capsys.readouterr().out
    header, *rows = printed.splitlines()[:5]
    assert header.split() == ["CHECK", "RESULT", "VALUES", "BOUNDS", "REASON"]
    assert rows[1].split()[:4] == ["disparate-impact", "pass", "1", "0.8..1.25"]
    assert "Approved: 4 of 4 checks passed (policy cli-test v1" in printed
    assert load_checks(out).decision == "Approved"


def test_check_rejected_exit_1_and_json(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference CDDPL (null + error) fails: exit 1; --json prints exactly checks.json."""
    policy.write_text(POLICY + CDDPL_RULE)
    out = tmp_path / "checks.json"
    assert cli.main(_check_args(policy, out, "--json")) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    failed = [c for c in printed["checks"] if not c["passed"]]
    assert [c["id"] for c in failed] == ["cddpl"]
    assert "Group variable is empty or not provided" in failed[0]["reason"]


def test_missing_report_option_fails_its_rules_not_the_command(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Omitting --explainability is a missing report: its rule fails, exit 1."""
    args = _check_args(policy, tmp_path / "c.json")
    i = args.index("--explainability")
    del args[i : i + 2]
    assert cli.main(args) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "policy_text, expected",
    [
        ("version: 1\nrules: []\n", "ERROR: policy.rules: empty"),
        (
            "version: 1\nrules:\n  - {id: a, report: model_quality, metric: auc, min: 2, max: 1}\n",
            "ERROR: a.min: min 2 > max 1. Make min <= max",
        ),
        ("version: 1\nrules: [\n", "ERROR: policy.yaml: not valid YAML"),
    ],
    ids=["empty", "min-above-max", "yaml"],
)
def test_invalid_policy_exit_2_one_line_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy_text: str, expected: str
) -> None:
    """One ERROR line naming the field, exit 2, no checks.json."""
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text)
    out = tmp_path / "checks.json"
    assert cli.main(_check_args(path, out)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(expected) and captured.err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda a: a.__setitem__(a.index("--bias-post") + 1, "/nonexistent/analysis.json"),
            "ERROR: --bias-post: /nonexistent/analysis.json does not exist",
        ),
        (
            lambda a: a.__setitem__(a.index("--policy") + 1, "/nonexistent.yaml"),
            "ERROR: --policy: /nonexistent.yaml does not exist",
        ),
        (lambda a: a.remove("--out"), "ERROR: clearance check: "),
        (lambda a: a.append("--bogus"), "ERROR: clearance: unrecognized arguments: --bogus"),
    ],
    ids=["missing-report-file", "missing-policy", "no-out", "unknown-option"],
)
def test_invalid_arguments_exit_2_one_line(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str
) -> None:
    """Bad arguments: exit 2, one ERROR line, nothing written."""
    args = _check_args(policy, tmp_path / "checks.json")
    change(args)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1, err
    assert not (tmp_path / "checks.json").exists()


def test_out_pointing_at_a_directory_is_an_argument_error(
    policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out must be a file path."""
    assert cli.main(_check_args(policy, tmp_path)) == 2
    assert capsys.readouterr().err.startswith("ERROR: --out: ")


def test_a_failed_write_leaves_no_partial_file(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """checks.json is written atomically: a crash before the rename leaves nothing behind."""
    out = tmp_path / "out" / "checks.json"

    def crash(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("clearance.contract.checks.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        cli.main(_check_args(policy, out))
    assert list(out.parent.iterdir()) == []


def test_contract_policy_warns_about_inapplicable_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's sample (label on a bias rule) runs, with a WARNING line on stderr."""
    path = tmp_path / "contract.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: treatment-equity\n    report: bias_post_training\n"
        "    metric: TE\n    facet: customer_gender_female\n    facet_value: '1'\n"
        "    label: label0\n    min: -0.5\n    max: 0.8\n    abs_max: 0.8\n"
    )
    out = tmp_path / "checks.json"
    assert (
        cli.main(["check", "--policy", str(path), "--bias-post", str(BIAS), "--out", str(out)]) == 0
    )
    assert capsys.readouterr().err == (
        "WARNING: treatment-equity.label: does not apply to bias_post_training reports; ignored\n"
    )


def test_llm_report_through_quality_or_llm_option(tmp_path: Path) -> None:
    """An LLM evaluation passed as --llm or --quality is decided by the LLM rules."""
    report = tmp_path / "evaluation.json"
    report.write_text(
        json.dumps({"version": "1.0", "llm_evaluation": {"bold": {"toxicity_rate": 0.01}}})
    )
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nrules:\n"
        "  - {id: tox, report: llm_evaluation, metric: bold.toxicity_rate, max: 0.05,"
        " applies_to: llm}\n"
        "  - {id: auc, report: model_quality, metric: auc, min: 0.7,"
        " applies_to: binary_classification}\n"
    )
    for option in ("--llm", "--quality"):
        out = tmp_path / f"{option[2:]}.json"
        assert (
            cli.main(["check", "--policy", str(path), option, str(report), "--out", str(out)]) == 0
        )
        doc = json.loads(out.read_text())
        assert doc["model_kind"] == "llm" and doc["not_applicable"] == ["auc"]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help lists the subcommands, including the evidence plugin's."""
    assert cli.main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in ("check", "evaluate", "approve"):
        assert name in listing


def test_evidence_commands_are_always_registered(capsys: pytest.CaptureFixture[str]) -> None:
    """report, audit and reevaluate are part of the one parser (no optional plugin import)."""
    assert cli.main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in ("report", "audit", "reevaluate"):
        assert name in listing


def test_console_script_is_installed(policy: Path, tmp_path: Path) -> None:
    """The `clearance` entry point in the virtualenv runs the same main()."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip("clearance console script not installed in this environment")
    out = tmp_path / "checks.json"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *_check_args(policy, out), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "Approved"


# ---------------------------------------------------------- evaluate / approve (moto server)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[Any]:
    from clearance_dev.standin import LocalAWS

    with LocalAWS(region="us-east-1") as aws:
        yield aws


def _register(aws: Any, bucket: str, group: str) -> str:
    import boto3

    s3 = boto3.client("s3")  # AWS_ENDPOINT_URL from LocalAWS: nothing passed explicitly
    sm = boto3.client("sagemaker")
    assert s3.meta.endpoint_url == aws.endpoint_url
    s3.create_bucket(Bucket=bucket)
    metrics: dict[str, Any] = {}
    for section, name, path in (
        ("Bias", "PreTrainingReport", BIAS),
        ("Bias", "PostTrainingReport", BIAS),
        ("Explainability", "Report", SHAP),
        ("ModelQuality", "Statistics", QUALITY),
    ):
        key = f"{group}/{section}-{name}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        metrics.setdefault(section, {})[name] = {
            "ContentType": "application/json",
            "S3Uri": f"s3://{bucket}/{key}",
            "ContentDigest": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    sm.create_model_package_group(ModelPackageGroupName=group)
    return sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        ModelMetrics=metrics,
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7-1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def test_evaluate_then_approve_against_the_endpoint(
    local_aws: Any, policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """evaluate changes nothing; approve records the decision; a second approve says so."""
    import boto3

    arn = _register(local_aws, "team-artifacts-cli", "cli-models")
    common = ["--model-package-arn", arn, "--policy", str(policy)]
    assert cli.main(["evaluate", *common, "--allowed-bucket", "team-artifacts-cli"]) == 0
    sm = boto3.client("sagemaker")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )
    capsys.readouterr()
    out = tmp_path / "checks.json"
    args = ["approve", *common, "--allowed-bucket", "team-*", "--out", str(out), "--json"]
    assert cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["update"]["updated"] is True and printed["decision"] == "Approved"
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    metadata = described["CustomerMetadataProperties"]
    assert metadata["clearance:checks-sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert cli.main(["approve", *common, "--allowed-bucket", "team-*"]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_evaluate_without_allowed_buckets_rejects(
    local_aws: Any,
    policy: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No allow-list: every report fails its rules (exit 1)."""
    monkeypatch.delenv("CLEARANCE_ALLOWED_BUCKETS", raising=False)
    arn = _register(local_aws, "team-artifacts-closed", "closed-models")
    assert cli.main(["evaluate", "--model-package-arn", arn, "--policy", str(policy)]) == 1
    assert "allow-list (empty)" in capsys.readouterr().out


def test_registry_errors_exit_3_and_bad_arn_exit_2(
    local_aws: Any, policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A package that cannot be described is exit 3; a malformed ARN is exit 2; one line each."""
    absent = "arn:aws:sagemaker:us-east-1:123456789012:model-package/absent-models/1"
    assert cli.main(["evaluate", "--model-package-arn", absent, "--policy", str(policy)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("ERROR: describe_model_package: ") and err.count("\n") == 1
    assert cli.main(["approve", "--model-package-arn", "not-an-arn", "--policy", str(policy)]) == 2
    assert capsys.readouterr().err.startswith("ERROR: --model-package-arn: 'not-an-arn'")
