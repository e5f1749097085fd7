"""The deploy gate: one test per refusal code, the allowed path, and nothing written."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable

import botocore.session
import pytest
from botocore.validate import ParamValidator

from clearance.deploy.gate import (
    REFUSAL_CODES,
    GateConfig,
    check_package,
    parse_accepted_policies,
)

from .conftest import (
    APPROVAL_ROLE,
    GOV_BUCKET,
    GROUP,
    MODEL_COPIES,
    MODEL_DATA_URL,
    POLICY,
    World,
    checks_bytes,
)

READ_ONLY = {"DescribeModelPackage", "HeadObject", "GetObject"}


def gate(world: World, arn: str, config: GateConfig | None = None):
    return check_package(world.reader_sm, world.reader_s3, arn, config or world.config)


def test_governance_approval_is_allowed_and_gate_only_reads(world: World) -> None:
    arn = world.register(drift={"ModelDataQuality": {}})
    world.approve(arn)
    world.calls.clear()
    result = gate(world, arn)
    assert result.allowed, result.refusal
    assert result.facts["approved_by"].startswith(
        "arn:aws:sts::222222222222:assumed-role/clearance-approval-pipeline-role/"
    )
    assert result.facts["policy"] == POLICY
    assert result.facts["model_data_url"] == "s3://team-bucket/p/model/model.tar.gz"
    assert result.facts["checks"]["version_id"]
    assert result.facts["model_copy"] == {
        "s3_uri": world.models[arn]["model_read_from"],
        "version_id": world.models[arn]["model_version_id"],
        "sha256": world.models[arn]["model_sha256"],
        "bytes": len(f"model of {arn}"),
        "source": MODEL_DATA_URL,
    }
    assert set(world.calls) <= READ_ONLY and "DescribeModelPackage" in world.calls


def test_a_model_swapped_in_the_team_bucket_after_approval_changes_nothing(world: World) -> None:
    """The team overwrites model.tar.gz after the decision; copy-artifacts copies the new version
    next to the verified one. The gate still deploys the verified copy, byte for byte: the team's
    object is never read, and the new copy is not the one checks.json names."""
    arn = world.register()
    world.approve(arn)
    world.gov_s3.create_bucket(Bucket="team-bucket")
    world.gov_s3.put_object(Bucket="team-bucket", Key="p/model/model.tar.gz", Body=b"swapped")
    swapped = world.copy_model("team-v-swapped", b"swapped")
    world.calls.clear()
    result = gate(world, arn)
    assert result.allowed, result.refusal
    copy = result.facts["model_copy"]
    assert copy["s3_uri"] == world.models[arn]["model_read_from"] != swapped["model_read_from"]
    assert copy["sha256"] == hashlib.sha256(f"model of {arn}".encode()).hexdigest()
    assert copy["sha256"] != swapped["model_sha256"]


def test_model_refusals_name_the_copy_and_the_fix(world: World) -> None:
    arn, _ = _model_digest(world)
    refusal = gate(world, arn).refusal
    assert refusal.field == "checks.json verification.model_sha256"
    assert "not the verified " + "e" * 64 in refusal.problem and "approval" in refusal.fix
    assert not refusal.aws_error
    arn, _ = _model_missing(world)
    assert gate(world, arn).refusal.aws_error  # exit code 3: an AWS error made it refuse


def _other_package(world: World) -> str:
    return world.register()


# code -> scenario returning (arn, config or None); each leaves the package in the refused state.
def _package_arn(world: World):
    return "arn:aws:sagemaker:us-east-1:222222222222:model-package-group/x", None


def _unreadable(world: World):
    arn = world.register()
    return arn.rsplit("/", 1)[0] + "/99", None


def _wrong_group(world: World):
    arn = world.register()
    world.approve(arn)
    return arn, dataclasses.replace(world.config, model_package_group="other-team-group")


def _pending(world: World):
    return world.register(), None


def _set_back_to_rejected(world: World):
    arn = world.register()
    world.approve(arn)
    world.gov_sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    return arn, None


def _no_identity(world: World):
    # moto without the stand-in shim: LastModifiedBy has no IamIdentity.
    arn = world.register()
    world.approve(arn)
    described = world.reader_sm.describe_model_package(ModelPackageName=arn)
    described["LastModifiedBy"] = {"UserProfileName": "someone"}

    class Stub:
        def describe_model_package(self, **_):
            return described

    world.reader_sm = Stub()
    return arn, None


def _hand_approved_forged_record(world: World):
    # A copy of a genuine record (right digest, right policy) written by another principal.
    genuine = world.register()
    metadata = world.approve(genuine)
    arn = world.register()
    world.put_checks(arn, checks_bytes(arn))
    world.admin_sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=metadata
    )
    return arn, None


def _record_missing(world: World):
    arn = world.register()
    world.gov_sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return arn, None


def _record_not_approved(world: World):
    arn = world.register()
    world.approve(arn, **{"clearance:decision": "Rejected"})
    return arn, None


def _checks_elsewhere(world: World):
    arn = world.register()
    world.approve(arn, **{"clearance:checks-uri": f"s3://team-bucket/{world.checks_key(arn)}"})
    return arn, None


def _checks_missing(world: World):
    arn = world.register()
    world.approve(arn)
    world.gov_s3.delete_object(Bucket=GOV_BUCKET, Key=world.checks_key(arn))
    return arn, None


def _checks_unversioned(world: World):
    arn = world.register()
    world.approve(arn)
    world.gov_s3.create_bucket(Bucket="plain-bucket")
    key = world.checks_key(arn)
    body = world.gov_s3.get_object(Bucket=GOV_BUCKET, Key=key)["Body"].read()
    world.gov_s3.put_object(Bucket="plain-bucket", Key=key, Body=body)
    return arn, dataclasses.replace(world.config, governance_bucket="plain-bucket")


def _checks_overwritten(world: World):
    arn = world.register()
    world.approve(arn)
    world.put_checks(arn, checks_bytes(arn))  # same bytes, new version: still an overwrite
    return arn, None


def _checks_digest(world: World):
    arn = world.register()
    world.approve(arn, **{"clearance:checks-sha256": "0" * 64})
    return arn, None


def _checks_other_package(world: World):
    arn = world.register()
    other = _other_package(world)
    world.approve(arn, body=checks_bytes(other))
    return arn, None


def _checks_not_approved(world: World):
    arn = world.register()
    world.approve(arn, body=checks_bytes(arn, decision="Rejected"))
    return arn, None


def _policy_mismatch(world: World):
    arn = world.register()
    world.approve(arn, **{"clearance:policy-version": "2"})
    return arn, None


def _policy_not_accepted(world: World):
    arn = world.register()
    world.approve(arn, body=checks_bytes(arn, policy={**POLICY, "version": "7"}))
    return arn, None


def _model_unverified(world: World):
    # checks.json from before Verify recorded the model copy it scored.
    arn = world.register()
    world.approve(arn, body=checks_bytes(arn))
    return arn, None


def _model_elsewhere(world: World):
    # The pin names a governance copy of ANOTHER artifact (a model the team uploaded elsewhere).
    arn = world.register()
    key = "artifacts/team-bucket/other/model.tar.gz/v1"
    body = b"a model that was never this package's"
    version = world.gov_s3.put_object(Bucket=GOV_BUCKET, Key=key, Body=body)["VersionId"]
    pin = {
        "model_read_from": f"s3://{GOV_BUCKET}/{key}",
        "model_version_id": version,
        "model_sha256": hashlib.sha256(body).hexdigest(),
    }
    world.approve(arn, body=checks_bytes(arn, model=pin))
    return arn, None


def _model_missing(world: World):
    arn = world.register()
    pin = {**world.models[arn], "model_read_from": f"s3://{GOV_BUCKET}/{MODEL_COPIES}never"}
    world.approve(arn, body=checks_bytes(arn, model=pin))
    return arn, None


def _model_overwritten(world: World):
    arn = world.register()
    world.approve(arn)
    pin = world.models[arn]
    key = pin["model_read_from"].split(f"s3://{GOV_BUCKET}/", 1)[1]
    world.gov_s3.put_object(Bucket=GOV_BUCKET, Key=key, Body=b"a newer version of the copy")
    return arn, None


def _model_digest(world: World):
    # The recorded sha256 is not the copy's (what a copy altered in place would look like).
    arn = world.register()
    pin = {**world.models[arn], "model_sha256": "e" * 64}
    world.approve(arn, body=checks_bytes(arn, model=pin))
    return arn, None


SCENARIOS: dict[str, Callable[[World], tuple[str, GateConfig | None]]] = {
    "package-arn": _package_arn,
    "package-unreadable": _unreadable,
    "wrong-group": _wrong_group,
    "not-approved": _pending,
    "approver-unknown": _no_identity,
    "approver-not-governance": _hand_approved_forged_record,
    "record-missing": _record_missing,
    "record-not-approved": _record_not_approved,
    "checks-elsewhere": _checks_elsewhere,
    "checks-missing": _checks_missing,
    "checks-unversioned": _checks_unversioned,
    "checks-overwritten": _checks_overwritten,
    "checks-digest": _checks_digest,
    "checks-other-package": _checks_other_package,
    "checks-not-approved": _checks_not_approved,
    "policy-mismatch": _policy_mismatch,
    "policy-not-accepted": _policy_not_accepted,
    "model-unverified": _model_unverified,
    "model-elsewhere": _model_elsewhere,
    "model-missing": _model_missing,
    "model-overwritten": _model_overwritten,
    "model-digest": _model_digest,
}


def test_every_refusal_code_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(REFUSAL_CODES)


@pytest.mark.parametrize("code", list(SCENARIOS))
def test_refusal(world: World, code: str) -> None:
    arn, config = SCENARIOS[code](world)
    world.calls.clear()
    result = gate(world, arn, config)
    assert not result.allowed
    assert result.refusal.code == code, result.refusal.line()
    line = result.refusal.line()
    assert line.startswith("ERROR: ") and "\n" not in line and line.count(": ") >= 2
    assert set(world.calls) <= READ_ONLY  # nothing created or changed


def test_later_rejection_names_it(world: World) -> None:
    arn, _ = _set_back_to_rejected(world)
    result = gate(world, arn)
    assert result.refusal.code == "not-approved"
    assert "'Rejected'" in result.refusal.problem


def test_forged_record_by_other_principal_names_it(world: World) -> None:
    arn, _ = _hand_approved_forged_record(world)
    refusal = gate(world, arn).refusal
    assert "governance-admin" in refusal.problem and APPROVAL_ROLE in refusal.problem


def test_wildcard_policy_version_is_accepted(world: World) -> None:
    arn = world.register()
    policy = {**POLICY, "version": "7"}
    world.approve(arn, body=checks_bytes(arn, policy=policy, model=world.models[arn]))
    accepted = parse_accepted_policies("default@*")
    config = dataclasses.replace(world.config, accepted_policies=accepted)
    assert gate(world, arn, config).allowed


def test_role_path_in_config_matches_session_arn(world: World) -> None:
    arn = world.register()
    world.approve(arn)
    config = dataclasses.replace(
        world.config,
        approval_role_arn="arn:aws:iam::222222222222:role/service/clearance-approval-pipeline-role",
    )
    assert gate(world, arn, config).allowed
    other_account = dataclasses.replace(
        world.config,
        approval_role_arn="arn:aws:iam::333333333333:role/clearance-approval-pipeline-role",
    )
    assert gate(world, arn, other_account).refusal.code == "approver-not-governance"


@pytest.mark.parametrize("text", ["default", "@1", "default@", ""])
def test_accepted_policies_syntax(text: str) -> None:
    if text:
        with pytest.raises(ValueError):
            parse_accepted_policies(text)
    else:
        with pytest.raises(ValueError, match="empty"):
            GateConfig(APPROVAL_ROLE, GOV_BUCKET, parse_accepted_policies(text), GROUP)


def test_config_refuses_a_non_role_approver() -> None:
    with pytest.raises(ValueError, match="IAM role"):
        GateConfig("arn:aws:iam::222222222222:user/bob", GOV_BUCKET, {"default": frozenset("1")})


def test_shim_writes_botocore_shaped_last_modified_by(world: World) -> None:
    arn = world.register()
    world.approve(arn)
    described = world.reader_sm.describe_model_package(ModelPackageName=arn)
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("UserContext")
    report = ParamValidator().validate(described["LastModifiedBy"], shape)
    assert not report.has_errors(), report.generate_report()
    identity = described["LastModifiedBy"]["IamIdentity"]
    assert set(identity) <= {"Arn", "PrincipalId", "SourceIdentity"}
    assert identity["Arn"].endswith(":assumed-role/clearance-approval-pipeline-role/SageMaker")
    assert json.dumps(described["LastModifiedBy"])  # plain JSON, as the service returns


def test_checks_uri_in_the_governance_bucket_is_followed(world: World) -> None:
    arn = world.register()
    body = checks_bytes(arn, model=world.models[arn])
    key = "clearance-approval/elsewhere/checks.json"
    version_id = world.gov_s3.put_object(Bucket=GOV_BUCKET, Key=key, Body=body)["VersionId"]
    metadata = world.record(arn, body, version_id)
    metadata["clearance:checks-uri"] = f"s3://{GOV_BUCKET}/{key}"
    world.gov_sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=metadata
    )
    result = gate(world, arn)
    assert result.allowed, result.refusal
    assert result.facts["checks"]["s3_uri"] == f"s3://{GOV_BUCKET}/{key}"
