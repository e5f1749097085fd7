"""One self-contained HTML page per decision: inline CSS and SVG, no script, no external asset.

Every string that reaches the page goes through `_e` (html.escape with quotes): package ARNs,
policy ids, reasons, feature and facet names are all user-controlled. A Content-Security-Policy
meta tag forbids scripts and remote loads as a second line of defence.

Numbers: each check value is printed rounded for the eye, and carried exactly (Python's repr, which
round-trips a float) in `data-value`, so tests and tools can prove the page equals checks.json.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from clearance.contract import fmt as contract_fmt
from clearance.evidence.checks_view import Bounds, ChecksView, CheckView
from clearance.evidence.parse import BiasGroup, Evidence, MetricSection, MetricValue, ShapSet

PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#cf222e"
BAND_COLOUR = "#dafbe1"
AXIS_COLOUR = "#57606a"
SHAP_COLOUR = "#0969da"
SHAP_MAX_BARS = 30
CHART_WIDTH = 640
LABEL_WIDTH = 170
ROW_HEIGHT = 22

CSS = f"""
body{{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  color:#1f2328;background:#f6f8fa}}
main{{max-width:980px;margin:0 auto;padding:24px}}
header.decision{{padding:18px 22px;border-radius:8px;color:#fff;margin-bottom:18px}}
header.Approved{{background:{PASS_COLOUR}}} header.Rejected{{background:{FAIL_COLOUR}}}
header h1{{margin:0 0 4px;font-size:26px}} header p{{margin:0;opacity:.95}}
section{{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;
  margin-bottom:18px}}
h2{{font-size:18px;margin:0 0 12px}} h3{{font-size:15px;margin:14px 0 6px}}
table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}}
th{{font-weight:600;background:#f6f8fa}} code{{font-size:12px;word-break:break-all}}
.check{{border-left:6px solid;padding:8px 12px;margin:10px 0;background:#fbfcfd}}
.check.pass{{border-color:{PASS_COLOUR}}} .check.fail{{border-color:{FAIL_COLOUR}}}
.badge{{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;
  font-weight:600}}
.badge.pass{{background:{PASS_COLOUR}}} .badge.fail{{background:{FAIL_COLOUR}}}
.reason{{color:#424a53;margin:4px 0}} .problem{{color:{FAIL_COLOUR}}} .muted{{color:#6e7781}}
svg text{{font:12px system-ui,sans-serif;fill:#1f2328}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# How a number is shown to people: 6 significant digits (the exact value is in data-value).
fmt = contract_fmt.display


def _value_passes(bounds: Bounds, value: float | None) -> bool:
    return bounds.allows(value)


# --------------------------------------------------------------------------------------------------
# SVG pieces


def _domain(numbers: Iterable[float]) -> tuple[float, float]:
    finite = [n for n in numbers if math.isfinite(n)] + [0.0]
    lo, hi = min(finite), max(finite)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _check_chart(check: CheckView) -> str:
    """Bars of each value against the allowed band (green) and the bound lines (dashed)."""
    b = check.bounds
    band_lo, band_hi = b.band()
    numbers = [v.value for v in check.values if v.value is not None]
    numbers += [x for x in (band_lo, band_hi) if math.isfinite(x)]
    if check.interval is not None:
        numbers += [x for x in check.interval if math.isfinite(x)]
    lo, hi = _domain(numbers)
    plot_w = CHART_WIDTH - LABEL_WIDTH - 80
    rows = max(len(check.values), 1)
    height = rows * ROW_HEIGHT + 26

    def x(v: float) -> float:
        return LABEL_WIDTH + (min(max(v, lo), hi) - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg class="check-chart" role="img" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(check.id)}: values against bounds</title>"
    ]
    bl, bh = x(max(band_lo, lo)), x(min(band_hi, hi))
    if bh > bl:
        parts.append(
            f'<rect class="band" x="{bl:.1f}" y="0" width="{bh - bl:.1f}" '
            f'height="{rows * ROW_HEIGHT}" '
            f'fill="{BAND_COLOUR}"/>'
        )
    for name, bound in (("min", band_lo), ("max", band_hi)):
        if math.isfinite(bound):
            parts.append(
                f'<line class="bound" x1="{x(bound):.1f}" x2="{x(bound):.1f}" y1="0" '
                f'y2="{rows * ROW_HEIGHT}" stroke="{AXIS_COLOUR}" stroke-dasharray="4 3"/>'
                f'<text x="{x(bound):.1f}" y="{rows * ROW_HEIGHT + 14}" text-anchor="middle">'
                f"{name} {_e(fmt(bound))}</text>"
            )
    zero = x(0.0)
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{rows * ROW_HEIGHT}" '
        f'stroke="{AXIS_COLOUR}"/>'
    )
    for i, v in enumerate(check.values):
        y = i * ROW_HEIGHT + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{_e(v.label)}</text>'
        )
        if v.value is None:
            parts.append(
                f'<text class="nan" x="{LABEL_WIDTH + 4}" y="{y + 12}" '
                # A white halo keeps the text readable over the band and the bound lines.
                f'style="fill:{FAIL_COLOUR};paint-order:stroke;stroke:#fff;stroke-width:3px">'
                f"not a finite number: {_e(v.raw)}</text>"
            )
            continue
        colour = PASS_COLOUR if _value_passes(b, v.value) else FAIL_COLOUR
        left, right = sorted((zero, x(v.value)))
        parts.append(
            f'<rect class="bar" x="{left:.1f}" y="{y}" width="{max(right - left, 2):.1f}" '
            f'height="14" '
            f'fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + plot_w + 6}" y="{y + 12}">{_e(fmt(v.value))}</text>'
        )
    if check.interval is not None and check.values:
        # The recomputed 95 % interval as an error bar across the first value's row.
        a, c = (x(end) for end in check.interval)
        mid = 11
        parts.append(
            f'<g class="interval" data-lower="{check.interval[0]!r}" '
            f'data-upper="{check.interval[1]!r}" stroke="{AXIS_COLOUR}" stroke-width="2">'
            f'<line x1="{a:.1f}" x2="{c:.1f}" y1="{mid}" y2="{mid}"/>'
            f'<line x1="{a:.1f}" x2="{a:.1f}" y1="{mid - 5}" y2="{mid + 5}"/>'
            f'<line x1="{c:.1f}" x2="{c:.1f}" y1="{mid - 5}" y2="{mid + 5}"/>'
            f"<title>95% interval [{_e(fmt(check.interval[0]))}, "
            f"{_e(fmt(check.interval[1]))}]</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _shap_chart(shap: ShapSet) -> str:
    bars = [m for m in shap.importances if m.value is not None][:SHAP_MAX_BARS]
    if not bars:
        return '<p class="problem">No finite SHAP value.</p>'
    top = max(abs(m.value or 0.0) for m in bars) or 1.0
    plot_w = CHART_WIDTH - LABEL_WIDTH - 90
    height = len(bars) * ROW_HEIGHT + 6
    parts = [
        f'<svg class="shap-chart" role="img" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>Global SHAP importances, {_e(shap.label)}</title>"
    ]
    for i, m in enumerate(bars):
        y = i * ROW_HEIGHT + 3
        width = max(abs(m.value or 0.0) / top * plot_w, 1)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">'
            f"{_e(_short(m.name))}</text>"
            f'<rect class="shap-bar" data-feature="{_e(m.name)}" data-value="{m.value!r}" '
            f'x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="14" fill="{SHAP_COLOUR}"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 12}">{_e(fmt(m.value))}</text>'
        )
    parts.append("</svg>")
    hidden = len(shap.importances) - len(bars)
    note = (
        f'<p class="muted">{hidden} smaller or non-finite features not drawn.</p>' if hidden else ""
    )
    return "".join(parts) + note


# --------------------------------------------------------------------------------------------------
# Sections


def _bounds_text(b: Bounds) -> str:
    return contract_fmt.bounds_labelled({"min": b.min, "max": b.max, "abs_max": b.abs_max})


def _check_block(check: CheckView) -> str:
    state = "pass" if check.passed else "fail"
    badge = (check.outcome or state).upper()
    measured = (
        f'<p class="measured muted">{_e(check.measured_text)}</p>' if check.measured_text else ""
    )
    values = "".join(
        f'<li class="check-value" data-check-id="{_e(check.id)}" data-index="{i}" '
        f'data-value="{_e(repr(v.value) if v.value is not None else "null")}">'
        f"{_e(v.label)}: <b>{_e(fmt(v.value) if v.value is not None else v.raw)}</b></li>"
        for i, v in enumerate(check.values)
    )
    return (
        f'<div class="check {state}" id="check-{_e(check.id)}" data-check-id="{_e(check.id)}" '
        f'data-passed="{str(check.passed).lower()}" data-min="{_e(check.bounds.min)}" '
        f'data-max="{_e(check.bounds.max)}" data-abs-max="{_e(check.bounds.abs_max)}">'
        f'<span class="badge {state}">{_e(badge)}</span> '
        f'<b class="check-id">{_e(check.id)}</b> '
        f'<span class="muted">{_e(check.report)} / {_e(check.metric)} · '
        f"bounds {_e(_bounds_text(check.bounds))}"
        f"</span>"
        f'<p class="reason">{_e(check.reason)}</p>{measured}{_check_chart(check)}'
        f'<ul class="muted">{values or "<li>no value selected</li>"}</ul></div>'
    )


def _metric_cell(m: MetricValue) -> str:
    if m.value is None:
        return f'<span class="problem">{_e(m.note)}</span>'
    return _e(fmt(m.value))


def _bias_table(group: BiasGroup) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(m.name)}</code></td><td>{_e(m.description)}</td>"
        f'<td data-value="{_e(repr(m.value) if m.value is not None else "null")}">'
        f"{_metric_cell(m)}</td></tr>"
        for m in group.metrics
    )
    title = (
        f"{group.stage.replace('_', '-')}: facet {group.facet} = {group.facet_value}"
        f" (label {group.label} = {group.label_value})"
    )
    head = "<tr><th>Metric</th><th>Meaning</th><th>Value</th></tr>"
    return f"<h3>{_e(title)}</h3><table>{head}{rows}</table>"


def _section_table(section: MetricSection) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(m.name)}</code></td><td>{_metric_cell(m)}</td></tr>"
        for m in section.metrics
    )
    return f"<h3>{_e(section.name)}</h3><table><tr><th>Metric</th><th>Value</th></tr>{rows}</table>"


def render(
    checks: ChecksView,
    evidence: Evidence | None = None,
    *,
    package: Any = None,
    card: Any = None,
) -> str:
    """The whole page as a string."""
    evidence = evidence or Evidence()
    failed = checks.failed
    summary = (
        f"all {len(checks.checks)} checks passed"
        if not failed
        else f"{len(failed)} of {len(checks.checks)} checks failed: "
        + ", ".join(c.id for c in failed)
    )
    ids = [
        ("Model package", checks.model_package_arn),
        ("Policy", f"{checks.policy_id} version {checks.policy_version}"),
        ("Policy sha256", checks.policy_sha256),
        ("checks.json sha256", checks.sha256),
        ("Evaluated at", checks.evaluated_at),
    ]
    if package is not None:
        ids += [(k, v) for k, v in sorted(package.metadata.items()) if k.startswith("team:")]
        ids.append(("Registry status", package.approval_status))
    if card is not None:
        ids.append(("Model card", f"{card.name} v{card.version} ({card.status}, {card.action})"))
    id_rows = "".join(
        f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>" for k, v in ids if v
    )

    body = [
        f'<header class="decision {_e(checks.decision)}" id="decision" '
        f'data-decision="{_e(checks.decision)}">'
        f"<h1>{_e(checks.decision)}</h1><p>{_e(summary)}</p></header>",
        f"<section><h2>Identifiers</h2><table>{id_rows}</table></section>",
        "<section><h2>Policy checks</h2>"
        + "".join(_check_block(c) for c in checks.checks)
        + "</section>",
    ]
    if evidence.shap:
        body.append(
            "<section><h2>Explainability: global SHAP importances</h2>"
            + "".join(
                f"<h3>{_e(s.method)} · {_e(s.label)}</h3>{_shap_chart(s)}" for s in evidence.shap
            )
            + "</section>"
        )
    if evidence.bias:
        body.append(
            "<section><h2>Bias metrics per facet</h2>"
            + "".join(_bias_table(g) for g in evidence.bias)
            + "</section>"
        )
    if evidence.sections:
        body.append(
            "<section><h2>Model quality and evaluations</h2>"
            + "".join(_section_table(s) for s in evidence.sections)
            + "</section>"
        )
    if evidence.problems or evidence.sources:
        rows = "".join(
            f"<tr><th>{_e(kind)}</th><td><code>{_e(evidence.sources.get(kind, ''))}</code>"
            + (
                f'<div class="problem">{_e(evidence.problems[kind])}</div>'
                if kind in evidence.problems
                else ""
            )
            + "</td></tr>"
            for kind in sorted(set(evidence.sources) | set(evidence.problems))
        )
        body.append(f"<section><h2>Report sources</h2><table>{rows}</table></section>")

    title = f"{checks.decision}: {checks.model_package_arn}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(
    path: str | Path, checks: ChecksView, evidence: Evidence | None = None, **kwargs: Any
) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a page behind."""
    path = Path(path)
    page = render(checks, evidence, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
