"""make demo: the local pipeline runner's SageMaker semantics (fast) and the whole flow (slow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clearance_dev.demo import common, flow, register
from clearance_dev.demo import events as events_stage
from clearance_dev.demo import runner as runner_stage

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123"

DEFINITION: dict[str, Any] = {
    "Parameters": [
        {"Name": "ModelPackageArn", "Type": "String"},
        {"Name": "PolicyS3Uri", "Type": "String", "DefaultValue": "s3://gov/p/policy/policy.yaml"},
    ],
    "Steps": [
        {
            "Name": "Write",
            "Type": "Processing",
            "Arguments": {
                "AppSpecification": {
                    "ContainerEntrypoint": ["python3", "-c"],
                    "ContainerArguments": [
                        "import sys, pathlib; "
                        "src = pathlib.Path(sys.argv[1]).read_text(); "
                        "pathlib.Path(sys.argv[2], 'out.txt').write_text(src + sys.argv[3])",
                        "/opt/ml/processing/policy/policy.yaml",
                        "/opt/ml/processing/out",
                        {"Get": "Parameters.ModelPackageArn"},
                    ],
                },
                "ProcessingInputs": [
                    {
                        "InputName": "policy",
                        "S3Input": {
                            "S3Uri": {"Get": "Parameters.PolicyS3Uri"},
                            "LocalPath": "/opt/ml/processing/policy",
                            "S3DataType": "S3Prefix",
                        },
                    }
                ],
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "out",
                            "S3Output": {
                                "S3Uri": {
                                    "Std:Join": {
                                        "On": "/",
                                        "Values": [
                                            "s3://gov/p",
                                            {"Get": "Execution.PipelineExecutionId"},
                                            "out",
                                        ],
                                    }
                                },
                                "LocalPath": "/opt/ml/processing/out",
                            },
                        }
                    ]
                },
            },
        },
        {
            "Name": "Read",
            "Type": "Processing",
            "Arguments": {
                "AppSpecification": {
                    "ContainerEntrypoint": ["python3", "-c"],
                    "ContainerArguments": [
                        "import sys, pathlib; "
                        "text = pathlib.Path(sys.argv[1]).read_text(); "
                        "sys.exit(0 if text == 'rules:arn' else 3)",
                        "/opt/ml/processing/in/out.txt",
                    ],
                },
                "ProcessingInputs": [
                    {
                        "InputName": "in",
                        "S3Input": {
                            "S3Uri": {
                                "Get": "Steps.Write.ProcessingOutputConfig.Outputs['out']"
                                ".S3Output.S3Uri"
                            },
                            "LocalPath": "/opt/ml/processing/in",
                            "S3DataType": "S3Prefix",
                        },
                    }
                ],
            },
        },
    ],
}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="gov")
        client.put_object(Bucket="gov", Key="p/policy/policy.yaml", Body=b"rules:")
        yield client


def runner(s3, tmp_path: Path, **parameters: str) -> runner_stage.LocalPipelineRunner:
    return runner_stage.LocalPipelineRunner(
        DEFINITION, s3, tmp_path, "p", EXECUTION, parameters, env={"PATH": "/usr/bin"}
    )


def test_runner_resolves_parameters_joins_and_step_properties(s3, tmp_path: Path) -> None:
    """Inputs download, outputs upload under the execution id, and feed the next step."""
    local = runner(s3, tmp_path, ModelPackageArn="arn")
    assert local.run() is True
    assert local.exit_codes == {"Write": 0, "Read": 0}
    assert (tmp_path / "policy" / "policy.yaml").read_bytes() == b"rules:"
    body = s3.get_object(Bucket="gov", Key="p/abc123/out/out.txt")["Body"].read()
    assert body == b"rules:arn"
    assert local.step_outputs["Write"] == {"out": "s3://gov/p/abc123/out"}


def test_runner_stops_at_a_failed_step_and_uploads_nothing(s3, tmp_path: Path) -> None:
    """A failing step's outputs are not uploaded (as SageMaker) and later steps do not run."""
    local = runner(s3, tmp_path, ModelPackageArn="other")
    local.definition = json.loads(json.dumps(DEFINITION))
    local.definition["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"][0] = (
        "import sys; sys.exit(4)"
    )
    assert local.run() is False
    assert local.exit_codes == {"Write": 4}
    assert "Contents" not in s3.list_objects_v2(Bucket="gov", Prefix="p/abc123/")


def test_runner_refuses_what_it_cannot_emulate(s3, tmp_path: Path) -> None:
    """Unknown expressions and paths outside /opt/ml/processing are errors, never skipped."""
    local = runner(s3, tmp_path, ModelPackageArn="arn")
    with pytest.raises(common.DemoError, match="unsupported"):
        local.resolve({"Get": "Steps.Write.ProcessingJobName"})
    with pytest.raises(common.DemoError, match="not under"):
        local.local("/etc/passwd")
    with pytest.raises(common.DemoError, match="has no value"):
        runner_stage.LocalPipelineRunner(DEFINITION, s3, tmp_path, "p", EXECUTION, {}).resolve(
            {"Get": "Parameters.ModelPackageArn"}
        )


def test_state_change_event_has_the_real_source_string() -> None:
    """The event mirrors SageMaker's: string source (the docs' sample repeats it as a list)."""
    described = {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "ModelPackageGroupName": "g",
        "ModelApprovalStatus": "PendingManualApproval",
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    event = events_stage.state_change_event(described, "123456789012", "us-east-1")
    assert event["source"] == "aws.sagemaker"
    assert event["detail-type"] == "SageMaker Model Package State Change"
    assert event["resources"] == [described["ModelPackageArn"]]
    assert event["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ResponseMetadata" not in event["detail"]
    json.dumps(event)  # serialisable as EventBridge delivers it


def test_team_metadata_values_fit_the_api_pattern() -> None:
    """team:* values keep only the characters CustomerMetadataProperties accepts."""
    metadata = register.team_metadata(
        {
            "sagemaker_project_name": "credit-risk",
            "description": 'Credit model (v2), "quoted"; ok?' + "x" * 400,
            "problem_type": "binary_classification",
            "label_column": "approved",
            "facet_column": "gender",
            "facet_value": "F",
            "model_type": "tabular",
        }
    )
    assert metadata["team:facet"] == "gender"
    assert metadata["team:description"].startswith("Credit model v2 quoted ok")
    assert all(len(v) <= 256 for v in metadata.values())


def test_bad_bias_argument_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Out-of-range input names the flag and the fix, and nothing runs."""
    assert flow.main(["--biased-bias", "2"]) == 2
    assert capsys.readouterr().err == "ERROR: --biased-bias: must be within [0, 1]. Try 0.5\n"


@pytest.mark.slow
def test_demo_end_to_end_approves_the_fair_and_rejects_the_biased(tmp_path: Path) -> None:
    """Bake, build, register, deliver events, run the steps: fair Approved; biased, forged and
    small-sample Rejected (forged on recomputation, small-sample for insufficient evidence)."""
    import subprocess

    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "clearance_dev.demo", "--out", str(out), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    by_label = {d["label"]: d for d in summary["decisions"]}
    # Statuses as describe_model_package returned them on the stand-in.
    assert by_label["fair"]["status"] == "Approved"
    assert by_label["biased"]["status"] == "Rejected"
    assert by_label["fair"]["failed_checks"] == []
    assert by_label["biased"]["failed_checks"]
    for failed in by_label["biased"]["failed_checks"]:
        assert failed["id"] in by_label["biased"]["approval_description"]
    for label in ("fair", "biased", "forged", "small-sample"):
        checks = json.loads((out / label / "checks.json").read_text())
        assert checks["model_package_arn"] == by_label[label]["model_package_arn"]
        assert checks["decision"] == by_label[label]["status"]
        assert checks["verification"]["facet"]
        assert (out / label / "event.json").is_file()
    forged = json.loads((out / "forged" / "checks.json").read_text())
    assert forged["decision"] == "Rejected"
    assert forged["reported_decision"]["decision"] == "Rejected"  # unverified intervals
    reasons = {c["id"]: c["reason"] for c in forged["checks"]}
    assert reasons["disparate-impact"].startswith("reported DI 1.")
    small = by_label["small-sample"]["failed_checks"]
    assert small and all(c["outcome"] == "inconclusive" for c in small)
    assert any(c.get("needed_n") for c in small)
    decisions = json.loads((out / "decisions.json").read_text())
    assert [d["status"] for d in decisions] == ["Approved", "Rejected", "Rejected", "Rejected"]
    # Two accounts: the team's packages sit in the governance account's central registry group.
    for d in decisions:
        assert (
            ":222222222222:model-package/111111111111-credit-risk-p-abcdefghijkl/"
            in (d["model_package_arn"])
        )
    # The authorization summary comes from the harness and shows the attacks denied.
    authz = summary["authz"]
    assert "unavailable" not in authz and not authz["invalid_requests"]
    assert authz["coverage"]["calls"] >= 50 and not authz["coverage"]["denied"]
    assert authz["matrix"]["calls"] >= 100 and not authz["matrix"]["unexpected"]
    assert authz["matrix"]["by_action"]["register as Approved"].get("allowed", 0) == 0
    assert not authz["edges"]["allowed"]
    assert "DENIED" in result.stderr


def test_llm_flag_delegates_to_the_llm_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """make demo-llm: --llm hands the remaining arguments to clearance_dev.demo.llm.main."""
    import types

    calls: list[list[str]] = []
    fake = types.ModuleType("clearance_dev.demo.llm")
    fake.main = lambda argv: calls.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setattr(flow, "llm_demo", fake)
    assert flow.main(["--llm", "--model", "tiny"]) == 0
    assert calls == [["--model", "tiny"]]


def test_default_policy_decides_the_observed_demo_reports() -> None:
    """The values the demo's builds produce: fair passes every default rule, biased fails some.

    Guards the demo's promise (one Approved, one Rejected) against a policy or report change
    without running the builds.
    """
    from clearance.decide.checks import evaluate
    from clearance_dev import bench

    policy = bench.default_policy()
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    fair = evaluate(policy, bench.realistic_reports("fair"), arn)
    biased = evaluate(policy, bench.realistic_reports("biased"), arn)
    assert fair.decision == "Approved", [c.reason for c in fair.failed_checks]
    assert biased.decision == "Rejected"
    assert {c.id for c in biased.failed_checks} >= {"disparate-impact", "data-positive-rate-gap"}


@pytest.mark.slow
def test_bench_counts_every_decision_with_small_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """make bench's machinery end to end with tiny counts: nothing lost, every decision expected."""
    from clearance_dev import bench

    code = bench.main(
        [
            "--skip-llm",
            "--skip-verification",
            "--latency-packages",
            "4",
            "--burst-packages",
            "6",
            "--seconds",
            "0.2",
            "--json",
        ]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["latency"]["statuses"] == {"Approved": 2, "Rejected": 2}
    assert results["latency"]["unexpected_decisions"] == 0
    burst = results["burst"]
    assert (burst["approved"], burst["rejected"], burst["pending_left"], burst["lost"]) == (
        3,
        3,
        0,
        0,
    )
    assert burst["executions_started"] == 6
    assert results["throughput"]["report_sets_per_second"] > 0


def test_eventbridge_rule_with_the_shared_pattern_routes_only_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the stand-in's EventBridge, only PendingManualApproval events reach the handler."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/{}"
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = events_stage.route_pending_events(events, sqs)
        for version, status in ((1, "Approved"), (2, "PendingManualApproval"), (3, "Rejected")):
            events_stage.emit_state_change(
                events,
                {
                    "ModelPackageArn": arn.format(version),
                    "ModelPackageGroupName": "g",
                    "ModelPackageVersion": version,
                    "ModelApprovalStatus": status,
                },
            )
        received = events_stage.receive_events(sqs, queue, expected=1, timeout_s=3)
        assert [e["detail"]["ModelPackageArn"] for e in received] == [arn.format(2)]
        assert received[0]["source"] == "aws.sagemaker"
        assert received[0]["id"]  # the handler's idempotency token comes from it
        with pytest.raises(common.DemoError, match="0 of 1 events matched"):
            events_stage.receive_events(sqs, queue, expected=1, timeout_s=1)
