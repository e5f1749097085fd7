"""What every evidence module shares: the one-line EvidenceError and where reports sit locally."""

from __future__ import annotations

from clearance.contract.errors import ClearanceError
from clearance.contract.reports import MAX_REPORT_BYTES, REPORT_FILES, REPORT_KINDS
from clearance.contract.status import DECISIONS

__all__ = [
    "DECISIONS",
    "MAX_REPORT_BYTES",
    "REGENERATE_FIX",
    "REPORT_DIR_CANDIDATES",
    "REPORT_KINDS",
    "EvidenceError",
]

REGENERATE_FIX = "regenerate it with `clearance check` or the approval pipeline's Evaluate step"

# Where each kind sits in a local report directory: the baked repo's `make local` layout first, then
# flat `<kind>.json` files (what `clearance report --reports-dir` users are most likely to hand
# over).
REPORT_DIR_CANDIDATES: dict[str, tuple[str, ...]] = {
    kind: (REPORT_FILES[kind], f"{kind}.json") for kind in REPORT_KINDS
}


class EvidenceError(ClearanceError, ValueError):
    """A problem the user must fix, rendered as one line: `<field>: <problem>. <fix>`."""

    def __init__(self, field_name: str, problem: str, fix: str) -> None:
        super().__init__(field_name, problem, fix)
