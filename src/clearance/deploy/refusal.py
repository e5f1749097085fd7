"""The deploy gate's refusals: one code, one ``ERROR: <field>: <problem>. <fix>`` line.

Shared by :mod:`clearance.deploy.gate` (the package, its record and checks.json) and
:mod:`clearance.deploy.model_copy` (the model artifact the decision verified). The table of codes,
in the order the gate checks them, is in the gate's docstring and docs/deploy.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REFUSAL_CODES = (
    "package-arn",
    "package-unreadable",
    "wrong-group",
    "not-approved",
    "approver-unknown",
    "approver-not-governance",
    "record-missing",
    "record-not-approved",
    "checks-elsewhere",
    "checks-missing",
    "checks-unversioned",
    "checks-overwritten",
    "checks-digest",
    "checks-other-package",
    "checks-not-approved",
    "policy-mismatch",
    "policy-not-accepted",
    "model-unverified",
    "model-elsewhere",
    "model-missing",
    "model-overwritten",
    "model-digest",
)


@dataclass(frozen=True)
class Refusal:
    """Why the deploy is refused: one code and one ``ERROR:`` line."""

    code: str
    field: str
    problem: str
    fix: str
    aws_error: bool = False  # the refusal comes from an AWS error (exit code 3, not 1)

    def line(self) -> str:
        return f"ERROR: {self.field}: {self.problem}. {self.fix}"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "problem": self.problem, "fix": self.fix}


class Refused(Exception):
    """Raised inside the gate's checks; :func:`clearance.deploy.gate.check_package` catches it."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.line())
        self.refusal = refusal


def refuse(code: str, field_: str, problem: str, fix: str, aws_error: bool = False) -> Refused:
    if code not in REFUSAL_CODES:  # a typo here would otherwise invent an undocumented code
        raise ValueError(f"unknown refusal code {code}")
    return Refused(Refusal(code, field_, problem, fix, aws_error))


def aws_problem(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = error.get("Code") or type(exc).__name__
    message = str(error.get("Message") or exc)[:200]
    return f"{code}: {message}"
