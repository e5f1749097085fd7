"""Evaluate a policy against a model package's reports and write ``checks.json``.

Fail closed: a rule passes only when it selected at least one value and every selected value is a
finite number within the rule's inclusive bounds. Anything else (missing report, unreadable bytes,
invalid JSON, a missing facet/metric/label/feature, null, NaN, Infinity, an ``error`` entry, a
non-number, even a bug in this module) is a failed check with a reason. :func:`evaluate` never
raises for any report content.

checks.json (contract shared with the approval pipeline and the evidence tools)::

    {"model_package_arn": ..., "policy": {"id", "version", "sha256"},
     "decision": "Approved"|"Rejected",
     "checks": [{"id", "report", "metric", "passed", "values", "bounds", "reason"}],
     "evaluated_at": "...Z", "reports": {kind: {"s3_uri", "sha256"}}}

It is written canonically (sorted keys, two-space indent, trailing newline) so the sha256 of the
file's bytes equals :attr:`Decision.sha256`, the digest the registry metadata records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearance.policy import Policy, Rule
from clearance.reports import (
    REPORT_KINDS,
    ReportError,
    Selected,
    model_kind,
    parse_report,
    select_values,
)

__all__ = [
    "APPROVED",
    "REJECTED",
    "Check",
    "ChecksError",
    "Decision",
    "ReportInput",
    "evaluate",
    "load_checks",
    "write_checks",
]

LOG = logging.getLogger(__name__)

APPROVED = "Approved"
REJECTED = "Rejected"
# One report input per kind: raw bytes (parsed here), an already parsed document, None (absent) or
# the reason it could not be fetched.
ReportInput = bytes | bytearray | str | Mapping[str, Any] | ReportError | None
_MAX_REASON = 1000
_MAX_PROBLEMS = 3


class ChecksError(ValueError):
    """A checks.json that is unreadable or inconsistent (e.g. Approved with a failed check)."""


@dataclass(frozen=True)
class Check:
    """The outcome of one rule."""

    id: str
    report: str
    metric: str
    passed: bool
    values: tuple[Any, ...]
    bounds: Mapping[str, float | None]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "report": self.report,
            "metric": self.metric,
            "passed": self.passed,
            "values": list(self.values),
            "bounds": dict(self.bounds),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Decision:
    """The evaluation of one model package against one policy."""

    model_package_arn: str
    policy: Mapping[str, Any]
    decision: str
    checks: tuple[Check, ...]
    evaluated_at: str | None = None
    reports: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    model_kind: str | None = None
    not_applicable: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_json(self) -> dict[str, Any]:
        """The checks.json document."""
        out: dict[str, Any] = {
            "model_package_arn": self.model_package_arn,
            "policy": dict(self.policy),
            "decision": self.decision,
            "checks": [check.to_json() for check in self.checks],
        }
        if self.evaluated_at is not None:
            out["evaluated_at"] = self.evaluated_at
        if self.reports:
            out["reports"] = {kind: dict(info) for kind, info in self.reports.items()}
        if self.model_kind is not None:
            out["model_kind"] = self.model_kind
        if self.not_applicable:
            out["not_applicable"] = list(self.not_applicable)
        return out

    def to_bytes(self) -> bytes:
        """Canonical checks.json bytes (strict JSON: no NaN or Infinity literals)."""
        text = json.dumps(
            self.to_json(), indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False
        )
        return (text + "\n").encode("utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(raw: Any) -> Any:
    """A selected value as checks.json can hold it.

    Non-finite numbers become their names as strings,
    structures a placeholder, long strings truncated. The reason carries the full story."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        try:
            float(raw)
        except OverflowError:
            return "<integer too large>"
        return raw
    if isinstance(raw, float):
        if math.isnan(raw):
            return "NaN"
        if math.isinf(raw):
            return "Infinity" if raw > 0 else "-Infinity"
        return raw
    if isinstance(raw, str):
        return raw if len(raw) <= 80 else raw[:77] + "..."
    if isinstance(raw, list):
        return "<list>"
    if isinstance(raw, dict):
        return "<object>"
    return f"<{type(raw).__name__}>"


def _truncate(text: str, limit: int = _MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failed(rule: Rule, reason: str, values: tuple[Any, ...] = ()) -> Check:
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=False,
        values=values,
        bounds=rule.bounds,
        reason=_truncate(reason),
    )


def _judge(rule: Rule, selected: list[Selected]) -> Check:
    values = tuple(_json_value(s.raw) for s in selected)
    if not selected:
        return _failed(rule, "selected no values", values)
    problems: list[str] = []
    for item in selected:
        if not item.usable:
            problems.append(f"{item.problem} (at {item.location})")
        elif item.number is None or not rule.within(item.number):
            problems.append(
                f"{item.number:g} is outside {rule.describe_bounds()} (at {item.location})"
            )
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = len(problems) - _MAX_PROBLEMS
        suffix = f" (+{more} more)" if more > 0 else ""
        if len(selected) == 1:
            return _failed(rule, problems[0], values)
        return _failed(
            rule, f"{len(problems)} of {len(selected)} values failed: {shown}{suffix}", values
        )
    count = (
        f"value {selected[0].number:g} is"
        if len(selected) == 1
        else f"all {len(selected)} values are"
    )
    return Check(
        id=rule.id,
        report=rule.report,
        metric=rule.metric,
        passed=True,
        values=values,
        bounds=rule.bounds,
        reason=f"{count} within {rule.describe_bounds()}",
    )


def _document(kind: str, raw: ReportInput, cache: dict[str, Any]) -> Any:
    """Parse once per kind; raise ReportError with the reason when the report cannot be used."""
    if kind in cache:
        cached = cache[kind]
        if isinstance(cached, ReportError):
            raise cached
        return cached
    try:
        if raw is None:
            raise ReportError(f"no {kind} report was supplied")
        if isinstance(raw, ReportError):
            raise raw
        if isinstance(raw, Mapping):
            document: Any = raw
        else:
            document = parse_report(raw)  # type: ignore[arg-type]
    except ReportError as exc:
        cache[kind] = exc
        raise
    cache[kind] = document
    return document


def infer_model_kind(reports: Mapping[str, ReportInput], cache: dict[str, Any]) -> str | None:
    """binary_classification / regression / ... / llm from the quality evidence, None if unsure.

    None makes every rule apply, so a package whose kind cannot be told is checked against all of
    them (and a missing quality report fails its rules anyway).
    """
    kinds = set()
    for kind in ("model_quality", "llm_evaluation"):
        if reports.get(kind) is None:
            continue
        try:
            found = model_kind(_document(kind, reports.get(kind), cache))
        except ReportError:
            continue
        if kind == "llm_evaluation" and found != "llm":
            continue
        if found is not None:
            kinds.add(found)
    return kinds.pop() if len(kinds) == 1 else None


def evaluate(
    policy: Policy,
    reports: Mapping[str, ReportInput],
    model_package_arn: str,
    *,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
    evaluated_at: str | None = None,
    kind: str | None = None,
) -> Decision:
    """Evaluate every rule of ``policy``: Approved only if there are checks and all passed.

    ``reports`` maps a report kind to its input (see :data:`ReportInput`); kinds not in the mapping
    are absent. ``sources`` is recorded as checks.json's ``reports``
    (``{kind: {"s3_uri", "sha256"}}``); by default it is taken from ``reports.sources`` when
    ``reports`` is what :func:`clearance.registry.fetch_reports` returned. ``kind`` is the model
    kind (see ``MODEL_KINDS``); by default it is inferred from the quality report, and rules whose
    ``applies_to`` excludes it are listed as ``not_applicable`` instead of checked.
    """
    cache: dict[str, Any] = {}
    checks: list[Check] = []
    skipped: list[str] = []
    if sources is None:
        sources = getattr(reports, "sources", None)
    try:
        package_kind = kind if kind is not None else infer_model_kind(reports, cache)
    except Exception:  # noqa: BLE001 - unsure of the kind: every rule applies
        LOG.exception("could not infer the model kind")
        package_kind = None
    for rule in policy.rules:
        if not rule.applies(package_kind):
            skipped.append(rule.id)
            continue
        try:
            if rule.report not in REPORT_KINDS:
                checks.append(_failed(rule, f"unknown report kind {rule.report!r}"))
                continue
            try:
                document = _document(rule.report, reports.get(rule.report), cache)
                selected = select_values(rule.report, document, rule)
            except ReportError as exc:
                checks.append(_failed(rule, f"{rule.report} report: {exc.reason}"))
                continue
            checks.append(_judge(rule, selected))
        except Exception as exc:  # noqa: BLE001 - fail closed on anything we did not foresee
            LOG.exception("rule %s could not be evaluated", rule.id)
            checks.append(
                _failed(rule, f"could not be evaluated ({type(exc).__name__}); failing closed")
            )
    decision = APPROVED if checks and all(check.passed for check in checks) else REJECTED
    return Decision(
        model_package_arn=model_package_arn,
        policy=policy.summary(),
        decision=decision,
        checks=tuple(checks),
        evaluated_at=evaluated_at or _utc_now(),
        reports={k: dict(v) for k, v in (sources or {}).items()},
        model_kind=package_kind,
        not_applicable=tuple(skipped),
    )


def write_checks(decision: Decision, path: str | Path) -> Path:
    """Write checks.json atomically (temporary file in the same directory, then rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = decision.to_bytes()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _require(cond: bool, problem: str) -> None:
    if not cond:
        raise ChecksError(problem)


def decision_from_json(doc: Any) -> Decision:
    """Validate a checks.json document and rebuild the Decision. Raises :class:`ChecksError`."""
    _require(isinstance(doc, dict), "checks.json: expected an object")
    arn = doc.get("model_package_arn")
    _require(isinstance(arn, str) and bool(arn), "checks.json: model_package_arn missing")
    policy = doc.get("policy")
    _require(
        isinstance(policy, dict) and {"id", "version", "sha256"} <= set(policy),
        "checks.json: policy must carry id, version and sha256",
    )
    verdict = doc.get("decision")
    _require(
        verdict in (APPROVED, REJECTED),
        f"checks.json: decision {verdict!r} is not Approved/Rejected",
    )
    raw_checks = doc.get("checks")
    _require(isinstance(raw_checks, list), "checks.json: checks must be a list")
    checks: list[Check] = []
    for index, item in enumerate(raw_checks):
        _require(isinstance(item, dict), f"checks.json: checks[{index}] is not an object")
        missing = {"id", "report", "metric", "passed", "values", "bounds", "reason"} - set(item)
        _require(not missing, f"checks.json: checks[{index}] lacks {sorted(missing)}")
        _require(
            isinstance(item["passed"], bool),
            f"checks.json: checks[{index}].passed is not a boolean",
        )
        _require(
            isinstance(item["values"], list), f"checks.json: checks[{index}].values is not a list"
        )
        _require(
            isinstance(item["bounds"], dict),
            f"checks.json: checks[{index}].bounds is not an object",
        )
        checks.append(
            Check(
                id=str(item["id"]),
                report=str(item["report"]),
                metric=str(item["metric"]),
                passed=item["passed"],
                values=tuple(item["values"]),
                bounds=dict(item["bounds"]),
                reason=str(item["reason"]),
            )
        )
    # The Update step acts on this file: an Approved verdict that its own checks contradict is
    # tampering or a bug, and must not reach the registry.
    if verdict == APPROVED:
        _require(
            bool(checks) and all(c.passed for c in checks),
            "checks.json: decision is Approved but not every check passed",
        )
    else:
        _require(
            not checks or not all(c.passed for c in checks),
            "checks.json: decision is Rejected but every check passed",
        )
    reports = doc.get("reports") or {}
    _require(isinstance(reports, dict), "checks.json: reports must be an object")
    evaluated_at = doc.get("evaluated_at")
    _require(
        evaluated_at is None or isinstance(evaluated_at, str),
        "checks.json: evaluated_at must be a string",
    )
    kind = doc.get("model_kind")
    _require(kind is None or isinstance(kind, str), "checks.json: model_kind must be a string")
    skipped = doc.get("not_applicable") or []
    _require(
        isinstance(skipped, list) and all(isinstance(x, str) for x in skipped),
        "checks.json: not_applicable must be a list of rule ids",
    )
    return Decision(
        model_package_arn=arn,
        policy=dict(policy),
        decision=verdict,
        checks=tuple(checks),
        evaluated_at=evaluated_at,
        reports=reports,
        model_kind=kind,
        not_applicable=tuple(skipped),
    )


def load_checks(path: str | Path) -> Decision:
    """Read and validate checks.json. Raises :class:`ChecksError` with the reason."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ChecksError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChecksError(f"{path} is not valid JSON: {exc}") from None
    return decision_from_json(doc)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")
