"""The group's champion: the same metrics of its most recent Approved package, for champion rules.

"AUC no more than 0.01 below the approved champion" needs the champion's AUC. The champion is the
newest package of the group whose status is Approved (other than the package being decided); its
value is read from its own registered report with the same allow-list and digest checks as any
report (with an EvidenceStore, from its governance copy), so a champion's number is exactly the one
it was approved on. No Approved package leaves the key out: the rule's own bounds then decide
(said in its reason). A champion that exists but cannot be listed or read (an AWS error, a report
that no longer verifies, no usable value) maps the key to the reason instead, and the rule fails
closed with it (``clearance.decide.verified.ChampionUnavailable``): a comparison that cannot be
made never falls back to the rule's own, looser bounds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clearance.contract.errors import aws_reason
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
) -> dict[tuple[str, str], float | str]:
    """{(report kind, metric): the champion's value, or why it cannot be read} for every champion
    rule of POLICY; never raises."""
    rules = [rule for rule in policy.rules if rule.champion]
    if not rules or not group:
        return {}
    keys = [(rule.report, rule.metric) for rule in rules]
    try:
        arn = champion_arn(sm, group, exclude)
    except Exception as exc:  # noqa: BLE001 - an unlisted champion fails its rules closed
        reason = f"cannot list the Approved packages of {group}: {aws_reason(exc)}"
        LOG.warning("champion: %s", reason)
        return dict.fromkeys(keys, reason)
    if arn is None:
        return {}
    try:
        fetched = fetch_reports(sm, s3, arn, list(allowed_buckets), evidence=evidence)
    except Exception as exc:  # noqa: BLE001
        return dict.fromkeys(keys, f"cannot read champion {arn}: {aws_reason(exc)}")
    values: dict[tuple[str, str], float | str] = {}
    for rule in rules:
        raw = fetched.reports.get(rule.report)
        key = (rule.report, rule.metric)
        try:
            if isinstance(raw, ReportError):
                raise raw
            if not isinstance(raw, bytes):
                raise ReportError(f"no {rule.report} report is registered")
            selected = select_values(rule.report, parse_report(raw), rule)
        except ReportError as exc:
            LOG.warning("champion %s: %s %s unreadable (%s)", arn, rule.report, rule.metric, exc)
            values[key] = f"champion {arn}'s {rule.metric}: {getattr(exc, 'reason', None) or exc}"
            continue
        numbers = [item.number for item in selected if item.usable]
        values[key] = (
            float(numbers[0])
            if numbers
            else f"champion {arn} has no usable {rule.report} {rule.metric}"
        )
    LOG.info("champion %s of %s: %s", arn, group, values)
    return values
