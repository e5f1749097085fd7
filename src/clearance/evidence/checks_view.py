"""checks.json as the evidence side displays it (lenient: a problem is shown, not raised)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.contract.checks import ChecksError, decision_from_json
from clearance.contract.status import APPROVED, PENDING
from clearance.evidence.common import DECISIONS, REGENERATE_FIX, EvidenceError
from clearance.evidence.endpoint_view import EndpointView, parse_endpoint
from clearance.evidence.measured import (
    INCONCLUSIVE,
    Measure,
    Verification,
    counts,
    finite,
    measured_text,
    parse_measure,
    parse_outcome,
    parse_verification,
)

# --------------------------------------------------------------------------------------------------
# checks.json


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None
    abs_max: float | None = None

    def allows(self, value: float | None) -> bool:
        """Inclusive bounds, as the policy defines them; a non-finite value is never allowed."""
        if value is None or not math.isfinite(value):
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return not (self.abs_max is not None and abs(value) > self.abs_max)

    def band(self) -> tuple[float, float]:
        """The allowed interval (may be unbounded on either side)."""
        lo, hi = -math.inf, math.inf
        if self.min is not None:
            lo = max(lo, self.min)
        if self.max is not None:
            hi = min(hi, self.max)
        if self.abs_max is not None:
            lo, hi = max(lo, -self.abs_max), min(hi, self.abs_max)
        return lo, hi


@dataclass(frozen=True)
class CheckValue:
    label: str
    value: float | None  # None: not a finite number (null, NaN, ±Infinity, a string, ...)
    raw: str  # what checks.json held, for the reader when value is None


@dataclass(frozen=True)
class CheckView:
    id: str
    report: str
    metric: str
    passed: bool
    values: tuple[CheckValue, ...]
    bounds: Bounds
    reason: str
    # The extended contract (PLAN.md); defaults are what an old checks.json means.
    outcome: str = ""  # pass | fail | inconclusive ("" = from `passed`)
    measure: Measure | None = None
    needed_n: dict[str, int] = field(default_factory=dict)
    verification: Verification | None = None

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "pass" if self.passed else "fail")

    # Plain views of the measure, for callers that want numbers rather than the Measure.
    @property
    def recomputed(self) -> float | None:
        return self.measure.value if self.measure is not None else None

    @property
    def interval(self) -> tuple[float, float] | None:
        m = self.measure
        return (m.interval.lower, m.interval.upper) if m and m.interval else None

    @property
    def group_sizes(self) -> dict[str, int]:
        return dict(self.measure.group_sizes) if self.measure is not None else {}

    @property
    def measured_text(self) -> str:
        """``recomputed 0.206; 95% interval [0.159, 0.267] (newcombe); n facet 774, rest 726;
        rows that would decide: ...``, or "" for a check without measured evidence."""
        return measured_text(self)


@dataclass(frozen=True)
class ChecksView:
    model_package_arn: str
    policy_id: str
    policy_version: str
    policy_sha256: str
    decision: str
    checks: tuple[CheckView, ...]
    evaluated_at: str
    reports: Mapping[str, Mapping[str, str]]
    sha256: str  # digest of the checks.json bytes, which the registry metadata also records
    # Optional parts of a richer checks.json: the verification summary (bundle, tolerance) and the
    # staging endpoint report (issue 13), shown when present.
    verification: Mapping[str, str] = field(default_factory=dict)
    endpoint: EndpointView | None = None
    endpoint_problem: str = ""

    @property
    def failed(self) -> tuple[CheckView, ...]:
        """Every check that did not pass (fail and inconclusive: both keep a package out)."""
        return tuple(c for c in self.checks if not c.passed)

    @property
    def inconclusive(self) -> tuple[CheckView, ...]:
        return tuple(c for c in self.checks if c.outcome == INCONCLUSIVE)


_finite = finite


def _bound(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    number = _finite(raw)
    if number is None:
        raise EvidenceError(where, f"must be a finite number or null, got {raw!r}", REGENERATE_FIX)
    return number


def _text(doc: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # policy versions are often written as bare numbers
    if not isinstance(value, str) or (required and not value):
        raise EvidenceError(
            f"{where}{key}", f"must be a non-empty string, got {value!r}", REGENERATE_FIX
        )
    return value


def _check_value(index: int, raw: Any) -> CheckValue:
    label = f"value {index + 1}"
    if isinstance(raw, Mapping):
        # A richer checks.json may carry {"facet": .., "facet_value": .., "value": ..}; label by
        # context.
        parts = [
            f"{k}={raw[k]}"
            for k in ("facet", "facet_value", "value_or_threshold", "label", "feature")
            if raw.get(k) is not None
        ]
        label = ", ".join(str(p) for p in parts) or label
        raw = raw.get("value")
    return CheckValue(label=label, value=_finite(raw), raw=json.dumps(raw, allow_nan=True))


def parse_checks(doc: Any, sha256: str = "") -> ChecksView:
    """Validate a checks.json document; an approval with a failed check is refused (fail closed).

    The document first goes through the one strict parser
    (:func:`clearance.contract.checks.decision_from_json`), so the evidence side refuses everything
    the Update step refuses; the view then adds what display needs (finite bounds, unique ids).
    """
    if not isinstance(doc, Mapping):
        raise EvidenceError("checks.json", "must be a JSON object", REGENERATE_FIX)
    arn = _text(doc, "model_package_arn", "")
    policy = doc.get("policy")
    if not isinstance(policy, Mapping):
        raise EvidenceError("policy", "must be an object with id, version, sha256", REGENERATE_FIX)
    decision = doc.get("decision")
    if decision not in (*DECISIONS, PENDING):
        raise EvidenceError(
            "decision",
            f"must be Approved, Rejected or {PENDING}, got {decision!r}",
            REGENERATE_FIX,
        )
    raw_checks = doc.get("checks")
    if not isinstance(raw_checks, list):
        raise EvidenceError("checks", "must be a list", REGENERATE_FIX)
    checks: list[CheckView] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_checks):
        where = f"checks[{i}]."
        if not isinstance(item, Mapping):
            raise EvidenceError(f"checks[{i}]", "must be an object", REGENERATE_FIX)
        if not isinstance(item.get("passed"), bool):
            raise EvidenceError(f"{where}passed", "must be true or false", REGENERATE_FIX)
        values = item.get("values", [])
        if not isinstance(values, list):
            raise EvidenceError(f"{where}values", "must be a list", REGENERATE_FIX)
        bounds = item.get("bounds") or {}
        if not isinstance(bounds, Mapping):
            raise EvidenceError(f"{where}bounds", "must be an object", REGENERATE_FIX)
        check_id = _text(item, "id", where)
        if check_id in seen:
            raise EvidenceError(f"{where}id", f"duplicate check id {check_id!r}", REGENERATE_FIX)
        seen.add(check_id)
        outcome = parse_outcome(item, item["passed"])
        if outcome is None:
            raise EvidenceError(
                f"{where}outcome",
                f"{item.get('outcome')!r} is not pass/fail/inconclusive or contradicts passed "
                f"{item['passed']!r}",
                REGENERATE_FIX,
            )
        checks.append(
            CheckView(
                id=check_id,
                report=_text(item, "report", where, required=False),
                metric=_text(item, "metric", where, required=False),
                passed=item["passed"],
                values=tuple(_check_value(j, v) for j, v in enumerate(values)),
                bounds=Bounds(
                    min=_bound(bounds.get("min"), f"{where}bounds.min"),
                    max=_bound(bounds.get("max"), f"{where}bounds.max"),
                    abs_max=_bound(bounds.get("abs_max"), f"{where}bounds.abs_max"),
                ),
                reason=_text(item, "reason", where, required=False),
                outcome=outcome,
                measure=parse_measure(item),
                needed_n=counts(item.get("needed_n")),
                verification=parse_verification(item),
            )
        )
    if decision == APPROVED and (not checks or any(not c.passed for c in checks)):
        raise EvidenceError(
            "decision",
            "Approved although a check failed or no check ran; this checks.json is inconsistent",
            REGENERATE_FIX,
        )
    # Everything the Update step refuses is refused here too (the messages above name the field
    # more precisely, so they come first).
    try:
        decision_from_json(doc)
    except ChecksError as exc:
        problem = str(exc).removeprefix("checks.json: ")
        raise EvidenceError("checks.json", problem, REGENERATE_FIX) from None
    reports = doc.get("reports") if isinstance(doc.get("reports"), Mapping) else {}
    return ChecksView(
        model_package_arn=arn,
        policy_id=_text(policy, "id", "policy.", required=False),
        policy_version=_text(policy, "version", "policy.", required=False),
        policy_sha256=_text(policy, "sha256", "policy.", required=False),
        decision=decision,
        checks=tuple(checks),
        evaluated_at=str(doc.get("evaluated_at") or ""),
        reports={
            str(k): {str(a): str(b) for a, b in v.items() if b is not None}
            for k, v in reports.items()
            if isinstance(v, Mapping)
        },
        sha256=sha256,
        verification=_verification_summary(doc.get("verification")),
        **_endpoint(doc.get("endpoint")),
    )


def _verification_summary(raw: Any) -> dict[str, str]:
    """What the recomputation was made from (bundle summary, tolerance), as text rows."""
    if not isinstance(raw, Mapping):
        return {}
    rows: dict[str, str] = {}
    for key, value in raw.items():
        if key == "metrics":  # the per-check numbers are shown with each check
            continue
        if isinstance(value, Mapping):
            rows.update({f"{key}.{k}": _shown(v) for k, v in value.items()})
        else:
            rows[str(key)] = _shown(value)
    return rows


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)[:300]


def _endpoint(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        return {"endpoint": parse_endpoint(raw)}
    except ValueError as exc:
        return {"endpoint_problem": str(exc)}


def load_checks_file(path: str | Path) -> ChecksView:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            "--checks", f"cannot read {path}: {exc.strerror or exc}", "pass an existing checks.json"
        ) from None
    try:
        doc = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvidenceError(
            "--checks", f"{path} is not valid JSON ({exc})", REGENERATE_FIX
        ) from None
    return parse_checks(doc, hashlib.sha256(data).hexdigest())


def _reject_constant(name: str) -> Any:
    # The strict parser's rule for files: NaN/Infinity literals are not JSON (checks.json is
    # written with allow_nan=False).
    raise ValueError(f"non-standard JSON constant {name}")
