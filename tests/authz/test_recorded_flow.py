"""The two-account flow, run in-process on moto with every call recorded (botocore hooks), then:

- request validity: each request fits botocore's shapes, patterns, lengths and enums included;
- permission coverage: each call is allowed for the principal that made it, by the templates
  (decided by the authorization harness, the same simulator as the matrix);
- the flow happened across two accounts: the team's package sits in the governance account's
  group, the evidence was read from governance-held copies, pinned in checks.json.

The demo (make demo) runs the same stages on the moto server with real builds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authz_harness import Call, decide
from moto import mock_aws

from clearance.contract.reports import REPORT_FILES, TABULAR_KINDS
from clearance.handlers.start_approval import start_approval
from clearance.pipeline.steps import evaluate, update
from clearance_dev import accounts as two
from clearance_dev.demo import central
from clearance_dev.demo.common import Build
from clearance_dev.permissions import needed
from clearance_dev.requests import Recorder, load_requests, validate_request

REGION = "us-east-1"
GOV_BUCKET = two.governance_bucket(REGION)
POLICY = """\
version: 1
id: flow-test
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
"""


def _bias(section: str, metrics: dict[str, float]) -> dict[str, Any]:
    entries = [{"name": k, "description": k, "value": v} for k, v in metrics.items()]
    return {
        "version": "1.0",
        section: {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {"gender": [{"value_or_threshold": "1", "metrics": entries}]},
        },
    }


def _build(root: Path) -> Build:
    build = Build("fair", 0.0, root / "fair", root / "fair.log")
    docs = {
        "bias_pre_training": _bias("pre_training_bias_metrics", {"DPL": -0.04}),
        "bias_post_training": _bias("post_training_bias_metrics", {"DI": 1.05}),
    }
    for kind in TABULAR_KINDS:
        path = build.reports_dir / REPORT_FILES[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(docs.get(kind, {"version": "1.0"})), encoding="utf-8")
    (build.out_dir / "model").mkdir(parents=True)
    (build.out_dir / "model" / "model.tar.gz").write_bytes(b"model")
    return build


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("flow")
    calls = root / "calls.jsonl"
    with mock_aws():
        accounts = two.TwoAccounts(REGION, recorder=Recorder(calls))
        group_arn = central.prepare(accounts, REGION, GOV_BUCKET)
        policy = root / "policy" / "policy.yaml"
        policy.parent.mkdir()
        policy.write_text(POLICY, encoding="utf-8")
        arn, uploads = central.register(
            accounts, _build(root), {"project_name": "Credit Risk"}, group_arn, REGION, [0]
        )
        copied, counts = central.copy_evidence(accounts, uploads, GOV_BUCKET, REGION)
        setup_sm = accounts.setup_client(two.GOVERNANCE_ACCOUNT, "sagemaker")
        setup_sm.create_pipeline(
            PipelineName=two.APPROVAL_PIPELINE,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=two.role_arn("approval-role"),
        )
        described = setup_sm.describe_model_package(ModelPackageName=arn)
        event = {
            "id": "11111111-2222-3333-4444-555555555555",
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Model Package State Change",
            "account": two.GOVERNANCE_ACCOUNT,
            "detail": {
                "ModelPackageArn": arn,
                "ModelPackageGroupName": described["ModelPackageGroupName"],
                "ModelApprovalStatus": "PendingManualApproval",
            },
        }
        started = start_approval(
            event,
            accounts.client("start-approval-role", "sagemaker"),
            two.APPROVAL_PIPELINE,
            account=two.GOVERNANCE_ACCOUNT,
        )
        approval = (
            accounts.client("approval-role", "sagemaker"),
            accounts.client("approval-role", "s3"),
        )
        out = root / "checks"
        argv = ["--model-package-arn", arn, "--policy", str(policy), "--output-dir", str(out)]
        argv += ["--allowed-buckets", "sagemaker-*", "--evidence-bucket", GOV_BUCKET]
        assert evaluate.main(argv, clients=approval) == 0
        checks = json.loads((out / "checks.json").read_text(encoding="utf-8"))
        # SageMaker uploads the step's output into the governance bucket (as the approval role).
        approval[1].put_object(
            Bucket=GOV_BUCKET,
            Key=f"{two.APPROVAL_PIPELINE}/exec-1/Evaluate/checks/checks.json",
            Body=(out / "checks.json").read_bytes(),
        )
        evidence = root / "evidence"
        argv = ["--checks", str(out / "checks.json"), "--evidence-dir", str(evidence)]
        assert update.main(argv, clients=approval) == 0
        final = setup_sm.describe_model_package(ModelPackageName=arn)
        checks_sha256 = hashlib.sha256((out / "checks.json").read_bytes()).hexdigest()
        yield {
            "accounts": accounts,
            "group_arn": group_arn,
            "root": root,
            "arn": arn,
            "started": started,
            "copied": copied,
            "counts": counts,
            "checks": checks,
            "final": final,
            "checks_sha256": checks_sha256,
            "requests": load_requests([calls]),
        }


def test_the_flow_ran_across_two_accounts(flow: dict[str, Any]) -> None:
    assert flow["arn"].startswith(
        f"arn:aws:sagemaker:{REGION}:{two.GOVERNANCE_ACCOUNT}:model-package/{two.GROUP}/"
    )
    assert flow["started"].action == "started"
    assert [r.action for r in flow["copied"]] == ["copied"] * 5
    assert not any(flow["counts"].values())  # nothing skipped or malformed
    assert flow["final"]["ModelApprovalStatus"] == "Approved"
    pin = flow["checks"]["reports"]["bias_post_training"]
    assert pin["read_from"].startswith(f"s3://{GOV_BUCKET}/artifacts/{two.TEAM_BUCKET}/")
    assert pin["version_id"] and pin["source_version_id"] and len(pin["sha256"]) == 64
    principals = {r.principal for r in flow["requests"]}
    assert {"team-pipeline", "copy-role", "start-approval-role", "approval-role"} <= principals


def test_every_recorded_request_fits_botocore_shapes(flow: dict[str, Any]) -> None:
    """Patterns, lengths and enums included (botocore's own validator checks none of them)."""
    invalid = {
        f"{r.principal} {r.service}:{r.operation}": problems
        for r in flow["requests"]
        if (problems := validate_request(r))
    }
    assert len(flow["requests"]) >= 40
    assert not invalid, invalid


def test_every_recorded_call_is_allowed_for_its_principal(flow: dict[str, Any]) -> None:
    """Permission coverage: what the code did under each role, decided against the templates."""
    accounts = {name: account for name, (account, _) in two.ROLES.items()}
    wanted = needed(flow["requests"], REGION, accounts)
    calls = [Call(n.principal, n.action, n.resource, dict(n.context)) for n in wanted]
    assert {c.principal for c in calls} == {
        "team-pipeline",
        "copy-role",
        "start-approval-role",
        "approval-role",
        "registry-groups-role",
    }
    denied = [
        f"{d.call.principal} {d.call.action} {d.call.resource} -> {d.decision}"
        for d in decide(calls)
        if not d.allowed
    ]
    assert not denied, "\n".join(denied)


def test_a_denied_call_would_be_reported(flow: dict[str, Any]) -> None:
    """The suite can fail: the same team call into ANOTHER team's group is denied."""
    accounts = {name: account for name, (account, _) in two.ROLES.items()}
    [create] = [
        n
        for n in needed(flow["requests"], REGION, accounts)
        if n.action == "sagemaker:CreateModelPackage"
    ]
    other = create.resource.replace(two.GROUP.lower(), "444444444444-fraud-p-bbbbbbbbbbbb")
    [decision] = decide([Call(create.principal, create.action, other, dict(create.context))])
    assert not decision.allowed


def test_audit_reconciles_decisions_against_governance_checks(
    flow: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit trusts the governance-held checks.json, not the registry's metadata: a decision
    made around the approval, or metadata that matches no governance checks.json, is a finding."""
    from clearance.evidence.audit import audit_group
    from clearance.evidence.reconcile import find_checks, reconcile

    accounts = flow["accounts"]
    admin = accounts.setup_client(two.GOVERNANCE_ACCOUNT, "sagemaker")
    s3 = accounts.setup_client(two.GOVERNANCE_ACCOUNT, "s3")
    # A second package, approved by hand with forged clearance:* metadata (what the SCP and the
    # group policy deny in AWS; moto lets the stand-in's administrator do it).
    forged, _ = central.register(
        accounts,
        _build(flow["root"] / "forged"),
        {"project_name": "x"},
        flow["group_arn"],
        REGION,
        [100],
    )
    admin.update_model_package(
        ModelPackageArn=forged,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={
            "clearance:decision": "Approved",
            "clearance:checks-sha256": flow["checks_sha256"],
        },
    )
    held, problems = find_checks(s3, GOV_BUCKET, f"{two.APPROVAL_PIPELINE}/")
    assert not problems and len(held) == 1
    verdicts = {
        row.arn: verdict for row, verdict, _ in reconcile(audit_group(admin, two.GROUP), held)
    }
    assert verdicts[flow["arn"]] == "ok"
    assert verdicts[forged] == "FINDING: Approved with no governance checks.json"

    # Metadata rewritten after the decision: its checks-sha256 matches no governance checks.json.
    admin.update_model_package(
        ModelPackageArn=flow["arn"],
        ModelApprovalStatus="Approved",  # moto drops a status the call does not repeat
        CustomerMetadataProperties={"clearance:checks-sha256": "0" * 64},
    )
    [(_, verdict, _)] = [
        item
        for item in reconcile(audit_group(admin, two.GROUP), held)
        if item[0].arn == flow["arn"]
    ]
    assert verdict.startswith("FINDING: clearance:checks-sha256 000000000000 matches none")

    # The command: one line per package, a finding exits 1.
    from clearance.cli import evidence as cli

    monkeypatch.setattr(cli, "_clients", lambda: (admin, s3))
    args = ["--model-package-group", two.GROUP, "--governance-bucket", GOV_BUCKET, "--json"]
    parser = argparse.ArgumentParser()
    cli.add_audit_arguments(parser)
    capsys.readouterr()
    assert cli.run_audit(parser.parse_args(args)) == 1
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["reconciled"].startswith("FINDING") for r in rows) == 2
