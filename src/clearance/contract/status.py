"""Model package approval statuses (SageMaker's ModelApprovalStatus values Clearance uses)."""

from __future__ import annotations

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
# What a decision can be (checks.json ``decision``, ``clearance:decision``).
DECISIONS: tuple[str, ...] = (APPROVED, REJECTED)
