"""The model registry side: read a package's reports, record a decision.

:func:`fetch_reports` turns ``describe_model_package`` -> ``ModelMetrics`` into the report inputs
:func:`clearance.decide.checks.evaluate` takes, reading each report from S3 only when its bucket is
on the allow-list and verifying ``ContentDigest`` when the package declares one. Every problem
becomes a
:class:`~clearance.decide.reports.ReportError` for the rules on that report, never an exception.

:func:`apply_decision` records a :class:`~clearance.decide.checks.Decision` with exactly one
``update_model_package`` call (status, description naming the failed checks, and the
``clearance:*`` metadata) and does nothing to a package that is no longer PendingManualApproval.

Both take boto3 clients as arguments (no client is created here), so tests inject moto or fakes and
the CLI, the approval steps and the Lambda share one implementation. boto3 only: no SageMaker SDK.

Modules: :mod:`.fetch` (read a package's evidence) and :mod:`.apply` (record a decision); the
public names are re-exported here.
"""

from __future__ import annotations

from clearance.contract.status import PENDING
from clearance.decide.reports import ReportError
from clearance.registry.apply import (
    MAX_DESCRIPTION,
    UpdateResult,
    apply_decision,
    approval_description,
    decision_metadata,
)
from clearance.registry.bundle_fetch import fetch_bundle, fetch_bundle_pinned
from clearance.registry.champion import champion_values
from clearance.registry.fetch import (
    SLOTS,
    EvidenceStore,
    FetchedReports,
    fetch_reports,
    parse_s3_uri,
    quality_inputs,
)

__all__ = [
    "MAX_DESCRIPTION",
    "PENDING",
    "SLOTS",
    "EvidenceStore",
    "FetchedReports",
    "ReportError",
    "UpdateResult",
    "apply_decision",
    "approval_description",
    "champion_values",
    "decision_metadata",
    "fetch_bundle",
    "fetch_bundle_pinned",
    "fetch_reports",
    "parse_s3_uri",
    "quality_inputs",
]
