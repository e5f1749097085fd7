"""The staging endpoint checks (issue 13's ``kind: endpoint`` report), as the evidence shows them.

The report is written by :mod:`clearance.deploy.endpoint_checks` (``EndpointReport.to_json``)::

    {"kind": "endpoint", "stage", "endpoint_name", "model_package_arn", "policy", "checked_at",
     "outcome": "pass"|"fail", "checks": [{"id", "outcome", "reason", "value"?, "bounds"?, "n"?}],
     "latency_ms": {"p50", "p95", "max", "n"}, "error_rate": {"value", "n", "interval"},
     "data_capture": {"enabled", "sampling_percentage", "destination"},
     "monitoring": {"schedule_name", "schedule_expression", "baseline": {...}, "created"}}

It reaches the evidence as a top-level ``endpoint`` object of checks.json, an ``endpoint.json`` in
a reports folder, or ``clearance report --endpoint-report``. Parsing is lenient (display only): a
missing part is shown as missing, a malformed document is one stated problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clearance.evidence.measured import FAIL, PASS, Interval, finite, parse_interval


@dataclass(frozen=True)
class EndpointCheck:
    id: str
    outcome: str  # pass | fail (anything else is shown as fail: fail closed)
    reason: str
    value: float | None
    bounds: dict[str, float]
    n: int | None


@dataclass(frozen=True)
class EndpointView:
    stage: str
    endpoint_name: str
    model_package_arn: str
    checked_at: str
    outcome: str
    policy: str
    checks: tuple[EndpointCheck, ...]
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p95, max
    latency_n: int | None = None
    error_rate: float | None = None
    error_rate_n: int | None = None
    error_rate_interval: Interval | None = None
    data_capture: dict[str, str] = field(default_factory=dict)
    monitoring: dict[str, str] = field(default_factory=dict)

    def check(self, check_id: str) -> EndpointCheck | None:
        return next((c for c in self.checks if c.id == check_id), None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _flat(raw: Any, prefix: str = "") -> dict[str, str]:
    """A nested object as "key.sub: text" rows (the monitoring baseline URIs)."""
    out: dict[str, str] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = _text(value)
    return out


def _int(value: Any) -> int | None:
    number = finite(value)
    return int(number) if number is not None and number.is_integer() and number >= 0 else None


def parse_endpoint(doc: Any) -> EndpointView:
    """Raise ValueError (stated as a problem by the caller) unless DOC is an endpoint report."""
    if not isinstance(doc, Mapping) or doc.get("kind") != "endpoint":
        raise ValueError('not an endpoint report (no "kind": "endpoint")')
    checks = []
    for raw in doc.get("checks") or []:
        if not isinstance(raw, Mapping):
            continue
        bounds = raw.get("bounds") if isinstance(raw.get("bounds"), Mapping) else {}
        checks.append(
            EndpointCheck(
                id=_text(raw.get("id")) or "?",
                outcome=PASS if raw.get("outcome") == PASS else FAIL,
                reason=_text(raw.get("reason")),
                value=finite(raw.get("value")),
                bounds={str(k): b for k, v in bounds.items() if (b := finite(v)) is not None},
                n=_int(raw.get("n")),
            )
        )
    latency = doc.get("latency_ms") if isinstance(doc.get("latency_ms"), Mapping) else {}
    errors = doc.get("error_rate") if isinstance(doc.get("error_rate"), Mapping) else {}
    interval, _ = parse_interval(errors.get("interval"))
    policy = doc.get("policy") if isinstance(doc.get("policy"), Mapping) else {}
    # The report's own verdict counts only if every check agrees (fail closed on a mixed report).
    outcome = PASS if doc.get("outcome") == PASS and checks else FAIL
    if any(c.outcome != PASS for c in checks):
        outcome = FAIL
    return EndpointView(
        stage=_text(doc.get("stage")),
        endpoint_name=_text(doc.get("endpoint_name")),
        model_package_arn=_text(doc.get("model_package_arn")),
        checked_at=_text(doc.get("checked_at")),
        outcome=outcome,
        policy=" ".join(_text(policy.get(k)) for k in ("id", "version") if policy.get(k)),
        checks=tuple(checks),
        latency_ms={
            k: v for k in ("p50", "p95", "max") if (v := finite(latency.get(k))) is not None
        },
        latency_n=_int(latency.get("n")),
        error_rate=finite(errors.get("value")),
        error_rate_n=_int(errors.get("n")),
        error_rate_interval=interval,
        data_capture=_flat(doc.get("data_capture")),
        monitoring=_flat(doc.get("monitoring")),
    )
