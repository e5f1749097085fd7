"""The approval's Update step records where the governance-held checks.json is; the gate uses it.

End to end on the two-account stand-in: the Update step (as the approval role) records the decision
with clearance:checks-uri and clearance:checks-version-id; the gate then allows the package, and
refuses it once checks.json is replaced in the governance bucket.
"""

from __future__ import annotations

import json

from clearance.contract.checks import Check, Decision
from clearance.deploy.gate import check_package
from clearance.pipeline import definition
from clearance.pipeline.steps import update
from clearance.registry import apply_decision

from .conftest import GOV_BUCKET, POLICY, World


def _decision(arn: str, model: dict) -> Decision:
    check = Check("auc", "model_quality", "auc", True, (0.9,), {"min": 0.7}, "0.9 >= 0.7")
    verification = {"manifest_sha256": "cd" * 32, **model}  # Verify's record of the model copy
    return Decision(
        arn, POLICY, "Approved", (check,), evaluated_at="2026-11-28T06:00:00Z",
        verification=verification,
    )  # fmt: skip


def test_update_records_the_checks_location_and_the_gate_follows_it(world: World) -> None:
    arn = world.register()
    decision = _decision(arn, world.models[arn])
    location = update.publish_checks(
        world.gov_s3, f"s3://{GOV_BUCKET}/clearance-approval/checks", decision
    )
    assert set(location) == {"clearance:checks-uri", "clearance:checks-version-id"}
    key = location["clearance:checks-uri"].split("/", 3)[3]
    assert key == f"clearance-approval/checks/{arn.split('/', 1)[1]}/checks.json"
    apply_decision(world.gov_sm, decision, checks_location=location)
    metadata = world.gov_sm.describe_model_package(ModelPackageName=arn)[
        "CustomerMetadataProperties"
    ]
    assert metadata["clearance:checks-uri"] == f"s3://{GOV_BUCKET}/{key}"
    config = world.config.__class__(
        world.config.approval_role_arn,
        GOV_BUCKET,
        {"default": frozenset({"1"})},
        world.config.model_package_group,
    )
    assert check_package(world.reader_sm, world.reader_s3, arn, config).allowed
    world.gov_s3.put_object(Bucket=GOV_BUCKET, Key=key, Body=decision.to_bytes())
    refusal = check_package(world.reader_sm, world.reader_s3, arn, config).refusal
    assert refusal.code == "checks-overwritten"


def test_the_pipeline_publishes_checks_where_the_gate_reads_them() -> None:
    doc = json.loads(
        definition.render_definition(
            "us-east-1", "arn:aws:iam::222222222222:role/clearance-approval-pipeline-role", "gov"
        )
    )
    (step,) = [s for s in doc["Steps"] if s["Name"] == definition.UPDATE_STEP]
    args = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    prefix = args[args.index("--publish-checks-prefix") + 1]
    assert prefix == f"s3://gov/{definition.DEFAULT_PIPELINE_NAME}/checks"
    # The gate's default key is the same place.
    from clearance.deploy.gate import DEFAULT_CHECKS_KEY

    assert DEFAULT_CHECKS_KEY.startswith(f"{definition.DEFAULT_PIPELINE_NAME}/checks/")
