"""Interval decisions for ``llm_evaluation`` rules (issue 11), kept apart from the point checks.

An LLM evaluation report (version 2.0) carries each metric in the shared shape of PLAN.md,
``{"value", "n", "interval": {"lower", "upper", "level", "method"}, "group_sizes"?}``. For such a
metric an ``llm_evaluation`` rule decides on the interval, not the point:

- **pass** when the whole interval lies within the rule's bounds;
- **fail** when it lies wholly outside them;
- **inconclusive** otherwise: the check does not pass (fail closed, the package is Rejected for
  insufficient evidence) and its reason names the items that would decide at the observed value
  (per group where groups are compared), assuming the interval narrows as 1/sqrt(n).

The default policy's LLM rules say ``decide_on: interval``: a finite value without an interval (a
version 1.0 report) is then inconclusive too, as nothing bounds its noise. Under a point rule it
keeps the point decision, and a null or failed metric always gets the point check's failure
(:mod:`clearance.decide.checks`). The recomputed intervals of the verification engine
(``clearance.decide.verified``) cover Clarify reports; LLM metrics carry their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from clearance.contract import fmt
from clearance.contract.checks import Check
from clearance.policy import Rule

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def _limits(rule: Rule) -> tuple[float, float]:
    low = -math.inf if rule.min is None else rule.min
    high = math.inf if rule.max is None else rule.max
    if rule.abs_max is not None:
        low, high = max(low, -rule.abs_max), min(high, rule.abs_max)
    return low, high


def needed_items(n: int, value: float, lower: float, upper: float, low: float, high: float) -> int:
    """Items that shrink the interval's side facing the nearer violated limit to that limit."""
    if value < low or value > high:
        sides = [(low, upper - value)] if value < low else [(high, value - lower)]
    else:
        sides = [(low, value - lower)] if lower < low else []
        sides += [(high, upper - value)] if upper > high else []
    needed = 0
    for limit, half in sides:
        distance = abs(value - limit)
        if distance <= 0 or half <= 0 or n <= 0:
            return 0
        needed = max(needed, math.ceil(n * (half / distance) ** 2 - 1e-9))
    return needed


def _node(document: Any, metric: str) -> Any:
    node: Any = document.get("llm_evaluation") if isinstance(document, Mapping) else None
    for part in metric.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def decide(rule: Rule, entry: Mapping[str, Any]) -> tuple[str, str]:
    """(outcome, reason) of RULE on one measured metric ENTRY that has an interval."""
    value, interval = entry["value"], entry["interval"]
    lower, upper = float(interval["lower"]), float(interval["upper"])
    low, high = _limits(rule)
    sizes = entry.get("group_sizes") or {}
    n = int(entry.get("n") or 0)
    shown = (
        f"{fmt.number(value)}, 95% interval [{fmt.number(lower)}, {fmt.number(upper)}] "
        f"(n {n}, {interval.get('method', 'interval')})"
    )
    bounds = rule.describe_bounds()
    if low <= lower and upper <= high:
        return PASS, f"{shown} lies within {bounds}"
    if upper < low or lower > high:
        return FAIL, f"{shown} lies wholly outside {bounds}"
    base = min(sizes.values()) if sizes else n
    needed = needed_items(base, float(value), lower, upper, low, high)
    per = " per group" if sizes else ""
    more = (
        f"about {needed} items{per} would decide at this value"
        if needed
        else "no sample size decides at a value on the bound"
    )
    return INCONCLUSIVE, f"insufficient evidence: {shown} straddles {bounds}; {more}"


def judge(rule: Rule, document: Any, values: tuple[Any, ...]) -> Check | None:
    """The interval check of an llm_evaluation rule, or None to leave it to the point check."""
    if rule.report != "llm_evaluation":
        return None
    node = _node(document, rule.metric)
    entry = node if isinstance(node, Mapping) else None
    if entry is not None and entry.get("error") is not None:
        return None
    value = entry.get("value") if entry is not None else node
    interval = entry.get("interval") if entry is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        if not math.isfinite(value):
            return None
    except OverflowError:  # an integer too large for a float: the point check says so
        return None
    if not isinstance(interval, Mapping):
        if getattr(rule, "decide_on", None) != "interval":
            return None
        return Check(
            id=rule.id,
            report=rule.report,
            metric=rule.metric,
            passed=False,
            values=values,
            bounds=rule.bounds,
            reason=f"{INCONCLUSIVE}: insufficient evidence: {rule.metric} {fmt.number(value)} "
            "has no 95% interval (an evaluation.json before 2.0); re-run the evaluation",
            outcome=INCONCLUSIVE,
            measured={"value": value, "needed_n": None},
        )
    assert entry is not None
    try:
        outcome, reason = decide(rule, entry)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    measured: dict[str, Any] = {
        "value": value,
        "interval": dict(interval),
        "n": entry.get("n"),
    }
    sizes = entry.get("group_sizes")
    if isinstance(sizes, Mapping):
        measured["group_sizes"] = dict(sizes)
    if outcome == INCONCLUSIVE:
        needed = _needed(rule, entry)
        keys = list(sizes) if isinstance(sizes, Mapping) and sizes else ["items"]
        measured["needed_n"] = {key: needed for key in keys} if needed else None
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=outcome == PASS,
        values=values,
        bounds=rule.bounds,
        reason=f"{outcome}: {reason}",
        outcome=outcome,
        measured=measured,
    )


def _needed(rule: Rule, entry: Mapping[str, Any]) -> int:
    interval = entry["interval"]
    sizes = entry.get("group_sizes") or {}
    base = min(sizes.values()) if sizes else int(entry.get("n") or 0)
    low, high = _limits(rule)
    return needed_items(
        base, float(entry["value"]), float(interval["lower"]), float(interval["upper"]), low, high
    )
