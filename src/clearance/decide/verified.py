"""One rule's check when the package was verified, or when it compares with the champion.

With a verification (`decide.verify.Verification`), a rule on a bias, explainability or model
quality report is decided on the **recomputed** metric (`decide.judge`): the reported value must
agree with it, small groups make the rule inconclusive, and `decide_on: interval` decides on its
95 % interval. Without one, interval rules are inconclusive (there is no interval to decide on) and
point rules keep the reported-value check of `decide.checks`.

`champion: {max_drop: d}` narrows the allowed range to `value >= champion - d` (and
`{max_rise: r}` to `value <= champion + r`), where the champion value is the same metric of the
group's currently Approved package; with no Approved package yet the rule's own bounds decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from clearance.contract.checks import Check
from clearance.contract.reports import BIAS_KINDS
from clearance.decide import judge
from clearance.decide.reports import Selected

if TYPE_CHECKING:
    from clearance.decide.verify import Verification

VERIFIABLE = ("bias_pre_training", "bias_post_training", "model_quality", "explainability")
# Champion values by (report kind, metric); a missing key means no Approved champion yet. A str
# value is why an existing champion's value could not be read: the rule then fails closed (a
# comparison that cannot be made never falls back to the rule's own, looser bounds).
Champions = Mapping[tuple[str, str], "float | str"]


class ChampionUnavailable(Exception):
    """A champion rule whose champion exists but whose value cannot be read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def with_champion(rule: Any, champions: Champions | None) -> tuple[Any, str]:
    """RULE with its bounds narrowed by the champion, and a note for the reason."""
    limit = getattr(rule, "champion_limit", None)
    if limit is None:
        return rule, ""
    value = (champions or {}).get((rule.report, rule.metric))
    if value is None:
        return rule, " (no Approved champion in the group yet: the rule's own bounds decide)"
    if isinstance(value, str):
        raise ChampionUnavailable(
            f"the champion comparison cannot be made: {value} (fail closed: re-run the approval "
            "once the champion's evidence is readable)"
        )
    key, allowance = limit
    if key == "max_drop":
        floor = value - allowance
        lower = floor if rule.min is None else max(rule.min, floor)
        return replace(rule, min=lower), f" (champion {value:.4g} - {allowance:g})"
    ceiling = value + allowance
    upper = ceiling if rule.max is None else min(rule.max, ceiling)
    return replace(rule, max=upper), f" (champion {value:.4g} + {allowance:g})"


def _reported(selected: list[Selected]) -> float | None:
    for item in selected:
        if item.usable:
            return item.number
    return None


def verified_check(
    rule: Any,
    selected: list[Selected],
    verification: Verification,
    *,
    policy_min_group_size: int | None = None,
    champions: Champions | None = None,
) -> Check:
    """RULE decided on the recomputation (reported value compared, intervals, group sizes)."""
    reported = _reported(selected)
    values = (reported,)
    facet = verification.bundle.get("facet")
    if rule.report in BIAS_KINDS and rule.facet is not None and facet and rule.facet != facet:
        reason = f"the package's evaluation split has facet {facet!r}, not {rule.facet!r}"
        return Check(rule.id, rule.report, rule.metric, False, values, rule.bounds, reason)
    try:
        narrowed, note = with_champion(rule, champions)
    except ChampionUnavailable as exc:
        return Check(rule.id, rule.report, rule.metric, False, values, rule.bounds, exc.reason)
    verdict = judge.judge(
        narrowed,
        verification.get(rule.report, rule.metric),
        reported,
        kind=rule.report,
        policy_min_group_size=policy_min_group_size,
    )
    measured = {k: v for k, v in verdict.fields().items() if k != "outcome"}
    measured["reported"] = reported
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=verdict.passed,
        values=values,
        bounds=narrowed.bounds,
        reason=verdict.reason + note,
        outcome=verdict.outcome,
        measured=measured,
    )


def unverified_interval_check(rule: Any, selected: list[Selected]) -> Check:
    """An interval rule without a verification: nothing to decide on, so inconclusive."""
    reason = (
        "insufficient evidence: the rule decides on the recomputed interval and this package "
        "was not verified"
    )
    return Check(
        rule.id,
        rule.report,
        rule.metric,
        False,
        (_reported(selected),),
        rule.bounds,
        reason,
        outcome="inconclusive",
        measured={"needed_n": None},
    )
