"""`clearance deploy-gate` and `clearance endpoint-check`: exit codes, one ERROR line, output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from clearance.cli import deploy as commands
from clearance.deploy import endpoint_checks

from .conftest import APPROVAL_ROLE, DRIFT, GOV_BUCKET, GROUP, World, rows_of


def _parse(add, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


def _gate_args(arn: str, *extra: str) -> argparse.Namespace:
    return _parse(
        commands.add_gate_arguments,
        [
            "--model-package-arn", arn, "--approval-role-arn", APPROVAL_ROLE,
            "--governance-bucket", GOV_BUCKET, "--accepted-policies", "default@1",
            "--model-package-group", GROUP, *extra,
        ],
    )  # fmt: skip


def test_gate_allows_and_says_who_approved(world: World, capsys) -> None:
    arn = world.register()
    world.approve(arn)
    assert commands.run_gate(_gate_args(arn), (world.reader_sm, world.reader_s3)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ALLOWED {arn}") and "clearance-approval-pipeline-role" in out


def test_gate_says_which_verified_copy_and_refuses_another_model_data_url(
    world: World, capsys
) -> None:
    """The ALLOWED line names the verified copy; GateProd's --expect-model-data-url refuses a
    stack parameter that is not that copy (model-elsewhere), and its --json is the build input."""
    arn = world.register()
    world.approve(arn)
    copy = world.models[arn]["model_read_from"]
    clients = (world.reader_sm, world.reader_s3)
    assert commands.run_gate(_gate_args(arn, "--expect-model-data-url", copy), clients) == 0
    assert f"model {copy} (sha256 {world.models[arn]['model_sha256'][:12]}" in (
        capsys.readouterr().out
    )
    team = "s3://team-bucket/p/model/model.tar.gz"
    args = _gate_args(arn, "--expect-model-data-url", team, "--json")
    assert commands.run_gate(args, clients) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["refusal"]["code"] == "model-elsewhere"
    assert captured.err.strip().startswith("ERROR: ModelDataUrl: the stack would serve " + team)


def test_gate_refusal_is_one_line_exit_1(world: World, capsys) -> None:
    arn = world.register()
    assert commands.run_gate(_gate_args(arn), (world.reader_sm, world.reader_s3)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: ModelApprovalStatus: ")


def test_gate_aws_refusal_exits_3(world: World, capsys) -> None:
    arn = world.register().rsplit("/", 1)[0] + "/77"
    assert commands.run_gate(_gate_args(arn), (world.reader_sm, world.reader_s3)) == 3


def test_gate_bad_config_is_a_usage_error(world: World, capsys) -> None:
    args = _gate_args("x")
    args.accepted_policies = "nonsense"
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 2
    assert capsys.readouterr().err.startswith("ERROR: deploy-gate: ")


def test_promotion_needs_a_passed_staging_result(world: World, capsys) -> None:
    arn = world.register()
    world.approve(arn)
    args = _gate_args(arn, "--require-staging-pass", "--json")
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["refusal"]["code"] == "staging-not-passed"
    report = endpoint_checks.EndpointReport("e", arn, "staging", {"id": "p", "version": "1"})
    report.check("endpoint.smoke", True, "ok")
    endpoint_checks.record_on_package(world.gov_sm, report)
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 0


def test_endpoint_check_against_the_local_endpoint(world: World, artifact, tmp_path: Path) -> None:
    from clearance_dev.deploy_stack import deploy_stage
    from clearance_dev.endpoint import LocalEndpoint

    path, x, _ = artifact
    arn = world.register(drift=DRIFT)
    world.approve(arn)
    params = {
        "StageName": "staging",
        "EndpointInstanceType": "ml.m5.large",
        "EndpointInstanceCount": "1",
        "EnableDataCapture": "true",
        "SamplingPercentage": "100",
    }
    staged = deploy_stage(
        world.gov_sm, params, project="credit-risk-p-abc123", build_id="b1",
        facts={"image": "img", "model_copy": {"s3_uri": "s3://gov/artifacts/b/m.tar.gz/v1"}},
        role_arn="arn:aws:iam::111111111111:role/m", capture_uri="s3://b/capture",
    )  # fmt: skip
    payload = tmp_path / "payload.csv"
    payload.write_text("\n".join(rows_of(x[:50])) + "\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        endpoint_checks.POLICY_FILE.read_text().replace("requests: 200", "requests: 30")
    )
    with LocalEndpoint(path) as endpoint:
        args = _parse(
            commands.add_endpoint_check_arguments,
            [
                "--endpoint-name", staged.endpoint_name, "--model-package-arn", arn,
                "--payload", str(payload), "--policy", str(policy), "--endpoint-url", endpoint.url,
                "--monitoring-role-arn", "arn:aws:iam::111111111111:role/monitor",
                "--monitoring-output-uri", "s3://b/monitoring", "--record",
                "--governance-bucket", GOV_BUCKET, "--out", str(tmp_path / "report.json"),
            ],
        )  # fmt: skip
        code = commands.run_endpoint_check(args, (world.gov_sm, None, world.reader_s3))
        report = json.loads((tmp_path / "report.json").read_text())
        assert code == 0, report
        assert endpoint_checks.staging_passed(world.gov_sm, arn)[0]
        assert report["monitoring"]["baseline"]["statistics"].startswith(f"s3://{GOV_BUCKET}/")
        # Without the governance bucket the baseline cannot be pinned: the check fails closed.
        args.governance_bucket = None
        assert commands.run_endpoint_check(args, (world.gov_sm, None, world.reader_s3)) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    (monitoring,) = [c for c in report["checks"] if c["id"] == "endpoint.monitoring"]
    assert monitoring["outcome"] == "fail" and "no governance bucket" in monitoring["reason"]
    assert report["latency_ms"]["n"] == 30
    # ...and production promotion with it (the failed result is recorded on the package).
    passed, reason = endpoint_checks.staging_passed(world.gov_sm, arn)
    assert not passed and "endpoint.monitoring" in reason


def test_endpoint_check_refuses_a_non_loopback_http_url(tmp_path: Path, capsys) -> None:
    payload = tmp_path / "p.csv"
    payload.write_text("1,2\n")
    args = _parse(
        commands.add_endpoint_check_arguments,
        ["--endpoint-name", "e", "--model-package-arn", "a", "--payload", str(payload),
         "--endpoint-url", "http://example.com"],
    )  # fmt: skip
    assert commands.run_endpoint_check(args, (None, None)) == 2
    assert "loopback" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["--payload"])
def test_endpoint_check_requires_its_arguments(missing: str) -> None:
    with pytest.raises(SystemExit):
        _parse(commands.add_endpoint_check_arguments, ["--endpoint-name", "e"])


def test_promotion_reads_the_staging_report_artifact(world: World, tmp_path: Path, capsys) -> None:
    arn = world.register()
    world.approve(arn)
    report = endpoint_checks.EndpointReport("e", arn, "staging", {"id": "p", "version": "1"})
    report.check("endpoint.smoke", True, "ok")
    path = tmp_path / "endpoint-checks.json"
    path.write_text(json.dumps(report.to_json()))
    args = _gate_args(arn, "--require-staging-pass", "--staging-report", str(path))
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 0
    report.check("endpoint.latency_p95", False, "slow")
    path.write_text(json.dumps(report.to_json()))
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 1
    assert "endpoint.latency_p95" in capsys.readouterr().err
    other = endpoint_checks.EndpointReport("e", arn + "0", "staging", {"id": "p", "version": "1"})
    other.check("endpoint.smoke", True, "ok")
    path.write_text(json.dumps(other.to_json()))
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 1
    path.write_text("{not json")
    assert commands.run_gate(args, (world.reader_sm, world.reader_s3)) == 1


def test_recording_refused_by_the_registry_is_a_warning(world: World, tmp_path: Path, capsys):
    class NoTags:
        def __init__(self, sm):
            self.sm = sm

        def __getattr__(self, name):
            return getattr(self.sm, name)

        def add_tags(self, **kwargs):
            raise RuntimeError("AccessDenied")

    arn = world.register(drift=DRIFT)
    world.approve(arn)
    payload = tmp_path / "p.csv"
    payload.write_text("1,2,3,4,5\n")
    described = {"EndpointName": "e", "DataCaptureConfig": {}}
    sm = NoTags(world.gov_sm)
    sm.describe_endpoint = lambda **_: described
    args = _parse(
        commands.add_endpoint_check_arguments,
        ["--endpoint-name", "e", "--model-package-arn", arn, "--payload", str(payload), "--record"],
    )
    code = commands.run_endpoint_check(args, (sm, None), lambda b, t: (200, b"0.5\n"))
    assert code == 1  # capture is off in this endpoint: the checks fail, the exit says so
    assert "WARNING: endpoint-check: the results were not tagged" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["deploy-gate", "endpoint-check"])
def test_clearance_cli_routes_the_deploy_commands(command: str, capsys) -> None:
    from clearance.cli import main

    assert main([command, "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: clearance {command}: ")
    assert main([command, "--help"]) == 0
    assert "--model-package-arn" in capsys.readouterr().out
