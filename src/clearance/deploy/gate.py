"""The deploy gate: may this model package be deployed? Read-only, fail closed, one reason.

Runs in the team's deploy pipeline before CloudFormation creates or updates anything (staging, and
again before production). A package passes only when ALL of these hold, checked in this order; the
first that fails is the one refusal reported (:class:`Refusal`: a code, and one
``ERROR: <field>: <problem>. <fix>`` line):

==========================  =====================================================================
code                        refused when
==========================  =====================================================================
package-arn                 the argument is not a versioned model package ARN
package-unreadable          DescribeModelPackage fails (missing package, no access, AWS error)
wrong-group                 the package is not in the team's model package group
not-approved                ModelApprovalStatus is not Approved (pending, or set back to Rejected)
approver-unknown            LastModifiedBy carries no IAM identity (nothing says who approved)
approver-not-governance     the last modification was not made by the governance approval role
record-missing              a clearance:* metadata key the decision writes is absent
record-not-approved         clearance:decision is not Approved
checks-elsewhere            clearance:checks-uri names a bucket other than the governance bucket
checks-missing              the governance-held checks.json cannot be read
checks-unversioned          the governance bucket does not version checks.json
checks-overwritten          checks.json was replaced after the decision (VersionId moved on)
checks-digest               the governance checks.json's sha256 is not clearance:checks-sha256
checks-other-package        checks.json decides another package
checks-not-approved         checks.json's decision is not Approved
policy-mismatch             checks.json's policy differs from the clearance:policy-* record
policy-not-accepted         the policy id/version is not one this deploy accepts
model-unverified ... digest the model: checks.json must record the governance copy Verify scored,
                            and that copy (pinned version, still the latest) must have the verified
                            sha256 (:mod:`clearance.deploy.model_copy`)
==========================  =====================================================================

Why ``LastModifiedBy``: DescribeModelPackage returns the IAM identity of the principal that last
modified the package (``LastModifiedBy.IamIdentity.Arn``; for a role session, an
``arn:aws:sts::<account>:assumed-role/<role>/<session>`` ARN). The approval pipeline's Update
step is the last writer of an Approved package
(status, description and clearance:* metadata in one UpdateModelPackage call), so the field names
the approval role exactly when governance made the last change. A hand approval, a forged
clearance:* record, or any edit after the decision (even a metadata-only one by an admin) replaces
it, and the gate refuses: that is fail-closed by design, and why the staging results are recorded
as tags (AddTags does not modify the package). No CloudTrail lookup is needed, so the gate works in
the team account with a read-only role.

Calls made: sagemaker:DescribeModelPackage, s3:GetObject/GetObjectVersion and s3:HeadObject on the
governance bucket. Nothing is created or changed (a test records every call).
``facts["model_copy"]`` is what the deploy serves: the governance copy (stack ``ModelDataUrl``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clearance.deploy.model_copy import check_model_copy
from clearance.deploy.refusal import REFUSAL_CODES, Refusal, Refused, aws_problem, refuse

__all__ = [
    "APPROVED",
    "DEFAULT_CHECKS_KEY",
    "METADATA_KEYS",
    "REFUSAL_CODES",
    "GateConfig",
    "GateResult",
    "Refusal",
    "check_package",
    "parse_accepted_policies",
]

APPROVED = "Approved"
# Where the approval's Update step publishes each decision's checks.json in the governance bucket
# (--publish-checks-prefix s3://<bucket>/<pipeline name>/checks; only the approval role writes under
# <pipeline name>/). {group} and {version} come from the package ARN.
DEFAULT_CHECKS_KEY = "clearance-approval/checks/{group}/{version}/checks.json"
# The clearance:* keys the approval's Update step writes (clearance.registry.decision_metadata).
METADATA_KEYS = (
    "clearance:decision",
    "clearance:policy-id",
    "clearance:policy-version",
    "clearance:policy-sha256",
    "clearance:checks-sha256",
)
# Optional, written by the approval's Update step: where the governance checks.json is (its bucket
# must be the configured governance bucket) and the S3 VersionId the decision pinned. Without the
# URI the gate looks at DEFAULT_CHECKS_KEY.
URI_KEY = "clearance:checks-uri"
VERSION_ID_KEY = "clearance:checks-version-id"

PACKAGE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9][0-9]{0,9})"
)
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})"
)
# Role sessions appear as assumed-role ARNs; the role path is not part of them.
ASSUMED_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<name>[\w+=,.@-]{1,64})/[\w+=,.@-]{1,64}"
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_CHECKS_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class GateConfig:
    """What the deploy trusts; fixed when the deploy product is packaged, not a launch choice."""

    approval_role_arn: str
    governance_bucket: str
    # policy id -> accepted versions ("*" accepts every version of that id)
    accepted_policies: Mapping[str, frozenset[str]]
    model_package_group: str | None = None
    checks_key: str = DEFAULT_CHECKS_KEY

    def __post_init__(self) -> None:
        if not ROLE_ARN.fullmatch(self.approval_role_arn or ""):
            raise ValueError(f"approval_role_arn {self.approval_role_arn!r} is not an IAM role ARN")
        if not self.governance_bucket:
            raise ValueError("governance_bucket is empty")
        if not self.accepted_policies:
            raise ValueError("accepted_policies is empty: the gate would refuse every package")


@dataclass
class GateResult:
    """The gate's answer; ``facts`` carries what a deploy needs from the package."""

    package_arn: str
    refusal: Refusal | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    def to_json(self) -> dict[str, Any]:
        return {
            "model_package_arn": self.package_arn,
            "allowed": self.allowed,
            "refusal": self.refusal.to_json() if self.refusal else None,
            "facts": self.facts,
        }


def parse_accepted_policies(text: str | Iterable[str]) -> dict[str, frozenset[str]]:
    """``"default@1 default@2 strict@*"`` (or a list of such items) -> {id: versions}."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    accepted: dict[str, set[str]] = {}
    for item in items:
        policy_id, sep, version = item.partition("@")
        if not sep or not policy_id or not version:
            raise ValueError(f"accepted policy {item!r} is not <id>@<version> (or <id>@*)")
        accepted.setdefault(policy_id, set()).add(version)
    return {key: frozenset(value) for key, value in accepted.items()}


def role_of(identity_arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of a role or role-session ARN; None for anything else."""
    for pattern in (ASSUMED_ROLE_ARN, ROLE_ARN):
        match = pattern.fullmatch(identity_arn or "")
        if match:
            return match["partition"], match["account"], match["name"]
    return None


def _describe(sm: Any, arn: str) -> dict[str, Any]:
    try:
        return sm.describe_model_package(ModelPackageName=arn)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a refusal, never a crash
        raise refuse(
            "package-unreadable",
            "model_package_arn",
            f"DescribeModelPackage failed ({aws_problem(exc)})",
            "Check the ARN and that the deploy role may describe the governance registry",
            aws_error=True,
        ) from exc


def _check_status(described: Mapping[str, Any]) -> None:
    status = described.get("ModelApprovalStatus")
    if status != APPROVED:
        raise refuse(
            "not-approved",
            "ModelApprovalStatus",
            f"is {status!r}: only Approved packages deploy (set back to Rejected: not promoted)",
            "Deploy a package the governance approval pipeline approved",
        )


def _check_approver(described: Mapping[str, Any], config: GateConfig) -> str:
    identity = (described.get("LastModifiedBy") or {}).get("IamIdentity") or {}
    arn = identity.get("Arn")
    if not isinstance(arn, str) or not arn:
        raise refuse(
            "approver-unknown",
            "LastModifiedBy",
            "names no IAM identity, so nothing shows the approval came from governance",
            "Have the governance approval pipeline decide the package",
        )
    expected = role_of(config.approval_role_arn)
    if role_of(arn) != expected:
        raise refuse(
            "approver-not-governance",
            "LastModifiedBy",
            f"{arn[:160]} made the last change, not the approval role {config.approval_role_arn}",
            "Only a package approved (and last modified) by the governance approval role deploys;"
            " re-run the approval",
        )
    return arn


def _check_record(metadata: Mapping[str, str]) -> None:
    missing = [key for key in METADATA_KEYS if not metadata.get(key)]
    if missing:
        raise refuse(
            "record-missing",
            "CustomerMetadataProperties",
            f"lacks {', '.join(missing)}",
            "Have the governance approval pipeline record its decision",
        )
    if metadata["clearance:decision"] != APPROVED:
        raise refuse(
            "record-not-approved",
            "clearance:decision",
            f"is {metadata['clearance:decision']!r}",
            "Deploy a package the governance approval pipeline approved",
        )


def _read_checks(
    s3: Any, config: GateConfig, key: str, pinned: str | None
) -> tuple[bytes, str | None]:
    where = f"s3://{config.governance_bucket}/{key}"
    try:
        head = s3.head_object(Bucket=config.governance_bucket, Key=key)
        latest = head.get("VersionId")
        kwargs = {"Bucket": config.governance_bucket, "Key": key}
        if latest and latest != "null":
            kwargs["VersionId"] = pinned or latest
        body = s3.get_object(**kwargs)["Body"].read(MAX_CHECKS_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - unreadable evidence refuses the deploy
        raise refuse(
            "checks-missing",
            "checks.json",
            f"{where} cannot be read ({aws_problem(exc)})",
            "Deploy only packages the governance approval pipeline decided",
            aws_error=True,
        ) from exc
    if not latest or latest == "null":
        raise refuse(
            "checks-unversioned",
            "checks.json",
            f"{where} has no S3 version, so it could have been replaced unnoticed",
            "Enable versioning on the governance bucket and re-run the approval",
        )
    if pinned and pinned != latest:
        raise refuse(
            "checks-overwritten",
            "checks.json",
            f"{where} was replaced after the decision (pinned version {pinned}, latest {latest})",
            "Investigate the overwrite; re-run the approval to decide again",
        )
    if len(body) > MAX_CHECKS_BYTES:
        raise refuse(
            "checks-missing", "checks.json", f"{where} is over 4 MiB", "Re-run the approval"
        )
    return body, latest


def _check_checks(
    body: bytes, arn: str, metadata: Mapping[str, str], config: GateConfig, where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    digest = hashlib.sha256(body).hexdigest()
    recorded = metadata["clearance:checks-sha256"].lower()
    if not SHA256_HEX.fullmatch(recorded) or digest != recorded:
        raise refuse(
            "checks-digest",
            "clearance:checks-sha256",
            f"{recorded[:64]} does not match the governance checks.json {where} (sha256 {digest})",
            "The record was not written by this decision; re-run the approval",
        )
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("model_package_arn") != arn:
        raise refuse(
            "checks-other-package",
            "checks.json",
            f"{where} decides {str((doc or {}).get('model_package_arn'))[:160]}, not {arn}",
            "Re-run the approval for this package",
        )
    if doc.get("decision") != APPROVED:
        raise refuse(
            "checks-not-approved",
            "checks.json",
            f"decision is {doc.get('decision')!r}",
            "Deploy a package the governance approval pipeline approved",
        )
    policy = doc.get("policy") if isinstance(doc.get("policy"), dict) else {}
    for part in ("id", "version", "sha256"):
        if str(policy.get(part)) != metadata[f"clearance:policy-{part}"]:
            raise refuse(
                "policy-mismatch",
                f"clearance:policy-{part}",
                f"{metadata[f'clearance:policy-{part}']!r} differs from checks.json's "
                f"{policy.get(part)!r}",
                "The record was not written by this decision; re-run the approval",
            )
    versions = config.accepted_policies.get(str(policy["id"]), frozenset())
    if "*" not in versions and str(policy["version"]) not in versions:
        accepted = " ".join(f"{k}@{v}" for k, vs in config.accepted_policies.items() for v in vs)
        raise refuse(
            "policy-not-accepted",
            "clearance:policy-version",
            f"{policy['id']}@{policy['version']} is not a policy this deploy accepts ({accepted})",
            "Re-decide the package under an accepted policy, or have governance accept it",
        )
    return {"id": policy["id"], "version": policy["version"], "sha256": policy["sha256"]}, doc


def _checks_key(metadata: Mapping[str, str], config: GateConfig, group: str, version: str) -> str:
    uri = metadata.get(URI_KEY)
    if not uri:
        return config.checks_key.format(group=group, version=version)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or bucket != config.governance_bucket or not key:
        raise refuse(
            "checks-elsewhere",
            URI_KEY,
            f"{uri[:160]} is not in the governance bucket {config.governance_bucket}",
            "Only checks.json the governance account holds counts; re-run the approval",
        )
    return key


def _facts(described: Mapping[str, Any]) -> dict[str, Any]:
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
    return {
        "model_package_group": described.get("ModelPackageGroupName"),
        "version": described.get("ModelPackageVersion"),
        "image": containers[0].get("Image"),
        "model_data_url": containers[0].get("ModelDataUrl"),
        "drift_check_baselines": described.get("DriftCheckBaselines") or {},
    }


def check_package(sm: Any, s3: Any, package_arn: str, config: GateConfig) -> GateResult:
    """Decide whether ``package_arn`` may be deployed; never raises for AWS or record problems."""
    result = GateResult(package_arn=str(package_arn))
    try:
        match = PACKAGE_ARN.fullmatch(str(package_arn or ""))
        if not match:
            raise refuse(
                "package-arn",
                "model_package_arn",
                f"{str(package_arn)[:160]!r} is not a versioned model package ARN",
                "Pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
            )
        described = _describe(sm, package_arn)
        result.facts = _facts(described)
        group = described.get("ModelPackageGroupName") or match["group"]
        if config.model_package_group and group != config.model_package_group:
            raise refuse(
                "wrong-group",
                "ModelPackageGroupName",
                f"{group!r} is not this team's group {config.model_package_group!r}",
                "Deploy a package from the team's own model package group",
            )
        _check_status(described)
        result.facts["approved_by"] = _check_approver(described, config)
        metadata = described.get("CustomerMetadataProperties") or {}
        _check_record(metadata)
        key = _checks_key(metadata, config, match["group"], match["version"])
        body, version_id = _read_checks(s3, config, key, metadata.get(VERSION_ID_KEY))
        where = f"s3://{config.governance_bucket}/{key}"
        result.facts["policy"], doc = _check_checks(body, package_arn, metadata, config, where)
        result.facts["checks"] = {"s3_uri": where, "version_id": version_id}
        result.facts["checks"]["sha256"] = metadata["clearance:checks-sha256"]
        model_data_url = result.facts["model_data_url"]
        result.facts["model_copy"] = check_model_copy(
            s3, doc, model_data_url, config.governance_bucket
        )
    except Refused as refused:
        result.refusal = refused.refusal
    return result
