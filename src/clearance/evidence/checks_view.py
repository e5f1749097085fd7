"""checks.json as the evidence side displays it (lenient: a problem is shown, not raised)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.contract.checks import ChecksError, decision_from_json
from clearance.contract.status import APPROVED, PENDING
from clearance.evidence.common import DECISIONS, REGENERATE_FIX, EvidenceError

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
    # Verified checks (issue 10): pass / fail / inconclusive, the recomputed value, its 95 %
    # interval, the group sizes it came from and, when inconclusive, the rows that would decide.
    outcome: str = ""
    recomputed: float | None = None
    interval: tuple[float, float] | None = None
    group_sizes: Mapping[str, int] | None = None
    needed_n: Mapping[str, int] | None = None

    @property
    def measured_text(self) -> str:
        """ "recomputed 0.206, 95% [0.159, 0.267], n facet 774, rest 726; needed ..." or ""."""
        parts = []
        if self.recomputed is not None:
            parts.append(f"recomputed {self.recomputed:.4g}")
        if self.interval is not None:
            parts.append(f"95% interval [{self.interval[0]:.4g}, {self.interval[1]:.4g}]")
        if self.group_sizes:
            parts.append("n " + ", ".join(f"{k} {v}" for k, v in self.group_sizes.items()))
        if self.needed_n:
            rows = ", ".join(f"{k} {v}" for k, v in self.needed_n.items())
            parts.append(f"rows that would decide: {rows}")
        return "; ".join(parts)


def _measured(item: Mapping[str, Any]) -> dict[str, Any]:
    """The optional measured fields of a check, kept only when well-formed (display only)."""
    out: dict[str, Any] = {"outcome": str(item.get("outcome") or "")}
    value = item.get("value")
    out["recomputed"] = _finite(value) if not isinstance(value, bool) else None
    interval = item.get("interval")
    if isinstance(interval, Mapping):
        lower, upper = _finite(interval.get("lower")), _finite(interval.get("upper"))
        if lower is not None and upper is not None:
            out["interval"] = (lower, upper)
    for key in ("group_sizes", "needed_n"):
        raw = item.get(key)
        if isinstance(raw, Mapping) and all(isinstance(v, int) for v in raw.values()):
            out[key] = {str(k): int(v) for k, v in raw.items()}
    return out


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

    @property
    def failed(self) -> tuple[CheckView, ...]:
        return tuple(c for c in self.checks if not c.passed)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # JSON integers are unbounded; 10**400 is no metric
        return None
    return number if math.isfinite(number) else None


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
            "decision", f"must be Approved, Rejected or {PENDING}, got {decision!r}", REGENERATE_FIX
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
                **_measured(item),
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
    )


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
