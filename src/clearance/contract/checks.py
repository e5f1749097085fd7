"""checks.json: the one model (:class:`Check`, :class:`Decision`), parser and writer.

checks.json is the contract between the Evaluate step (or ``clearance check``), the Update step and
the evidence tools::

    {"model_package_arn": ..., "policy": {"id", "version", "sha256"},
     "decision": "Approved"|"Rejected"|"PendingManualApproval",
     "checks": [{"id", "report", "metric", "passed", "outcome", "values", "bounds", "reason",
                 and when measured "value", "interval", "n", "group_sizes", "needed_n",
                 "reported"}],
     "verification": {"manifest_sha256", "model_sha256", "rows",
                      "model_read_from"?, "model_version_id"?}, "on_inconclusive": ...,
     "evaluated_at": "...Z", "reports": {kind: {"slot", "s3_uri", "sha256",
        "read_from"?, "version_id"?, "source_version_id"?}},
     "model_kind": ..., "not_applicable": [rule ids]}

Each ``reports`` entry pins the bytes the decision read: ``sha256`` (hex) of those bytes and, when
they came from the governance bucket, ``read_from`` (the copy's s3:// URI), ``version_id`` (the
copy's S3 VersionId) and ``source_version_id`` (the team object's version it was copied from).
The pin keys are optional (older files stay valid) but typed when present.

``verification`` pins the model the same way: ``model_sha256`` (the bytes Verify scored) and, when
Verify read the model from its governance copy, ``model_read_from`` (that copy's s3:// URI) and
``model_version_id`` (its S3 VersionId). The parser accepts a verification without them (older
files); the deploy gate refuses one (:mod:`clearance.deploy.model_copy`): it deploys exactly the
copy recorded here.

It is written canonically (sorted keys, two-space indent, trailing newline) so the sha256 of the
file's bytes equals :attr:`Decision.sha256`, the digest the registry metadata records. The parser
is strict: a document the Update step must not act on (an Approved verdict its own checks
contradict, a missing policy digest, NaN literals) is a :class:`ChecksError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.contract.errors import ClearanceError
from clearance.contract.status import APPROVED, PENDING, REJECTED

__all__ = [
    "APPROVED",
    "OUTCOMES",
    "PENDING",
    "REJECTED",
    "Check",
    "ChecksError",
    "Decision",
    "decision_from_json",
    "load_checks",
    "write_checks",
]


class ChecksError(ClearanceError, ValueError):
    """A checks.json that is unreadable or inconsistent (e.g. Approved with a failed check)."""

    def __init__(self, message: str) -> None:
        field_name, _, problem = message.partition(": ")
        self.field, self.problem, self.fix = field_name, problem or message, ""
        Exception.__init__(self, message)


PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
OUTCOMES: tuple[str, ...] = (PASS, FAIL, INCONCLUSIVE)
# A measured check's fields (PLAN.md "metric with interval"), beside the rule's own.
MEASURED_KEYS: tuple[str, ...] = ("value", "interval", "n", "group_sizes", "needed_n", "reported")


@dataclass(frozen=True)
class Check:
    """The outcome of one rule: pass, fail or inconclusive (``passed`` is outcome == pass)."""

    id: str
    report: str
    metric: str
    passed: bool
    values: tuple[Any, ...]
    bounds: Mapping[str, float | None]
    reason: str
    outcome: str = ""
    # value, interval, n, group_sizes, needed_n, reported: see MEASURED_KEYS.
    measured: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", PASS if self.passed else FAIL)

    @property
    def inconclusive(self) -> bool:
        return self.outcome == INCONCLUSIVE

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "report": self.report,
            "metric": self.metric,
            "passed": self.passed,
            "outcome": self.outcome,
            "values": list(self.values),
            "bounds": dict(self.bounds),
            "reason": self.reason,
        }
        out.update({key: self.measured[key] for key in MEASURED_KEYS if key in self.measured})
        return out


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
    # What was recomputed (bundle and model digests, rows): present when the package was verified.
    verification: Mapping[str, Any] | None = None
    on_inconclusive: str | None = None
    # The Evaluate step's decision on the reported values alone, when the Verify step decided.
    reported_decision: Mapping[str, Any] | None = None

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED

    @property
    def pending(self) -> bool:
        return self.decision == PENDING

    @property
    def failed_checks(self) -> list[Check]:
        """Every check that did not pass (failed or inconclusive)."""
        return [check for check in self.checks if not check.passed]

    @property
    def inconclusive_checks(self) -> list[Check]:
        return [check for check in self.checks if check.inconclusive]

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
        if self.verification is not None:
            out["verification"] = dict(self.verification)
        if self.on_inconclusive is not None:
            out["on_inconclusive"] = self.on_inconclusive
        if self.reported_decision is not None:
            out["reported_decision"] = dict(self.reported_decision)
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
        verdict in (APPROVED, REJECTED, PENDING),
        f"checks.json: decision {verdict!r} is not Approved/Rejected/{PENDING}",
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
        outcome = item.get("outcome", PASS if item["passed"] else FAIL)
        _require(
            outcome in OUTCOMES and item["passed"] == (outcome == PASS),
            f"checks.json: checks[{index}].outcome {outcome!r} contradicts passed",
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
                outcome=outcome,
                measured={key: item[key] for key in MEASURED_KEYS if key in item},
            )
        )
    # The Update step acts on this file: an Approved verdict that its own checks contradict is
    # tampering or a bug, and must not reach the registry.
    if verdict == APPROVED:
        _require(
            bool(checks) and all(c.passed for c in checks),
            "checks.json: decision is Approved but not every check passed",
        )
    elif verdict == PENDING:
        # Left for a human only when nothing failed and something could not be decided.
        _require(
            any(c.inconclusive for c in checks) and all(c.outcome != FAIL for c in checks),
            f"checks.json: decision is {PENDING} but a check failed or none is inconclusive",
        )
    else:
        _require(
            not checks or not all(c.passed for c in checks),
            "checks.json: decision is Rejected but every check passed",
        )
    reports = doc.get("reports") or {}
    _require(isinstance(reports, dict), "checks.json: reports must be an object")
    for kind, pin in reports.items():
        _check_pin(kind, pin)
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
    verification = doc.get("verification")
    _require(
        verification is None or isinstance(verification, dict),
        "checks.json: verification must be an object",
    )
    if verification is not None:
        _check_model_pin(verification)
    on_inconclusive = doc.get("on_inconclusive")
    _require(
        on_inconclusive in (None, "reject", "pending"),
        "checks.json: on_inconclusive must be reject or pending",
    )
    reported_decision = doc.get("reported_decision")
    _require(
        reported_decision is None or isinstance(reported_decision, dict),
        "checks.json: reported_decision must be an object",
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
        verification=verification,
        on_inconclusive=on_inconclusive,
        reported_decision=reported_decision,
    )


_HEX64 = frozenset("0123456789abcdef")
PIN_KEYS = ("read_from", "version_id", "source_version_id")


def _check_pin(kind: str, pin: Any) -> None:
    """A ``reports`` entry: an object; sha256 is 64 lowercase hex; pin keys are short strings."""
    _require(isinstance(pin, dict), f"checks.json: reports.{kind} must be an object")
    digest = pin.get("sha256")
    _require(
        digest is None or (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX64),
        f"checks.json: reports.{kind}.sha256 must be 64 lowercase hex digits",
    )
    for key in PIN_KEYS:
        value = pin.get(key)
        _require(
            value is None or (isinstance(value, str) and 0 < len(value) <= 2048),
            f"checks.json: reports.{kind}.{key} must be a non-empty string",
        )
    _require(
        pin.get("read_from") is None or str(pin["read_from"]).startswith("s3://"),
        f"checks.json: reports.{kind}.read_from must be an s3:// URI",
    )


MODEL_PIN_KEYS = ("model_read_from", "model_version_id")


def _check_model_pin(verification: Mapping[str, Any]) -> None:
    """``verification``'s model pin: sha256 is 64 lowercase hex; the copy's URI and version are
    short strings (an s3:// URI), both or neither."""
    digest = verification.get("model_sha256")
    _require(
        digest is None or (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX64),
        "checks.json: verification.model_sha256 must be 64 lowercase hex digits",
    )
    for key in MODEL_PIN_KEYS:
        value = verification.get(key)
        _require(
            value is None or (isinstance(value, str) and 0 < len(value) <= 2048),
            f"checks.json: verification.{key} must be a non-empty string",
        )
    where = verification.get("model_read_from")
    _require(
        where is None or where.startswith("s3://"),
        "checks.json: verification.model_read_from must be an s3:// URI",
    )
    _require(
        (where is None) == (verification.get("model_version_id") is None),
        "checks.json: verification.model_read_from and model_version_id go together",
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
