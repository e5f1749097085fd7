"""The audit trail of a model package group, and what a new policy would change.

`audit_group` reads what the approval wrote into each package's CustomerMetadataProperties
(`clearance:*`, see README, Evidence) and the package's approval status; `reevaluate_group`
runs a policy over the same packages with the approval's fetch + evaluate, reports which recorded
decisions it would flip, and (unless dry-run) decides only the packages that are still pending. A
decided package is never changed here: overturning a decision is a person's call, made in the
registry."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clearance.contract.status import DECISIONS
from clearance.decide.checks import evaluate, write_checks
from clearance.evidence.publish import after_decision
from clearance.registry import apply_decision, fetch_reports

LOG = logging.getLogger(__name__)

DECIDED = DECISIONS

Progress = Callable[[int, int, str], None]
_MORE = re.compile(r"^\+\d+$")


def _no_progress(done: int, total: int, what: str) -> None:
    return None


@dataclass(frozen=True)
class AuditRow:
    version: int | None
    arn: str
    status: str
    decided_by: str  # clearance | manual | "" (pending)
    decision: str
    decided_at: str
    policy_id: str
    policy_version: str
    failed_checks: list[str]
    failed_not_listed: int  # the registry value ends in "+N" when ids did not fit 256 characters
    checks_sha256: str
    created: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def list_package_arns(sm: Any, group: str) -> list[str]:
    """Every package of the group, oldest first (ListModelPackages pages at 100)."""
    arns: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Ascending",
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        page = sm.list_model_packages(**kwargs)
        arns.extend(s["ModelPackageArn"] for s in page.get("ModelPackageSummaryList", []))
        token = page.get("NextToken")
        if not token:
            return arns


def describe_group(
    sm: Any, group: str, progress: Progress = _no_progress
) -> Iterator[dict[str, Any]]:
    arns = list_package_arns(sm, group)
    for i, arn in enumerate(arns, 1):
        progress(i, len(arns), arn)
        yield sm.describe_model_package(ModelPackageName=arn)


def audit_row(desc: dict[str, Any]) -> AuditRow:
    meta = desc.get("CustomerMetadataProperties") or {}
    status = desc.get("ModelApprovalStatus", "") or ""
    recorded = meta.get("clearance:decision", "")
    if recorded:
        decided_by = "clearance"
        # A person may have overturned the automated decision in the registry since: say so.
        if status in DECIDED and status != recorded:
            decided_by = f"manual (clearance said {recorded})"
    elif status in DECIDED:
        decided_by = "manual"
    else:
        decided_by = ""
    # Ids are space-separated (the metadata value pattern has no comma; commas are accepted too),
    # "none" when nothing failed (the API refuses an empty value), and a final "+N" counts the ids
    # that did not fit in 256 characters.
    tokens = [c for c in re.split(r"[,\s]+", meta.get("clearance:failed-checks", "")) if c]
    failed = [c for c in tokens if c != "none" and not _MORE.match(c)]
    more = sum(int(c[1:]) for c in tokens if _MORE.match(c))
    created = desc.get("CreationTime")
    return AuditRow(
        version=desc.get("ModelPackageVersion"),
        arn=desc.get("ModelPackageArn", ""),
        status=status,
        decided_by=decided_by,
        decision=recorded,
        decided_at=meta.get("clearance:decided-at", ""),
        policy_id=meta.get("clearance:policy-id", ""),
        policy_version=meta.get("clearance:policy-version", ""),
        failed_checks=failed,
        failed_not_listed=more,
        checks_sha256=meta.get("clearance:checks-sha256", ""),
        created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
    )


def audit_group(sm: Any, group: str, progress: Progress = _no_progress) -> list[AuditRow]:
    return [audit_row(desc) for desc in describe_group(sm, group, progress)]


# --------------------------------------------------------------------------------------------------
# Re-evaluation


@dataclass(frozen=True)
class ReevaluationRow:
    version: int | None
    arn: str
    status: str
    recorded: str  # the registry's current decision, "" if pending
    new_decision: str
    flips: bool  # a recorded decision the new policy would reverse
    failed_checks: list[str]
    action: str  # dry-run | decided | left (already decided) | error: ...
    evidence: str = ""  # HTML report written for a newly decided package

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _default_fetch(sm: Any, s3: Any, desc: dict[str, Any], allowed_buckets: list[str]) -> Any:

    return fetch_reports(sm, s3, desc["ModelPackageArn"], allowed_buckets, described=desc)


def _default_evaluate(policy: Any, fetched: Any, arn: str) -> Any:

    # Same call as the approval's Evaluate step: sources pin each report's digest in checks.json.
    return evaluate(policy, fetched.reports, arn, sources=fetched.sources)


def _default_apply(sm: Any, decision: Any) -> Any:

    return apply_decision(sm, decision)


def reevaluate_group(
    sm: Any,
    s3: Any,
    group: str,
    policy: Any,
    *,
    allowed_buckets: list[str],
    dry_run: bool,
    out_dir: str | Path | None = None,
    progress: Progress = _no_progress,
    fetch: Callable[..., Any] = _default_fetch,
    evaluate: Callable[..., Any] = _default_evaluate,
    apply: Callable[..., Any] = _default_apply,
) -> list[ReevaluationRow]:
    """Evaluate `policy` on every package of `group`; without dry_run, decide pending ones only."""
    rows = []
    for desc in describe_group(sm, group, progress):
        arn = desc["ModelPackageArn"]
        status = desc.get("ModelApprovalStatus", "") or ""
        recorded = status if status in DECIDED else ""
        decision = evaluate(policy, fetch(sm, s3, desc, allowed_buckets), arn)
        doc = decision.to_json()
        new = doc["decision"]
        failed = [c["id"] for c in doc.get("checks", []) if not c.get("passed")]
        action, evidence_path = "dry-run", ""
        if not dry_run:
            if recorded:
                action = "left (already decided)"
            else:
                apply(sm, decision)
                action = "decided"
                if out_dir is not None:
                    evidence_path = _leave_evidence(sm, s3, decision, Path(out_dir), desc)
        rows.append(
            ReevaluationRow(
                version=desc.get("ModelPackageVersion"),
                arn=arn,
                status=status,
                recorded=recorded,
                new_decision=new,
                flips=bool(recorded) and recorded != new,
                failed_checks=failed,
                action=action,
                evidence=evidence_path,
            )
        )
    return rows


def _leave_evidence(sm: Any, s3: Any, decision: Any, out_dir: Path, desc: dict) -> str:
    """checks.json, model card and HTML page for a package decided here (as the Update step)."""

    group = desc.get("ModelPackageGroupName") or "package"
    checks_path = out_dir / f"{group}-{desc.get('ModelPackageVersion') or 'x'}.checks.json"
    # write_checks writes the canonical bytes whose sha256 apply_decision records in the registry.
    write_checks(decision, checks_path)
    return str(after_decision(sm, s3, desc["ModelPackageArn"], checks_path, out_dir).html_path)
