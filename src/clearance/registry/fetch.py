"""Read a package's evidence: ModelMetrics -> report inputs, read from allowed buckets only, digest-
checked.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearance.contract import metadata
from clearance.contract.reports import MAX_REPORT_BYTES, METRIC_SLOTS
from clearance.decide.checks import ReportInput
from clearance.decide.reports import ReportError, parse_report, quality_kind

LOG = logging.getLogger("clearance.registry")

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
