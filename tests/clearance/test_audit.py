"""`clearance audit` and `clearance reevaluate` on moto, decided and pending packages mixed."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from test_modelcard import BUCKET, GROUP, register_package

from clearance.cli.evidence import main
from clearance.evidence.audit import audit_group

# The approval's registry metadata as the Update step writes it (README: what the registry records).
DECIDED_AT = "2026-11-24T10:00:00Z"


def record(
    sm: Any, arn: str, status: str, *, by_clearance: bool = True, failed: str = "none"
) -> None:
    meta = dict(
        sm.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties") or {}
    )
    if by_clearance:
        meta.update(
            {
                "clearance:decision": status,
                "clearance:policy-id": "default",
                "clearance:policy-version": "1",
                "clearance:policy-sha256": "ab" * 32,
                "clearance:checks-sha256": "cd" * 32,
                "clearance:decided-at": DECIDED_AT,
                "clearance:failed-checks": failed,
            }
        )
    sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=status, CustomerMetadataProperties=meta
    )


@pytest.fixture
def registry():
    """v1 pending, v2 approved by clearance, v3 rejected by clearance, v4 approved by hand,
    v5 rejected by clearance then approved by a person, v6 pending."""
    with mock_aws():
        sm, s3 = boto3.client("sagemaker"), boto3.client("s3")
        arns = [register_package(sm, s3, f"v{i}")[0] for i in range(1, 7)]
        record(sm, arns[1], "Approved")
        record(sm, arns[2], "Rejected", failed="accuracy-floor conditional-disparity +2")
        record(sm, arns[3], "Approved", by_clearance=False)
        record(sm, arns[4], "Rejected", failed="accuracy-floor")
        meta = sm.describe_model_package(ModelPackageName=arns[4])["CustomerMetadataProperties"]
        sm.update_model_package(
            ModelPackageArn=arns[4], ModelApprovalStatus="Approved", CustomerMetadataProperties=meta
        )
        yield sm, s3, arns


def test_audit_lists_every_package_with_its_trail(registry):
    """Status, who decided, when, under which policy, and the failed checks, oldest first."""
    sm, _, arns = registry
    rows = audit_group(sm, GROUP)
    assert [r.arn for r in rows] == arns
    assert [(r.version, r.status, r.decided_by) for r in rows] == [
        (1, "PendingManualApproval", ""),
        (2, "Approved", "clearance"),
        (3, "Rejected", "clearance"),
        (4, "Approved", "manual"),
        (5, "Approved", "manual (clearance said Rejected)"),
        (6, "PendingManualApproval", ""),
    ]
    assert rows[2].failed_checks == ["accuracy-floor", "conditional-disparity"]
    assert rows[2].failed_not_listed == 2  # "+2": ids that did not fit the 256-character value
    assert rows[1].failed_checks == []  # "none" is the registry's spelling of nothing failed
    assert (rows[1].decided_at, rows[1].policy_id, rows[1].policy_version) == (
        DECIDED_AT,
        "default",
        "1",
    )
    assert rows[3].policy_version == "" and rows[3].decided_at == ""


def test_audit_command_prints_a_table_or_json(registry, capsys):
    """People get a table; `--json` gives the same rows as a list of objects."""
    assert main(["audit", "--model-package-group", GROUP]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["version", "status"]
    assert len(out) == 2 + 6
    assert out[4].endswith("accuracy-floor conditional-disparity +2")

    assert main(["audit", "--model-package-group", GROUP, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[2]["failed_checks"] == ["accuracy-floor", "conditional-disparity"]


def test_audit_pages_through_large_groups():
    """ListModelPackages pages at 100: a 120-package group is listed whole."""
    with mock_aws():
        sm = boto3.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="big")
        for _ in range(120):
            sm.create_model_package(
                ModelPackageGroupName="big",
                ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [{"Image": "img"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        rows = audit_group(sm, "big")
    assert [r.version for r in rows] == list(range(1, 121))


def test_unknown_group_is_one_error_line(capsys):
    """A group that does not exist is named, with how to find the right one; exit 2."""
    with mock_aws():
        assert main(["audit", "--model-package-group", "no-such-group"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "ERROR: --model-package-group: no model package group"
    )


# --------------------------------------------------------------------------------------------------
# reevaluate, with the real fetch + evaluate + apply_decision

STRICT_POLICY = """
version: 2
id: stricter
rules:
  - id: accuracy-floor
    report: model_quality
    metric: accuracy
    min: 0.9
  - id: treatment-equity
    report: bias_post_training
    metric: TE
    abs_max: 0.8
"""
LENIENT_POLICY = STRICT_POLICY.replace("min: 0.9", "min: 0.5").replace(
    "id: stricter", "id: lenient"
)


def statuses(sm: Any, arns: list[str]) -> list[tuple[str, dict]]:
    descs = [sm.describe_model_package(ModelPackageName=a) for a in arns]
    return [(d["ModelApprovalStatus"], d.get("CustomerMetadataProperties")) for d in descs]


@pytest.mark.parametrize(
    ("policy", "new", "flipped"),
    [(STRICT_POLICY, "Rejected", [2, 4, 5]), (LENIENT_POLICY, "Approved", [3])],
    ids=["stricter-policy", "lenient-policy"],
)
def test_dry_run_shows_flips_and_changes_nothing(registry, tmp_path, capsys, policy, new, flipped):
    """Which recorded decisions the policy would reverse; registry and cards stay as they were."""
    sm, _, arns = registry
    before = statuses(sm, arns)
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy, encoding="utf-8")
    args = ["reevaluate", "--model-package-group", GROUP, "--policy", str(policy_path)]
    code = main([*args, "--dry-run", "--allowed-buckets", BUCKET, "--json"])
    assert code == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)  # progress went to stderr, so stdout is pure JSON
    assert "[6/6] evaluating" in captured.err
    assert [r["new_decision"] for r in rows] == [new] * 6
    assert [r["version"] for r in rows if r["flips"]] == flipped
    assert {r["action"] for r in rows} == {"dry-run"}
    assert statuses(sm, arns) == before
    assert sm.list_model_cards()["ModelCardSummaries"] == []

    assert main([*args, "--dry-run", "--allowed-buckets", BUCKET]) == 0
    table = capsys.readouterr().out
    assert table.count("FLIP") == len(flipped)
    assert f"{len(flipped)} recorded decision(s) would flip (dry run: nothing changed)" in table


def test_reevaluate_decides_only_pending_packages(registry, tmp_path, capsys):
    """Pending packages get a decision, registry metadata, a card and a page; decided ones stay."""
    sm, _, arns = registry
    before = statuses(sm, arns)
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(STRICT_POLICY, encoding="utf-8")
    out_dir = tmp_path / "evidence"
    code = main(
        [
            "reevaluate",
            "--model-package-group",
            GROUP,
            "--policy",
            str(policy_path),
            "--allowed-buckets",
            BUCKET,
            "--out-dir",
            str(out_dir),
            "--json",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in rows] == [
        "decided",
        "left (already decided)",
        "left (already decided)",
        "left (already decided)",
        "left (already decided)",
        "decided",
    ]
    after = statuses(sm, arns)
    assert after[1:5] == before[1:5]
    for index in (0, 5):
        status, meta = after[index]
        assert status == "Rejected"
        assert meta["clearance:decision"] == "Rejected"
        assert meta["clearance:policy-id"] == "stricter"
        assert "accuracy-floor" in meta["clearance:failed-checks"]
        card = sm.describe_model_card(ModelCardName=f"{GROUP}-{index + 1}")
        assert card["ModelCardStatus"] == "PendingReview"
        assert (out_dir / f"{GROUP}-{index + 1}.html").is_file()
    assert len(sm.list_model_cards()["ModelCardSummaries"]) == 2


def test_reevaluate_refuses_to_run_blind(registry, tmp_path, capsys, monkeypatch):
    """No allowed bucket, or an invalid policy: one error line, exit 2, nothing evaluated."""
    monkeypatch.delenv("CLEARANCE_ALLOWED_BUCKETS", raising=False)
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(STRICT_POLICY, encoding="utf-8")
    base = ["reevaluate", "--model-package-group", GROUP, "--dry-run"]
    assert main([*base, "--policy", str(policy_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: --allowed-buckets: ")

    policy_path.write_text("version: 1\nrules:\n  - id: x\n    report: nope\n", encoding="utf-8")
    assert main([*base, "--policy", str(policy_path), "--allowed-buckets", BUCKET]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: x.report: ")  # the policy's own field


def test_unreachable_endpoint_is_one_error_line(capsys, monkeypatch):
    """No registry to talk to: exit 3 and one line saying what to check, no traceback."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused at once
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["audit", "--model-package-group", GROUP]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: AWS: ")
    assert "AWS_ENDPOINT_URL" in err[0]
