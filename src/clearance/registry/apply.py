"""Record a decision: status, approval description and clearance:* metadata in one
update_model_package call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clearance.contract import metadata
from clearance.contract.checks import ChecksError, Decision
from clearance.contract.metadata import CHECKS_LOCATION_KEYS
from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.registry.fetch import LOG, MAX_DESCRIPTION, MAX_METADATA_ENTRIES, MAX_METADATA_VALUE

# -------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class UpdateResult:
    """What :func:`apply_decision` did."""

    model_package_arn: str
    updated: bool
    status_before: str | None
    status_after: str | None
    message: str
    approval_description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "model_package_arn": self.model_package_arn,
            "updated": self.updated,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "message": self.message,
            "approval_description": self.approval_description,
            "metadata": dict(self.metadata),
        }


def _metadata_value(value: Any) -> str:
    """Fit the API's value pattern and length: unknown characters become '-'."""
    return metadata.sanitise(value)


def _failed_list(ids: list[str], limit: int = MAX_METADATA_VALUE) -> str:
    """Space-separated failed check ids within ``limit``, ending in ``+N`` when some are cut."""
    if not ids:
        return "none"
    full = " ".join(ids)
    if len(full) <= limit:
        return full
    out: list[str] = []
    for index, rid in enumerate(ids):
        left = len(ids) - index - 1
        candidate = " ".join([*out, rid])
        if len(candidate) + len(f" +{left}") > limit:
            break
        out.append(rid)
    return " ".join([*out, f"+{len(ids) - len(out)}"])


def decision_metadata(decision: Decision, decided_at: str) -> dict[str, str]:
    """The ``clearance:*`` CustomerMetadataProperties (a contract with the evidence tools)."""
    policy = decision.policy
    failed = [check.id for check in decision.failed_checks]
    return {
        metadata.DECISION: decision.decision,
        metadata.POLICY_ID: _metadata_value(policy.get("id")),
        metadata.POLICY_VERSION: _metadata_value(policy.get("version")),
        metadata.POLICY_SHA256: _metadata_value(policy.get("sha256")),
        metadata.CHECKS_SHA256: decision.sha256,
        metadata.DECIDED_AT: decided_at,
        metadata.FAILED_CHECKS: _failed_list(failed),
    }


def approval_description(decision: Decision, limit: int = MAX_DESCRIPTION) -> str:
    """Human summary within the API's 1024 characters; failed check ids come first so they survive
    truncation, then their reasons."""
    policy = decision.policy
    total = len(decision.checks)
    head = f"{decision.decision} by Clearance policy {policy.get('id')} v{policy.get('version')}"
    failed = decision.failed_checks
    if not failed:
        text = f"{head}: all {total} checks passed."
    else:
        ids = ", ".join(check.id for check in failed)
        reasons = "; ".join(f"{check.id}: {check.reason}" for check in failed)
        text = f"{head}: {len(failed)} of {total} checks failed: {ids}. {reasons}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A pending decision (policy on_inconclusive: pending) stays PendingManualApproval for a human and
# is recorded in the package's ModelLifeCycle (UpdateModelPackage, 2024-12 API): Stage/StageStatus
# are EntityNames ([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}), StageDescription at most 1024 characters.
LIFECYCLE_STAGE = "Governance"
LIFECYCLE_PENDING = "PendingHumanReview"


def lifecycle(decision: Decision) -> dict[str, str]:
    """The ModelLifeCycle recorded for a pending decision."""
    undecided = ", ".join(check.id for check in decision.inconclusive_checks)
    text = f"Clearance could not decide ({undecided}): insufficient evidence, left for a human"
    return {
        "Stage": LIFECYCLE_STAGE,
        "StageStatus": LIFECYCLE_PENDING,
        "StageDescription": text if len(text) <= 1024 else text[:1021] + "...",
    }


def _validate(decision: Decision) -> None:
    if decision.decision not in (APPROVED, REJECTED, PENDING):
        raise ChecksError(f"decision {decision.decision!r} is not Approved, Rejected or pending")
    if decision.decision == APPROVED and (
        not decision.checks or any(not c.passed for c in decision.checks)
    ):
        raise ChecksError("decision is Approved but not every check passed")


def apply_decision(
    sm: Any,
    decision: Decision,
    *,
    decided_at: str | None = None,
    checks_location: Mapping[str, str] | None = None,
) -> UpdateResult:
    """Record ``decision`` on its model package with one ``update_model_package`` call.

    Only a package still PendingManualApproval is changed; otherwise nothing is written and the
    result says why (re-running the Update step is safe). A Rejected decision is a normal outcome.
    Between the describe and the update someone could decide by hand; the API offers no
    conditional update, so that window (milliseconds) is accepted and documented.
    Raises :class:`~clearance.decide.checks.ChecksError` for a self-contradicting decision and lets
    AWS errors propagate (the step fails and can be retried).
    """
    _validate(decision)
    arn = decision.model_package_arn
    described = sm.describe_model_package(ModelPackageName=arn)
    status = described.get("ModelApprovalStatus")
    if status != PENDING:
        message = (
            f"{arn} is {status or 'without an approval status'}, not {PENDING}: nothing changed "
            f"(this evaluation said {decision.decision})"
        )
        LOG.info(message)
        return UpdateResult(arn, False, status, status, message)

    when = decided_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ours = decision_metadata(decision, when)
    # Where the governance-held checks.json is (clearance:checks-uri / -version-id), same call.
    for key, value in (checks_location or {}).items():
        if key in CHECKS_LOCATION_KEYS and value:
            ours[key] = _metadata_value(value)
    existing = described.get("CustomerMetadataProperties") or {}
    # Real AWS merges CustomerMetadataProperties into the existing map; moto replaces it. Sending
    # the existing entries too gives the same result on both (and keeps the team:* keys).
    merged = {**existing, **ours}
    metadata = merged if len(merged) <= MAX_METADATA_ENTRIES else ours
    description = approval_description(decision)
    if decision.decision == PENDING:
        # The status stays pending; the lifecycle and metadata say why and who must look.
        sm.update_model_package(
            ModelPackageArn=arn,
            CustomerMetadataProperties=metadata,
            ModelLifeCycle=lifecycle(decision),
        )
        message = f"{arn}: left {PENDING} for a human (inconclusive)"
        LOG.info("%s (%s)", message, ours["clearance:failed-checks"])
        return UpdateResult(arn, True, status, PENDING, message, description, ours)
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=decision.decision,
        ApprovalDescription=description,
        CustomerMetadataProperties=metadata,
    )
    message = f"{arn}: {status} -> {decision.decision}"
    LOG.info("%s (%s)", message, ours["clearance:failed-checks"])
    return UpdateResult(arn, True, status, decision.decision, message, description, ours)
