"""Evaluate a policy against a model package's reports and write ``checks.json``.

Fail closed: a rule passes only when it selected at least one value and every selected value is a
finite number within the rule's inclusive bounds. Anything else (missing report, unreadable bytes,
invalid JSON, a missing facet/metric/label/feature, null, NaN, Infinity, an ``error`` entry, a
non-number, even a bug in this module) is a failed check with a reason. :func:`evaluate` never
raises for any report content.

checks.json (contract shared with the approval pipeline and the evidence tools)::

    {"model_package_arn": ..., "policy": {"id", "version", "sha256"},
     "decision": "Approved"|"Rejected",
     "checks": [{"id", "report", "metric", "passed", "values", "bounds", "reason"}],
     "evaluated_at": "...Z", "reports": {kind: {"s3_uri", "sha256"}}}

It is written canonically (sorted keys, two-space indent, trailing newline) so the sha256 of the
file's bytes equals :attr:`Decision.sha256`, the digest the registry metadata records.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clearance.contract import fmt
from clearance.contract.checks import (
    Check,
    ChecksError,
    Decision,
    decision_from_json,
    load_checks,
    write_checks,
)
from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.decide import llm_interval, verified
from clearance.decide.reports import (
    REPORT_KINDS,
    ReportError,
    Selected,
    model_kind,
    parse_report,
    select_values,
)
from clearance.policy import Policy, Rule

if TYPE_CHECKING:
    from clearance.decide.verify import Verification

__all__ = [
    "APPROVED",
    "REJECTED",
    "Check",
    "ChecksError",
    "Decision",
    "ReportInput",
    "decision_from_json",
    "evaluate",
    "load_checks",
    "write_checks",
]

LOG = logging.getLogger(__name__)

# One report input per kind: raw bytes (parsed here), an already parsed document, None (absent) or
# the reason it could not be fetched.
ReportInput = bytes | bytearray | str | Mapping[str, Any] | ReportError | None
_MAX_REASON = 1000
_MAX_PROBLEMS = 3


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(raw: Any) -> Any:
    """A selected value as checks.json can hold it.

    Non-finite numbers become their names as strings,
    structures a placeholder, long strings truncated. The reason carries the full story."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        try:
            float(raw)
        except OverflowError:
            return "<integer too large>"
        return raw
    if isinstance(raw, float):
        if math.isnan(raw):
            return "NaN"
        if math.isinf(raw):
            return "Infinity" if raw > 0 else "-Infinity"
        return raw
    if isinstance(raw, str):
        return raw if len(raw) <= 80 else raw[:77] + "..."
    if isinstance(raw, list):
        return "<list>"
    if isinstance(raw, dict):
        return "<object>"
    return f"<{type(raw).__name__}>"


def _truncate(text: str, limit: int = _MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failed(rule: Rule, reason: str, values: tuple[Any, ...] = ()) -> Check:
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=False,
        values=values,
        bounds=rule.bounds,
        reason=_truncate(reason),
    )


def _judge(rule: Rule, selected: list[Selected]) -> Check:
    values = tuple(_json_value(s.raw) for s in selected)
    if not selected:
        return _failed(rule, "selected no values", values)
    problems: list[str] = []
    for item in selected:
        if not item.usable:
            problems.append(f"{item.problem} (at {item.location})")
        elif item.number is None or not rule.within(item.number):
            problems.append(
                f"{fmt.number(item.number)} is outside {rule.describe_bounds()}"
                f" (at {item.location})"
            )
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = len(problems) - _MAX_PROBLEMS
        suffix = f" (+{more} more)" if more > 0 else ""
        if len(selected) == 1:
            return _failed(rule, problems[0], values)
        return _failed(
            rule, f"{len(problems)} of {len(selected)} values failed: {shown}{suffix}", values
        )
    count = (
        f"value {fmt.number(selected[0].number)} is"
        if len(selected) == 1
        else f"all {len(selected)} values are"
    )
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=True,
        values=values,
        bounds=rule.bounds,
        reason=f"{count} within {rule.describe_bounds()}",
    )


def _document(kind: str, raw: ReportInput, cache: dict[str, Any]) -> Any:
    """Parse once per kind; raise ReportError with the reason when the report cannot be used."""
    if kind in cache:
        cached = cache[kind]
        if isinstance(cached, ReportError):
            raise cached
        return cached
    try:
        if raw is None:
            raise ReportError(f"no {kind} report was supplied")
        if isinstance(raw, ReportError):
            raise raw
        if isinstance(raw, Mapping):
            document: Any = raw
        else:
            document = parse_report(raw)  # type: ignore[arg-type]
    except ReportError as exc:
        cache[kind] = exc
        raise
    cache[kind] = document
    return document


def infer_model_kind(reports: Mapping[str, ReportInput], cache: dict[str, Any]) -> str | None:
    """binary_classification / regression / ... / llm from the quality evidence, None if unsure.

    None makes every rule apply, so a package whose kind cannot be told is checked against all of
    them (and a missing quality report fails its rules anyway).
    """
    kinds = set()
    for kind in ("model_quality", "llm_evaluation"):
        if reports.get(kind) is None:
            continue
        try:
            found = model_kind(_document(kind, reports.get(kind), cache))
        except ReportError:
            continue
        if kind == "llm_evaluation" and found != "llm":
            continue
        if found is not None:
            kinds.add(found)
    return kinds.pop() if len(kinds) == 1 else None


def evaluate(
    policy: Policy,
    reports: Mapping[str, ReportInput],
    model_package_arn: str,
    *,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
    evaluated_at: str | None = None,
    kind: str | None = None,
    verification: Verification | None = None,
    verification_error: str | None = None,
    champions: verified.Champions | None = None,
) -> Decision:
    """Evaluate every rule of ``policy``: Approved only if there are checks and all passed.

    ``reports`` maps a report kind to its input (see :data:`ReportInput`); kinds not in the mapping
    are absent. ``sources`` is recorded as checks.json's ``reports``
    (``{kind: {"s3_uri", "sha256"}}``); by default it is taken from ``reports.sources`` when
    ``reports`` is what :func:`clearance.registry.fetch_reports` returned. ``kind`` is the model
    kind (see ``MODEL_KINDS``); by default it is inferred from the quality report, and rules whose
    ``applies_to`` excludes it are listed as ``not_applicable`` instead of checked.

    ``verification`` (the governance recomputation, :mod:`clearance.decide.verify`) makes every
    bias, explainability and quality rule decide on the recomputed metric
    (:func:`clearance.decide.verified.verified_check`); ``verification_error`` (it was attempted
    and failed) fails those rules with that reason. ``champions`` holds the group's Approved
    package's values for ``champion`` rules. Any failed check rejects; otherwise any inconclusive
    check rejects ("insufficient evidence"), or leaves the package pending when the policy says
    ``on_inconclusive: pending``.
    """
    cache: dict[str, Any] = {}
    checks: list[Check] = []
    skipped: list[str] = []
    if sources is None:
        sources = getattr(reports, "sources", None)
    try:
        package_kind = kind if kind is not None else infer_model_kind(reports, cache)
    except Exception:  # noqa: BLE001 - unsure of the kind: every rule applies
        LOG.exception("could not infer the model kind")
        package_kind = None
    for rule in policy.rules:
        if not rule.applies(package_kind):
            skipped.append(rule.id)
            continue
        try:
            if rule.report not in REPORT_KINDS:
                checks.append(_failed(rule, f"unknown report kind {rule.report!r}"))
                continue
            try:
                document = _document(rule.report, reports.get(rule.report), cache)
                selected = select_values(rule.report, document, rule)
            except ReportError as exc:
                checks.append(_failed(rule, f"{rule.report} report: {exc.reason}"))
                continue
            # Issue 11: an LLM metric carrying a 95% interval is decided on it (llm_interval.py).
            values = tuple(_json_value(s.raw) for s in selected)
            check = llm_interval.judge(rule, document, values)
            if check is None and rule.report == "llm_evaluation":
                check = _judge(rule, selected)  # null, error or point rule: the point check
            checks.append(
                check
                or _decide_rule(rule, selected, policy, verification, verification_error, champions)
            )
        except Exception as exc:  # noqa: BLE001 - fail closed on anything we did not foresee
            LOG.exception("rule %s could not be evaluated", rule.id)
            checks.append(
                _failed(rule, f"could not be evaluated ({type(exc).__name__}); failing closed")
            )
    decision = verdict(checks, policy.on_inconclusive)
    return Decision(
        model_package_arn=model_package_arn,
        policy=policy.summary(),
        decision=decision,
        checks=tuple(checks),
        evaluated_at=evaluated_at or _utc_now(),
        reports={k: dict(v) for k, v in (sources or {}).items()},
        model_kind=package_kind,
        not_applicable=tuple(skipped),
        verification=None if verification is None else dict(verification.bundle),
        on_inconclusive=policy.on_inconclusive,
    )


def with_reported(decision: Decision, reported: Decision) -> Decision:
    """DECISION recording the Evaluate step's reported-values-only decision beside it."""
    failed = [check.id for check in reported.checks if not check.passed]
    summary = {"decision": reported.decision, "sha256": reported.sha256, "failed_checks": failed}
    return replace(decision, reported_decision=summary)


def verdict(checks: list[Check], on_inconclusive: str | None) -> str:
    """Any fail rejects; else any inconclusive rejects or, with 'pending', waits for a human."""
    if not checks or any(check.outcome == "fail" for check in checks):
        return REJECTED
    if any(check.inconclusive for check in checks):
        return PENDING if on_inconclusive == "pending" else REJECTED
    return APPROVED


def _decide_rule(
    rule: Rule,
    selected: list[Selected],
    policy: Policy,
    verification: Verification | None,
    verification_error: str | None,
    champions: verified.Champions | None,
) -> Check:
    if rule.report in verified.VERIFIABLE:
        if verification_error is not None:
            return _failed(rule, f"verification failed: {verification_error}")
        if verification is not None:
            return verified.verified_check(
                rule,
                selected,
                verification,
                policy_min_group_size=policy.min_group_size,
                champions=champions,
            )
    if rule.decide_on == "interval":
        return verified.unverified_interval_check(rule, selected)
    try:
        narrowed, note = verified.with_champion(rule, champions)
    except verified.ChampionUnavailable as exc:
        return _failed(rule, exc.reason)
    check = _judge(narrowed, selected)
    return replace(check, reason=check.reason + note) if note else check
