"""The Verify step, run in-process on moto with every call recorded (botocore hooks), then decided
against the templates by the authorization harness (as test_recorded_flow.py does for Evaluate
and Update): a champion package is registered and approved, a candidate registered, and Verify
fetches the candidate's bundle and model from the governance copies, recomputes, looks the
champion up (ListModelPackages, DescribeModelPackage, its report) and writes checks.json, all as
the approval role.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authz_harness import Call, decide
from moto import mock_aws

from clearance.contract.reports import REPORT_FILES, TABULAR_KINDS
from clearance.pipeline.steps import verify
from clearance_dev import accounts as two
from clearance_dev.bench.verify_bundle import make_bundle
from clearance_dev.demo import central
from clearance_dev.demo.common import Build
from clearance_dev.permissions import needed
from clearance_dev.requests import Recorder, load_requests

REGION = "us-east-1"
GOV_BUCKET = two.governance_bucket(REGION)
POLICY = """\
version: 1
id: verify-flow
rules:
  - id: disparate-impact
    report: bias_post_training
    metric: DI
    min: 0.8
    max: 1.25
  - id: auc-vs-champion
    report: model_quality
    metric: auc
    champion: {max_drop: 0.05}
"""
QUALITY = {"binary_classification_metrics": {"auc": {"value": 0.8, "standard_deviation": 0.0}}}


def _build(root: Path, label: str) -> Build:
    """A build with a real verification bundle and XGBoost model (the bench's generator)."""
    build = Build(label, 0.0, root / label, root / f"{label}.log")
    make_bundle(build.out_dir, rows=200)
    for kind in TABULAR_KINDS:
        path = build.reports_dir / REPORT_FILES[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        document = QUALITY if kind == "model_quality" else {"version": "1.0"}
        path.write_text(json.dumps(document), encoding="utf-8")
    return build


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("verify-flow")
    calls = root / "calls.jsonl"
    with mock_aws():
        accounts = two.TwoAccounts(REGION, recorder=Recorder(calls))
        group_arn = central.prepare(accounts, REGION, GOV_BUCKET)
        context = {"project_name": "Credit Risk"}
        champion, uploads = central.register(
            accounts, _build(root, "champion"), context, group_arn, REGION, [0]
        )
        central.copy_evidence(accounts, uploads, GOV_BUCKET, REGION)
        admin = accounts.setup_client(two.GOVERNANCE_ACCOUNT, "sagemaker")
        admin.update_model_package(ModelPackageArn=champion, ModelApprovalStatus="Approved")
        candidate, uploads = central.register(
            accounts, _build(root, "candidate"), context, group_arn, REGION, [100]
        )
        central.copy_evidence(accounts, uploads, GOV_BUCKET, REGION)
        policy = root / "policy.yaml"
        policy.write_text(POLICY, encoding="utf-8")
        out = root / "verified"
        argv = ["--model-package-arn", candidate, "--policy", str(policy)]
        argv += ["--output-dir", str(out), "--allowed-buckets", "sagemaker-*", "--resamples", "100"]
        argv += ["--evidence-bucket", GOV_BUCKET]
        argv += ["--wheels", str(root / "wheels")]  # unused: this venv has XGBoost
        approval = (
            accounts.client("approval-role", "sagemaker"),
            accounts.client("approval-role", "s3"),
        )
        assert verify.main(argv, clients=approval) == 0
        yield {
            "champion": champion,
            "candidate": candidate,
            "checks": json.loads((out / "checks.json").read_text(encoding="utf-8")),
            "requests": [r for r in load_requests([calls]) if r.principal == "approval-role"],
        }


def _calls(recorded: dict[str, Any]) -> list[Call]:
    accounts = {name: account for name, (account, _) in two.ROLES.items()}
    calls = []
    for n in needed(recorded["requests"], REGION, accounts):
        resource = n.resource
        if n.action == "sagemaker:ListModelPackages":
            # The IAM reference lists only model-package for ListModelPackages and the simulator
            # refuses the group ARN; AWS's group-policy example grants it on the group ARN and on
            # model-package/<group>/*: ask for a package of the group (verify_cases._packages).
            resource = recorded["champion"]
        calls.append(Call(n.principal, n.action, resource, dict(n.context)))
    return calls


def test_verify_decided_on_recomputation_with_the_champion(recorded: dict[str, Any]) -> None:
    rules = {c["id"]: c for c in recorded["checks"]["checks"]}
    assert set(rules) == {"disparate-impact", "auc-vs-champion"}
    assert "champion" in rules["auc-vs-champion"]["reason"]


def test_every_recorded_verify_call_is_allowed(recorded: dict[str, Any]) -> None:
    calls = _calls(recorded)
    actions = {c.action for c in calls}
    assert {"sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "s3:GetObject"} <= (
        actions
    )
    reads = [c.resource for c in calls if c.action.startswith("s3:Get")]
    # Reports, the manifest and the model from the governance copies
    # (artifacts/<team bucket>/<key>/<version>); the split's files from the team bucket, each
    # checked against the sha256 the governance-held manifest lists.
    copies = [r for r in reads if r.startswith(f"arn:aws:s3:::{GOV_BUCKET}/artifacts/")]
    team = [r for r in reads if r not in copies]
    assert {"manifest.json", "model.tar.gz"} <= {r.rsplit("/", 2)[-2] for r in copies}
    # The bundle's listed files: the test split, the train label/facet, both Clarify configs.
    assert {r.rsplit("/", 1)[-1] for r in team} == {
        "test.csv",
        "train.csv",
        "data_bias.json",
        "model_bias.json",
    }
    assert team and all("/evidence/" in r for r in team)
    denied = [
        f"{d.call.action} {d.call.resource} -> {d.decision}" for d in decide(calls) if not d.allowed
    ]
    assert not denied, "\n".join(denied)


def test_the_same_lookup_by_another_team_is_denied(recorded: dict[str, Any]) -> None:
    """The suite can fail: the champion lookup's calls, made by the other team, are denied."""
    lookups = [
        Call("other-team-pipeline", c.action, c.resource)
        for c in _calls(recorded)
        if c.action in {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"}
    ]
    assert lookups and not any(d.allowed for d in decide(lookups))
