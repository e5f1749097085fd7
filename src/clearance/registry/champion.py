"""The group's champion: the same metrics of its most recent Approved package, for champion rules.

"AUC no more than 0.01 below the approved champion" needs the champion's AUC. The champion is the
newest package of the group whose status is Approved (other than the package being decided); its
value is read from its own registered report with the same allow-list and digest checks as any
report (with an EvidenceStore, from its governance copy), so a champion's number is exactly the one
it was approved on. No Approved package, or an
unreadable value, leaves the key out: the rule's own bounds then decide (said in its reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clearance.contract.status import APPROVED
from clearance.decide.reports import ReportError, parse_report, select_values
from clearance.policy import Policy
from clearance.registry.fetch import LOG, EvidenceStore, fetch_reports


def champion_arn(sm: Any, group: str, exclude: str) -> str | None:
    response = sm.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=10,
    )
    for summary in response.get("ModelPackageSummaryList", []):
        arn = summary.get("ModelPackageArn")
        if arn and arn != exclude:
            return str(arn)
    return None


def champion_values(
    sm: Any,
    s3: Any,
    policy: Policy,
    group: str | None,
    exclude: str,
    allowed_buckets: Iterable[str],
    evidence: EvidenceStore | None = None,
) -> dict[tuple[str, str], float]:
    """{(report kind, metric): the champion's value} for every champion rule of POLICY."""
    rules = [rule for rule in policy.rules if rule.champion]
    if not rules or not group:
        return {}
    arn = champion_arn(sm, group, exclude)
    if arn is None:
        return {}
    fetched = fetch_reports(sm, s3, arn, list(allowed_buckets), evidence=evidence)
    values: dict[tuple[str, str], float] = {}
    for rule in rules:
        raw = fetched.reports.get(rule.report)
        try:
            if not isinstance(raw, bytes):
                raise ReportError("unreadable")
            selected = select_values(rule.report, parse_report(raw), rule)
        except ReportError as exc:
            LOG.warning("champion %s: %s %s unreadable (%s)", arn, rule.report, rule.metric, exc)
            continue
        numbers = [item.number for item in selected if item.usable]
        if numbers:
            values[(rule.report, rule.metric)] = float(numbers[0])
    LOG.info("champion %s of %s: %s", arn, group, values)
    return values
