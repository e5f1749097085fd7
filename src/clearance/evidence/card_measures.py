"""Model card evaluation items for the measured evidence: intervals, group sizes, needed rows, the
verification, and the staging endpoint checks.

The model card schema has no interval type, so an interval is two numbers beside its value
(``<metric> lower 95%`` / ``upper``), each with a note naming the method; group sizes and needed
rows are numbers named after their group. Everything stays within the shapes sagemaker-core
mirrors (number, string, boolean metrics), so the same validation applies.
"""

from __future__ import annotations

from typing import Any

from clearance.evidence.card_limits import (
    METRIC_NAME_MAX,
    NAME_MAX,
    NOTES_MAX,
    OBSERVATION_MAX,
    _clip,
)
from clearance.evidence.checks_view import ChecksView, CheckView
from clearance.evidence.endpoint_view import EndpointView
from clearance.evidence.measured import PASS, Interval, measured_text

MEASURED_TITLE = "Clearance measured metrics (95% intervals)"
ENDPOINT_TITLE = "Endpoint checks"


def _number(name: str, value: float | int, notes: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"name": _clip(name, METRIC_NAME_MAX), "type": "number", "value": value}
    if notes:
        entry["notes"] = _clip(notes, NOTES_MAX)
    return entry


def interval_text(interval: Interval | None) -> str:
    return interval.text if interval is not None else "no interval"


def check_note(check: CheckView) -> str:
    """What the check group's note adds for a check with measured evidence ("" for old files)."""
    text = measured_text(check)
    if check.outcome == "inconclusive" or text:
        text = f"outcome {check.outcome}" + (f"; {text}" if text else "")
    return text


def _measured_group(check: CheckView) -> dict[str, Any]:
    metric = check.metric or check.id
    data: list[dict[str, Any]] = [
        {"name": "outcome", "type": "string", "value": check.outcome,
         "notes": _clip(check.reason or check.outcome, NOTES_MAX)}
    ]  # fmt: skip
    m = check.measure
    if m is not None:
        if m.value is not None:
            data.append(_number(metric, m.value, interval_text(m.interval)))
        else:
            data.append({"name": _clip(metric, METRIC_NAME_MAX), "type": "string",
                         "value": "undefined"})  # fmt: skip
        if m.interval is not None:
            level = f"{m.interval.level:.0%}" if m.interval.level is not None else "interval"
            note = m.interval.method or "method not stated"
            data.append(_number(f"{metric} lower {level}", m.interval.lower, note))
            data.append(_number(f"{metric} upper {level}", m.interval.upper, note))
        if m.n is not None:
            data.append(_number("n", m.n, "rows the metric was computed from"))
        for group, rows in sorted(m.group_sizes.items()):
            data.append(_number(f"n {group}", rows, "group size"))
    for group, rows in sorted(check.needed_n.items()):
        data.append(_number(f"needed n {group}", rows, "rows that would decide at this effect"))
    v = check.verification
    if v is not None:
        for name, value in (("reported", v.reported), ("tolerance", v.tolerance)):
            if value is not None:
                data.append(_number(f"{metric} {name}", value, "team report vs recomputation"))
        if v.agrees is not None:
            data.append({"name": "reported agrees", "type": "boolean", "value": v.agrees})
    return {"name": _clip(check.id, NAME_MAX), "metric_data": data}


def measured_item(checks: ChecksView) -> dict[str, Any] | None:
    """One metric group per check that carries measured evidence; None for an old checks.json."""
    measured = [c for c in checks.checks if c.measure is not None or c.needed_n or c.verification]
    if not measured:
        return None
    inconclusive = len(checks.inconclusive)
    observation = (
        f"{len(measured)} checks decided on recomputed metrics with 95% intervals and group sizes; "
        f"{inconclusive} inconclusive (insufficient evidence)."
    )
    return {
        "name": MEASURED_TITLE,
        "evaluation_observation": _clip(observation, OBSERVATION_MAX),
        "metric_groups": [_measured_group(c) for c in measured],
    }


def endpoint_item(ep: EndpointView) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for stat, value in ep.latency_ms.items():
        note = f"{ep.latency_n} timed requests" if ep.latency_n is not None else ""
        data.append(_number(f"latency {stat} ms", value, note))
    if ep.error_rate is not None:
        note = interval_text(ep.error_rate_interval)
        if ep.error_rate_n is not None:
            note += f", n {ep.error_rate_n}"
        data.append(_number("error rate", ep.error_rate, note))
        if ep.error_rate_interval is not None:
            data.append(_number("error rate upper 95%", ep.error_rate_interval.upper, note))
    for check in ep.checks:
        data.append(
            {
                "name": _clip(check.id, METRIC_NAME_MAX),
                "type": "boolean",
                "value": check.outcome == PASS,
                "notes": _clip(check.reason or check.outcome, NOTES_MAX),
            }
        )
    for title, rows in (("data capture", ep.data_capture), ("monitor schedule", ep.monitoring)):
        if rows:
            text = "; ".join(f"{k}: {v}" for k, v in rows.items())
            data.append({"name": title, "type": "string", "value": _clip(text, NOTES_MAX)})
    observation = (
        f"Staging endpoint checks {ep.outcome.upper()} on {ep.endpoint_name or 'an endpoint'}"
        + (f" at {ep.checked_at}" if ep.checked_at else "")
        + (f" under endpoint policy {ep.policy}" if ep.policy else "")
        + "."
    )
    stage = f" ({ep.stage})" if ep.stage else ""
    return {
        "name": _clip(f"{ENDPOINT_TITLE}{stage}", NAME_MAX),
        "evaluation_observation": _clip(observation, OBSERVATION_MAX),
        "metric_groups": [
            {"name": _clip(ep.endpoint_name or "endpoint", NAME_MAX), "metric_data": data}
        ],
    }
