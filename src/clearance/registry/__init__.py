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
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clearance.contract import metadata
from clearance.contract.checks import ChecksError, Decision
from clearance.contract.reports import MAX_REPORT_BYTES, METRIC_SLOTS
from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.decide.checks import ReportInput
from clearance.decide.reports import ReportError, parse_report, quality_kind

__all__ = [
    "PENDING",
    "SLOTS",
    "FetchedReports",
    "UpdateResult",
    "apply_decision",
    "approval_description",
    "decision_metadata",
    "fetch_reports",
    "parse_s3_uri",
    "quality_inputs",
]

LOG = logging.getLogger(__name__)

SLOTS = METRIC_SLOTS  # the one table: clearance.contract.reports.METRIC_SLOTS
# botocore: ContentDigest {"max": 72, "pattern": "[Ss][Hh][Aa]256:[0-9a-fA-F]{64}"}.
DIGEST_PATTERN = re.compile(r"^[Ss][Hh][Aa]256:([0-9a-fA-F]{64})$")
# S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens.
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# botocore: ApprovalDescription max 1024. Metadata limits: clearance.contract.metadata.
MAX_DESCRIPTION = 1024
MAX_METADATA_VALUE = metadata.MAX_VALUE
MAX_METADATA_ENTRIES = metadata.MAX_ENTRIES


@dataclass(frozen=True)
class Source:
    """Where a report came from (checks.json's ``reports`` entry)."""

    slot: str
    s3_uri: str
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "s3_uri": self.s3_uri, "sha256": self.sha256}


class FetchedReports(dict[str, ReportInput]):
    """Report inputs by kind, a plain mapping for :func:`clearance.decide.checks.evaluate`.

    Also carries where each report came from (``sources``) and the described package.
    """

    def __init__(
        self,
        reports: Mapping[str, ReportInput],
        sources: Mapping[str, Mapping[str, Any]],
        package: Mapping[str, Any],
    ) -> None:
        super().__init__(reports)
        self.sources: dict[str, dict[str, Any]] = {k: dict(v) for k, v in sources.items()}
        self.package: dict[str, Any] = dict(package)

    @property
    def reports(self) -> dict[str, ReportInput]:
        return dict(self)

    @property
    def model_package_group(self) -> str | None:
        return self.package.get("ModelPackageGroupName")

    @property
    def approval_status(self) -> str | None:
        return self.package.get("ModelApprovalStatus")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key). Raises ReportError for anything else."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ReportError(f"{str(uri)[:100]!r} is not an s3:// URI (only S3 reports are read)")
    bucket, _, key = uri[5:].partition("/")
    if not BUCKET_PATTERN.match(bucket) or ".." in bucket:
        raise ReportError(f"{uri[:100]!r} does not name a valid S3 bucket")
    if not key:
        raise ReportError(f"{uri[:100]!r} names no object key")
    return bucket, key


def bucket_allowed(bucket: str, allowed: Iterable[str]) -> bool:
    """Exact bucket names; an entry ending in ``*`` allows that name prefix (``sagemaker-*``)."""
    for entry in allowed:
        entry = entry.strip()
        if not entry:
            continue
        if entry.endswith("*"):
            prefix = entry[:-1]
            if prefix and bucket.startswith(prefix):
                return True
        elif bucket == entry:
            return True
    return False


def _is_empty(source: Any) -> bool:
    """The SDK writes ``{}`` (or leaves out the key) for metrics it was not given."""
    return source is None or (isinstance(source, dict) and not source)


def _read(s3: Any, source: Mapping[str, Any], allowed: list[str], slot: str) -> tuple[bytes, str]:
    """Fetch one MetricsSource's bytes; raise ReportError with the reason."""
    uri = source.get("S3Uri")
    if not uri:
        raise ReportError(f"{slot} has no S3Uri")
    bucket, key = parse_s3_uri(uri)
    if not bucket_allowed(bucket, allowed):
        raise ReportError(
            f"{slot} is in bucket {bucket!r}, which is not on the allow-list "
            f"({', '.join(allowed) or 'empty'})"
        )
    digest = source.get("ContentDigest")
    expected: str | None = None
    if digest not in (None, ""):
        match = DIGEST_PATTERN.match(str(digest))
        if not match:
            raise ReportError(
                f"{slot} ContentDigest {str(digest)[:80]!r} is not 'sha256:<64 hex digits>' "
                "(the API's documented form), so the report cannot be verified"
            )
        expected = match.group(1).lower()
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a failed check, not a crash
        raise ReportError(f"cannot read {uri}: {_aws_reason(exc)}") from None
    length = response.get("ContentLength")
    if isinstance(length, int) and length > MAX_REPORT_BYTES:
        raise ReportError(f"{uri} is {length} bytes, over the {MAX_REPORT_BYTES}-byte limit")
    try:
        data = response["Body"].read(MAX_REPORT_BYTES + 1)
    except Exception as exc:  # noqa: BLE001
        raise ReportError(f"cannot read {uri}: {_aws_reason(exc)}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"{uri} is over the {MAX_REPORT_BYTES}-byte limit")
    actual = hashlib.sha256(data).hexdigest()
    if expected is not None and actual != expected:
        raise ReportError(
            f"{uri} does not match its ContentDigest (registered sha256:{expected[:12]}..., "
            f"object sha256:{actual[:12]}...): the report changed after registration"
        )
    return data, actual


def _aws_reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code") or type(exc).__name__
        message = error.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def quality_inputs(data: bytes, slot: str = "ModelQuality.Statistics") -> dict[str, ReportInput]:
    """The two kinds one quality document can be, told apart by its top-level key.

    Model Monitor statistics -> ``model_quality``; an ``llm_evaluation`` document ->
    ``llm_evaluation``; the other kind gets a ReportError saying what the slot holds.
    """
    try:
        holds = quality_kind(parse_report(data))
    except ReportError as exc:
        return {"model_quality": exc, "llm_evaluation": exc}
    other = "llm_evaluation" if holds == "model_quality" else "model_quality"
    what = "an LLM evaluation" if holds == "llm_evaluation" else "Model Monitor statistics"
    return {holds: data, other: ReportError(f"{slot} holds {what}, not a {other} report")}


def fetch_reports(
    sm: Any,
    s3: Any,
    model_package_arn: str,
    allowed_buckets: Iterable[str],
    *,
    described: Mapping[str, Any] | None = None,
) -> FetchedReports:
    """Every report kind's input for ``model_package_arn``.

    ``describe_model_package`` errors propagate (nothing can be decided about a package that cannot
    be described); everything about the reports themselves (absent slot, bucket outside
    ``allowed_buckets``, unreadable object, digest mismatch) becomes a ReportError for that kind.
    Pass ``described`` to reuse a describe_model_package response.
    """
    allowed = [b for b in allowed_buckets if b and b.strip()]
    package = (
        dict(described)
        if described is not None
        else sm.describe_model_package(ModelPackageName=model_package_arn)
    )
    metrics = package.get("ModelMetrics")
    if not isinstance(metrics, dict):
        metrics = {}
    reports: dict[str, ReportInput] = {}
    sources: dict[str, dict[str, Any]] = {}
    fetched: dict[str, tuple[bytes, str] | ReportError] = {}  # per slot, read once

    for kind, slots in SLOTS.items():
        chosen: tuple[str, Mapping[str, Any]] | None = None
        for section, name in slots:
            holder = metrics.get(section)
            source = holder.get(name) if isinstance(holder, dict) else None
            if _is_empty(source):
                continue
            slot = f"{section}.{name}"
            if not isinstance(source, dict):
                chosen = (slot, {})
            else:
                chosen = (slot, source)
            break
        if chosen is None:
            names = " or ".join(f"{s}.{n}" for s, n in slots)
            reports[kind] = ReportError(f"ModelMetrics has no {names}")
            continue
        slot, source = chosen
        if slot not in fetched:
            try:
                fetched[slot] = _read(s3, source, allowed, slot)
            except ReportError as exc:
                fetched[slot] = exc
        result = fetched[slot]
        if isinstance(result, ReportError):
            reports[kind] = result
            continue
        data, digest = result
        sources[kind] = Source(slot, str(source.get("S3Uri")), digest).to_json()
        if slot == "ModelQuality.Statistics":
            # One slot, two kinds: the document's top-level key says which one it is.
            value = quality_inputs(data, slot)[kind]
            reports[kind] = value
            if not isinstance(value, bytes):
                del sources[kind]
            continue
        reports[kind] = data
    LOG.info(
        "fetched reports for %s: %s",
        model_package_arn,
        {
            k: ("ok" if isinstance(v, bytes) else getattr(v, "reason", v))
            for k, v in reports.items()
        },
    )
    return FetchedReports(reports, sources, package)


# -------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class UpdateResult:
    """What :func:`apply_decision` did."""

    model_package_arn: str
    updated: bool
    status_before: str | None
    status_after: str | None
    message: str
    approval_description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "model_package_arn": self.model_package_arn,
            "updated": self.updated,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "message": self.message,
            "approval_description": self.approval_description,
            "metadata": dict(self.metadata),
        }


def _metadata_value(value: Any) -> str:
    """Fit the API's value pattern and length: unknown characters become '-'."""
    return metadata.sanitise(value)


def _failed_list(ids: list[str], limit: int = MAX_METADATA_VALUE) -> str:
    """Space-separated failed check ids within ``limit``, ending in ``+N`` when some are cut."""
    if not ids:
        return "none"
    full = " ".join(ids)
    if len(full) <= limit:
        return full
    out: list[str] = []
    for index, rid in enumerate(ids):
        left = len(ids) - index - 1
        candidate = " ".join([*out, rid])
        if len(candidate) + len(f" +{left}") > limit:
            break
        out.append(rid)
    return " ".join([*out, f"+{len(ids) - len(out)}"])


def decision_metadata(decision: Decision, decided_at: str) -> dict[str, str]:
    """The ``clearance:*`` CustomerMetadataProperties (a contract with the evidence tools)."""
    policy = decision.policy
    failed = [check.id for check in decision.failed_checks]
    return {
        metadata.DECISION: decision.decision,
        metadata.POLICY_ID: _metadata_value(policy.get("id")),
        metadata.POLICY_VERSION: _metadata_value(policy.get("version")),
        metadata.POLICY_SHA256: _metadata_value(policy.get("sha256")),
        metadata.CHECKS_SHA256: decision.sha256,
        metadata.DECIDED_AT: decided_at,
        metadata.FAILED_CHECKS: _failed_list(failed),
    }


def approval_description(decision: Decision, limit: int = MAX_DESCRIPTION) -> str:
    """Human summary within the API's 1024 characters; failed check ids come first so they survive
    truncation, then their reasons."""
    policy = decision.policy
    total = len(decision.checks)
    head = f"{decision.decision} by Clearance policy {policy.get('id')} v{policy.get('version')}"
    failed = decision.failed_checks
    if not failed:
        text = f"{head}: all {total} checks passed."
    else:
        ids = ", ".join(check.id for check in failed)
        reasons = "; ".join(f"{check.id}: {check.reason}" for check in failed)
        text = f"{head}: {len(failed)} of {total} checks failed: {ids}. {reasons}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _validate(decision: Decision) -> None:
    if decision.decision not in (APPROVED, REJECTED):
        raise ChecksError(f"decision {decision.decision!r} is not Approved or Rejected")
    if decision.decision == APPROVED and (
        not decision.checks or any(not c.passed for c in decision.checks)
    ):
        raise ChecksError("decision is Approved but not every check passed")


def apply_decision(
    sm: Any,
    decision: Decision,
    *,
    decided_at: str | None = None,
) -> UpdateResult:
    """Record ``decision`` on its model package with one ``update_model_package`` call.

    Only a package still PendingManualApproval is changed; otherwise nothing is written and the
    result says why (re-running the Update step is safe). A Rejected decision is a normal outcome.
    Between the describe and the update someone could decide by hand; the API offers no
    conditional update, so that window (milliseconds) is accepted and documented.
    Raises :class:`~clearance.decide.checks.ChecksError` for a self-contradicting decision and lets
    AWS errors propagate (the step fails and can be retried).
    """
    _validate(decision)
    arn = decision.model_package_arn
    described = sm.describe_model_package(ModelPackageName=arn)
    status = described.get("ModelApprovalStatus")
    if status != PENDING:
        message = (
            f"{arn} is {status or 'without an approval status'}, not {PENDING}: nothing changed "
            f"(this evaluation said {decision.decision})"
        )
        LOG.info(message)
        return UpdateResult(arn, False, status, status, message)

    when = decided_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ours = decision_metadata(decision, when)
    existing = described.get("CustomerMetadataProperties") or {}
    # Real AWS merges CustomerMetadataProperties into the existing map; moto replaces it. Sending
    # the existing entries too gives the same result on both (and keeps the team:* keys).
    merged = {**existing, **ours}
    metadata = merged if len(merged) <= MAX_METADATA_ENTRIES else ours
    description = approval_description(decision)
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=decision.decision,
        ApprovalDescription=description,
        CustomerMetadataProperties=metadata,
    )
    message = f"{arn}: {status} -> {decision.decision}"
    LOG.info("%s (%s)", message, ours["clearance:failed-checks"])
    return UpdateResult(arn, True, status, decision.decision, message, description, ours)
