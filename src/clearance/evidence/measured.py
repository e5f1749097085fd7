"""The measured side of a check, as the evidence displays it (PLAN.md's shared shapes).

A check in checks.json may carry, beside the minimum contract (id, passed, values, bounds, reason):

* ``outcome``: ``pass`` | ``fail`` | ``inconclusive`` (absent in old files: from ``passed``);
* the metric with uncertainty: ``value``, ``n``, ``interval`` {lower, upper, level, method},
  ``group_sizes`` {name: rows}; ``needed_n`` {name: rows} when inconclusive;
* the verification: ``reported`` (the team's number; ``value`` is then the recomputed one) and
  ``tolerance``, flat or as ``verification: {reported, recomputed, tolerance, agrees}``.

Everything here is optional and lenient where it is display only (a malformed interval is not
drawn and says so), and strict where it could misstate the decision: an ``outcome`` that
contradicts ``passed`` is refused, like an Approved verdict with a failed check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
OUTCOMES = (PASS, FAIL, INCONCLUSIVE)


def finite(value: Any) -> float | None:
    """A JSON number that is finite, as float; anything else (bool, str, NaN, 10**400) is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # JSON integers are unbounded; 10**400 is no metric
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if value >= 0 else None


def counts(raw: Any) -> dict[str, int]:
    """{group: rows} with non-negative integer counts only (others dropped: display, not decide)."""
    if not isinstance(raw, Mapping):
        return {}
    out = {}
    for name, value in raw.items():
        number = _count(value)
        if number is not None:
            out[str(name)] = number
    return out


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    level: float | None = None
    method: str = ""

    @property
    def label(self) -> str:
        return f"{self.level:.0%} interval" if self.level is not None else "interval"

    @property
    def text(self) -> str:
        """``95% interval [0.159, 0.267] (newcombe)``: ends to 4 significant digits."""
        method = f" ({self.method})" if self.method else ""
        return f"{self.label} [{self.lower:.4g}, {self.upper:.4g}]{method}"


def parse_interval(raw: Any) -> tuple[Interval | None, str]:
    """(interval, problem): a missing interval is (None, ""), a malformed one (None, why)."""
    if raw is None:
        return None, ""
    if not isinstance(raw, Mapping):
        return None, "interval is not an object"
    lower, upper = finite(raw.get("lower")), finite(raw.get("upper"))
    if lower is None or upper is None or lower > upper:
        return None, f"interval [{raw.get('lower')!r}, {raw.get('upper')!r}] is not drawable"
    level = finite(raw.get("level"))
    method = raw.get("method")
    return Interval(lower, upper, level, str(method) if method is not None else ""), ""


@dataclass(frozen=True)
class Measure:
    """The metric a check decided on: value, interval, rows and group sizes."""

    value: float | None
    interval: Interval | None = None
    n: int | None = None
    group_sizes: dict[str, int] = field(default_factory=dict)
    problem: str = ""  # why the interval is not drawn


@dataclass(frozen=True)
class Verification:
    """The team's reported number against the governance recomputation."""

    reported: float | None
    recomputed: float | None
    tolerance: float | None
    agrees: bool | None  # as checks.json states it, else from the numbers, else unknown

    @property
    def difference(self) -> float | None:
        if self.reported is None or self.recomputed is None:
            return None
        return abs(self.reported - self.recomputed)


def parse_measure(item: Mapping[str, Any]) -> Measure | None:
    """The check's own measured metric, or None when the check carries none (old checks.json)."""
    if not any(key in item for key in ("interval", "n", "group_sizes")):
        return None
    interval, problem = parse_interval(item.get("interval"))
    return Measure(
        value=finite(item.get("value")),
        interval=interval,
        n=_count(item.get("n")),
        group_sizes=counts(item.get("group_sizes")),
        problem=problem,
    )


def parse_verification(item: Mapping[str, Any]) -> Verification | None:
    nested = item.get("verification")
    source: Mapping[str, Any] = nested if isinstance(nested, Mapping) else item
    if "reported" not in source:
        return None
    reported = finite(source.get("reported"))
    recomputed = finite(source.get("recomputed", item.get("value")))
    tolerance = finite(source.get("tolerance"))
    agrees = source.get("agrees")
    if not isinstance(agrees, bool):
        agrees = None
        if reported is not None and recomputed is not None and tolerance is not None:
            agrees = abs(reported - recomputed) <= tolerance
    return Verification(reported, recomputed, tolerance, agrees)


def parse_outcome(item: Mapping[str, Any], passed: bool) -> str | None:
    """The check's outcome; None when it contradicts ``passed`` or is unknown (caller refuses)."""
    outcome = item.get("outcome")
    if outcome is None:
        return PASS if passed else FAIL
    if outcome not in OUTCOMES or (outcome == PASS) != passed:
        return None
    return outcome


def measured_text(check: Any) -> str:
    """One line for a check's measured evidence (card notes, tables); "" when it has none."""
    parts = []
    m = check.measure
    if m is not None:
        parts.append("recomputed undefined" if m.value is None else f"recomputed {m.value:.4g}")
        parts.append(m.interval.text if m.interval is not None else "no interval")
        if m.group_sizes:
            groups = ", ".join(f"{g} {n}" for g, n in sorted(m.group_sizes.items()))
            parts.append(f"n {groups}" + (f" ({m.n} rows)" if m.n is not None else ""))
        elif m.n is not None:
            parts.append(f"n {m.n}")
    if check.needed_n:
        rows = ", ".join(f"{g} {n}" for g, n in sorted(check.needed_n.items()))
        parts.append(f"rows that would decide: {rows}")
    v = check.verification
    if v is not None:
        shown = [("reported", v.reported), ("tolerance", v.tolerance)]
        parts.append(", ".join(f"{k} {'n/a' if x is None else f'{x:.4g}'}" for k, x in shown))
    return "; ".join(parts)
