"""One rule against one recomputed metric: agreement, group sizes, then the point or interval test.

Order (each step can end the check):

1. Verification: the team's reported value must agree with the recomputation (`verify.compare`);
   otherwise the check **fails** with "reported DPL 0.012, recomputed 0.220".
2. `min_group_size` (the rule's, else the policy's): a group with fewer rows makes the check
   **inconclusive**, with needed_n raising each small group to the minimum.
3. The recomputed value undefined (an empty group, a cell smclarify refuses): a point rule
   **fails** (as an undefined reported value always has), an interval rule is **inconclusive**.
4. `decide_on: point` (the default): pass when the value is within the bounds, else fail.
   `decide_on: interval`: `stats.decide` on the 95 % interval; inconclusive carries `needed_n`.

A rule is duck-typed: `metric`, `min`, `max`, `abs_max`, and optionally `decide_on` and
`min_group_size` (absent: point, no minimum), so the minimum policy contract works unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clearance.decide import stats
from clearance.decide.compare import compare

if TYPE_CHECKING:
    from clearance.decide.measure import Measured

PASS, FAIL, INCONCLUSIVE = stats.PASS, stats.FAIL, stats.INCONCLUSIVE
POINT, INTERVAL = "point", "interval"


@dataclass(frozen=True)
class Judgement:
    outcome: str
    reason: str
    measured: Measured | None = None
    needed_n: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == PASS

    def fields(self) -> dict[str, Any]:
        """checks.json's measured fields (PLAN.md): value, interval, n, group_sizes, needed_n."""
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.measured is not None:
            document = self.measured.to_json()
            out.update({key: document[key] for key in ("value", "interval", "n", "group_sizes")})
        if self.outcome == INCONCLUSIVE:
            out["needed_n"] = self.needed_n
        out.update(self.extra)
        return out


def allowed_range(rule: Any) -> tuple[float | None, float | None]:
    """The rule's bounds as one inclusive range [lower, upper] (None: unbounded)."""
    lower, upper = rule.min, rule.max
    if rule.abs_max is not None:
        lower = -rule.abs_max if lower is None else max(lower, -rule.abs_max)
        upper = rule.abs_max if upper is None else min(upper, rule.abs_max)
    return lower, upper


def _span(lower: float | None, upper: float | None) -> str:
    return (
        f"[{'-inf' if lower is None else f'{lower:g}'}, {'inf' if upper is None else f'{upper:g}'}]"
    )


def judge(
    rule: Any,
    measured: Measured | None,
    reported: float | None,
    *,
    kind: str | None = None,
    policy_min_group_size: int | None = None,
) -> Judgement:
    """The outcome of RULE given the recomputed MEASURED metric and the team's REPORTED value."""
    mismatch = compare(rule.metric, reported, measured, kind)
    if mismatch is not None:
        return Judgement(FAIL, mismatch, measured)
    assert measured is not None  # compare() reports a missing recomputation as a mismatch
    mode = getattr(rule, "decide_on", None) or POINT
    minimum = getattr(rule, "min_group_size", None) or policy_min_group_size
    if minimum:
        small = {g: n for g, n in measured.group_sizes.items() if n < minimum}
        if small:
            shown = ", ".join(f"{g} has {n} rows" for g, n in sorted(small.items()))
            needed = {g: max(n, minimum) for g, n in measured.group_sizes.items()}
            reason = f"insufficient evidence: {shown}, fewer than min_group_size {minimum}"
            return Judgement(INCONCLUSIVE, reason, measured, needed)
    lower, upper = allowed_range(rule)
    if lower is None and upper is None:  # a champion rule with no champion yet
        return Judgement(PASS, "no bound applies", measured)
    value = measured.value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        why = measured.error or "undefined"
        if mode == INTERVAL:
            return Judgement(INCONCLUSIVE, f"insufficient evidence: {rule.metric} {why}", measured)
        return Judgement(FAIL, f"recomputed {rule.metric} is undefined ({why})", measured)
    if mode == POINT:
        inside = math.isfinite(value) and (lower is None or value >= lower)
        inside = inside and (upper is None or value <= upper)
        verb = "is within" if inside else "is outside"
        return Judgement(
            PASS if inside else FAIL,
            f"recomputed {rule.metric} {value:.4g} {verb} {_span(lower, upper)}",
            measured,
        )
    decision = stats.decide(measured.interval, lower, upper)
    reason = f"{rule.metric} {value:.4g}: {decision.reason}"
    if decision.outcome != INCONCLUSIVE:
        return Judgement(decision.outcome, reason, measured)
    scale = stats.needed_scale(value, measured.interval, lower, upper, measured.rescale)
    needed = stats.needed_rows(measured.group_sizes, scale)
    if needed:
        rows = ", ".join(f"{g} {n}" for g, n in sorted(needed.items()))
        reason += f"; about {rows} rows would decide at this effect"
    else:
        reason += "; no sample size decides at this effect (on a bound, or no interval)"
    return Judgement(INCONCLUSIVE, f"insufficient evidence: {reason}", measured, needed)
