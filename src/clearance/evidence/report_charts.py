"""The report's SVG charts as geometry (numbers only); the templates draw them.

Check chart: one row per value, a bar from zero to the value (green inside the bounds, red
outside), the allowed band (light green) between the dashed bound lines, and, when the check
carries a measured metric with an interval, an error bar from ``lower`` to ``upper`` with end caps,
coloured by what the interval decides against the bounds (wholly inside: pass green, wholly outside:
fail red, straddling: inconclusive amber). The same x scale places values, bounds and interval
ends, so an interval touching a bound ends exactly on the bound line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clearance.contract import fmt as contract_fmt
from clearance.evidence.checks_view import Bounds, CheckView
from clearance.evidence.measured import FAIL, INCONCLUSIVE, PASS, Interval
from clearance.evidence.parse import ShapSet

PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#cf222e"
INCONCLUSIVE_COLOUR = "#9a6700"
BAND_COLOUR = "#dafbe1"
AXIS_COLOUR = "#57606a"
SHAP_COLOUR = "#0969da"
OUTCOME_COLOURS = {PASS: PASS_COLOUR, FAIL: FAIL_COLOUR, INCONCLUSIVE: INCONCLUSIVE_COLOUR}
SHAP_MAX_BARS = 30
CHART_WIDTH = 640
LABEL_WIDTH = 170
VALUE_MARGIN = 80  # right of the plot: the value's text
ROW_HEIGHT = 22
CAP_HALF = 5  # half the height of an error bar's end caps
BAR_UNDER_INTERVAL_OPACITY = 0.45

fmt = contract_fmt.display


def _domain(numbers: Iterable[float]) -> tuple[float, float]:
    finite = [n for n in numbers if math.isfinite(n)] + [0.0]
    lo, hi = min(finite), max(finite)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def interval_outcome(interval: Interval, bounds: Bounds) -> str:
    """What the interval alone says against the (inclusive) bounds: the colour of its error bar."""
    lo, hi = bounds.band()
    if lo <= interval.lower and interval.upper <= hi:
        return PASS
    if interval.upper < lo or interval.lower > hi:
        return FAIL
    return INCONCLUSIVE


@dataclass(frozen=True)
class Scale:
    lo: float
    hi: float
    left: float
    width: float

    def x(self, v: float) -> float:
        """Pixel x of V (clamped to the domain), rounded as the SVG prints it."""
        return round(self.left + (min(max(v, self.lo), self.hi) - self.lo) / (self.hi - self.lo)
                     * self.width, 1)  # fmt: skip


@dataclass
class Row:
    label: str
    y: float
    value: float | None
    raw: str = ""
    bar: dict[str, Any] | None = None  # x, width, fill
    interval: dict[str, Any] | None = None  # x1, x2, y, lower, upper, outcome, colour


@dataclass
class CheckChart:
    check_id: str
    width: int
    height: int
    plot_bottom: float
    text_x: float
    zero_x: float
    band: dict[str, float] | None
    bounds: list[dict[str, Any]] = field(default_factory=list)  # name, value, x, text
    rows: list[Row] = field(default_factory=list)


def _interval_geometry(interval: Interval, check: CheckView, scale: Scale, y: float) -> dict:
    outcome = interval_outcome(interval, check.bounds)
    return {
        "x1": scale.x(interval.lower),
        "x2": scale.x(interval.upper),
        "y": y + 7,
        "cap_top": y + 7 - CAP_HALF,
        "cap_bottom": y + 7 + CAP_HALF,
        "lower": interval.lower,
        "upper": interval.upper,
        "outcome": outcome,
        "colour": OUTCOME_COLOURS[outcome],
        "label": interval.label,
    }


def check_chart(check: CheckView) -> CheckChart:
    """Geometry of one check's chart (values, bounds and the measured interval on one scale)."""
    b = check.bounds
    band_lo, band_hi = b.band()
    measure = check.measure
    interval = measure.interval if measure is not None else None
    # The interval belongs to the one value it measures; otherwise it gets a row of its own.
    own_row = bool(
        measure is not None
        and (interval is not None or measure.value is not None)
        and not (len(check.values) == 1 and check.values[0].value == measure.value)
    )
    numbers = [v.value for v in check.values if v.value is not None]
    numbers += [x for x in (band_lo, band_hi) if math.isfinite(x)]
    if measure is not None and measure.value is not None:
        numbers.append(measure.value)
    if interval is not None:
        numbers += [interval.lower, interval.upper]
    lo, hi = _domain(numbers)
    plot_w = CHART_WIDTH - LABEL_WIDTH - VALUE_MARGIN
    scale = Scale(lo, hi, LABEL_WIDTH, plot_w)
    rows_n = max(len(check.values) + own_row, 1)
    bottom = rows_n * ROW_HEIGHT
    chart = CheckChart(
        check_id=check.id,
        width=CHART_WIDTH,
        height=bottom + 26,
        plot_bottom=bottom,
        text_x=LABEL_WIDTH + plot_w + 6,
        zero_x=scale.x(0.0),
        band=None,
    )
    bl, bh = scale.x(max(band_lo, lo)), scale.x(min(band_hi, hi))
    if bh > bl:
        chart.band = {"x": bl, "width": round(bh - bl, 1)}
    for name, bound in (("min", band_lo), ("max", band_hi)):
        if math.isfinite(bound):
            chart.bounds.append(
                {"name": name, "value": bound, "x": scale.x(bound), "text": f"{name} {fmt(bound)}"}
            )
    entries = [(v.label, v.value, v.raw) for v in check.values]
    if own_row and measure is not None:
        shown = measure.value
        entries.append(("measured", shown, "null" if shown is None else repr(shown)))
    for i, (label, value, raw) in enumerate(entries):
        row = Row(label=label, y=i * ROW_HEIGHT + 4, value=value, raw=raw)
        if value is not None:
            left, right = sorted((chart.zero_x, scale.x(value)))
            row.bar = {
                "x": left,
                "width": round(max(right - left, 2), 1),
                "fill": PASS_COLOUR if b.allows(value) else FAIL_COLOUR,
                "opacity": None,
            }
        measured_row = (own_row and i == len(entries) - 1) or (not own_row and i == 0)
        if interval is not None and measured_row:
            row.interval = _interval_geometry(interval, check, scale, row.y)
            if row.bar is not None:  # a pale bar under the error bar, so both read
                row.bar["opacity"] = BAR_UNDER_INTERVAL_OPACITY
        chart.rows.append(row)
    return chart


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def shap_chart(shap: ShapSet) -> dict[str, Any]:
    bars = [m for m in shap.importances if m.value is not None][:SHAP_MAX_BARS]
    top = max((abs(m.value or 0.0) for m in bars), default=0.0) or 1.0
    plot_w = CHART_WIDTH - LABEL_WIDTH - 90
    rows = []
    for i, m in enumerate(bars):
        width = round(max(abs(m.value or 0.0) / top * plot_w, 1), 1)
        rows.append(
            {
                "name": m.name,
                "short": _short(m.name),
                "value": m.value,
                "y": i * ROW_HEIGHT + 3,
                "width": width,
                "text_x": round(LABEL_WIDTH + width + 6, 1),
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(bars) * ROW_HEIGHT + 6,
        "left": LABEL_WIDTH,
        "rows": rows,
        "hidden": len(shap.importances) - len(bars),
    }
