"""Read a package's evidence: ModelMetrics -> report inputs, read from allowed buckets only, digest-
checked.

Where a report may come from: for a central-registry group (``<team account>-<project>-<project
id>``, :mod:`clearance.contract.names`) only that project's own artifact bucket
(``sagemaker-<project id>-<team account>-artifacts``), whatever the allow-list says: team A cannot
point its package at team B's passing reports, nor at any other ``sagemaker-*`` bucket. Other group
names (stand-alone installs, tests) fall back to the configured allow-list.

Which bytes are read: with an :class:`EvidenceStore` (the governance bucket the copy-artifacts
Lambda fills), the decision reads the governance account's copy of the registered object (the
copy whose sha256 equals the package's ContentDigest, which is then required), never the team's
mutable object. Each report's pin goes into checks.json's ``reports`` entry: ``sha256``,
``read_from`` (the governance copy's URI), ``version_id`` (the copy's S3 VersionId) and
``source_version_id`` (the team object's version it was copied from).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearance.contract import metadata, names
from clearance.contract.errors import aws_reason
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
# How many copied versions of one report are examined for the registered digest (newest first).
MAX_COPIES = 50


@dataclass(frozen=True)
class EvidenceStore:
    """The governance bucket holding copies of the team's reports (copy-artifacts' destination)."""

    bucket: str
    prefix: str = names.ARTIFACT_PREFIX


@dataclass(frozen=True)
class Allowed:
    """Where a package's reports may come from: a bucket list, or one project's bucket + prefix."""

    buckets: tuple[str, ...]
    project: names.ProjectKey | None = None

    def check(self, bucket: str, key: str, slot: str) -> None:
        if self.project is not None:
            own, prefix = names.report_location(self.project)
            if bucket != own or not key.startswith(prefix):
                raise ReportError(
                    f"{slot} is in s3://{bucket}/, not in the project's own bucket s3://{own}/"
                    f"{prefix} (group {self.project.group}): reports of another bucket, team or "
                    "project are refused"
                )
            return
        if not bucket_allowed(bucket, self.buckets):
            raise ReportError(
                f"{slot} is in bucket {bucket!r}, which is not on the allow-list "
                f"({', '.join(self.buckets) or 'empty'})"
            )


@dataclass(frozen=True)
class Source:
    """Where a report came from (checks.json's ``reports`` entry)."""

    slot: str
    s3_uri: str
    sha256: str | None = None
    pin: Mapping[str, Any] | None = None  # read_from, version_id, source_version_id

    def to_json(self) -> dict[str, Any]:
        out = {"slot": self.slot, "s3_uri": self.s3_uri, "sha256": self.sha256}
        out.update({k: v for k, v in (self.pin or {}).items() if v is not None})
        return out


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


def expected_digest(source: Mapping[str, Any], slot: str) -> str | None:
    """A MetricsSource's ContentDigest as lowercase hex; None without one, ReportError if bad."""
    digest = source.get("ContentDigest")
    if digest in (None, ""):
        return None
    match = DIGEST_PATTERN.match(str(digest))
    if not match:
        raise ReportError(
            f"{slot} ContentDigest {str(digest)[:80]!r} is not 'sha256:<64 hex digits>' "
            "(the API's documented form), so the report cannot be verified"
        )
    return match.group(1).lower()


def _get(s3: Any, uri: str, **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    try:
        response = s3.get_object(**kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a failed check, not a crash
        raise ReportError(f"cannot read {uri}: {aws_reason(exc)}") from None
    length = response.get("ContentLength")
    if isinstance(length, int) and length > MAX_REPORT_BYTES:
        raise ReportError(f"{uri} is {length} bytes, over the {MAX_REPORT_BYTES}-byte limit")
    try:
        data = response["Body"].read(MAX_REPORT_BYTES + 1)
    except Exception as exc:  # noqa: BLE001
        raise ReportError(f"cannot read {uri}: {aws_reason(exc)}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"{uri} is over the {MAX_REPORT_BYTES}-byte limit")
    return data, response


def read_copy(
    s3: Any, store: EvidenceStore, bucket: str, key: str, expected: str, uri: str
) -> tuple[bytes, dict[str, Any]]:
    """The governance copy of s3://bucket/key whose sha256 is ``expected``, and its pin
    (``read_from``, ``version_id``, ``source_version_id``); ReportError if none matches or it
    cannot be read. The approval's reads and the endpoint check's baseline use this one search."""
    prefix = names.copies_prefix(bucket, key, store.prefix)
    try:
        listed = s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix, MaxKeys=1000)
    except Exception as exc:  # noqa: BLE001
        reason = aws_reason(exc)
        raise ReportError(f"cannot list the governance copies of {uri}: {reason}") from None
    copies = [
        o for o in listed.get("Contents", []) if "/" not in o["Key"][len(prefix) :] and o["Key"]
    ]
    copies.sort(key=lambda o: str(o.get("LastModified", "")), reverse=True)
    for obj in copies[:MAX_COPIES]:
        copy_uri = f"s3://{store.bucket}/{obj['Key']}"
        data, response = _get(s3, copy_uri, Bucket=store.bucket, Key=obj["Key"])
        if hashlib.sha256(data).hexdigest() == expected:
            version = obj["Key"][len(prefix) :]
            return data, {
                "read_from": copy_uri,
                "version_id": response.get("VersionId"),
                "source_version_id": None if version == names.NULL_VERSION else version,
            }
    raise ReportError(
        f"no governance copy of {uri} has its ContentDigest sha256:{expected[:12]}... "
        f"({len(copies)} cop{'y' if len(copies) == 1 else 'ies'} under s3://{store.bucket}/"
        f"{prefix}): the copy-artifacts Lambda has not copied it, or the report changed"
    )


def _read(
    s3: Any,
    source: Mapping[str, Any],
    allowed: Allowed,
    slot: str,
    store: EvidenceStore | None = None,
) -> tuple[bytes, str, dict[str, Any]]:
    """Fetch one MetricsSource's bytes; raise ReportError with the reason."""
    uri = source.get("S3Uri")
    if not uri:
        raise ReportError(f"{slot} has no S3Uri")
    bucket, key = parse_s3_uri(uri)
    allowed.check(bucket, key, slot)
    expected = expected_digest(source, slot)
    if store is not None:
        if expected is None:
            raise ReportError(
                f"{slot} has no ContentDigest, so no governance copy can be pinned to it "
                "(the team pipeline sets sha256:<hex> on every report it registers)"
            )
        data, pin = read_copy(s3, store, bucket, key, expected, uri)
        return data, expected, pin
    owner = names.bucket_owner(bucket)  # a squatted team-bucket name is refused by S3
    extra = {"ExpectedBucketOwner": owner} if owner else {}
    data, response = _get(s3, uri, Bucket=bucket, Key=key, **extra)
    actual = hashlib.sha256(data).hexdigest()
    if expected is not None and actual != expected:
        raise ReportError(
            f"{uri} does not match its ContentDigest (registered sha256:{expected[:12]}..., "
            f"object sha256:{actual[:12]}...): the report changed after registration"
        )
    return data, actual, {"version_id": response.get("VersionId")}


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
    evidence: EvidenceStore | None = None,
) -> FetchedReports:
    """Every report kind's input for ``model_package_arn``.

    ``describe_model_package`` errors propagate (nothing can be decided about a package that cannot
    be described); everything about the reports themselves (absent slot, bucket outside
    ``allowed_buckets``, unreadable object, digest mismatch) becomes a ReportError for that kind.
    Pass ``described`` to reuse a describe_model_package response; ``evidence`` to read the
    governance copies (see the module docstring).
    """
    buckets = tuple(b.strip() for b in allowed_buckets if b and b.strip())
    package = (
        dict(described)
        if described is not None
        else sm.describe_model_package(ModelPackageName=model_package_arn)
    )
    project = names.parse_group_name(str(package.get("ModelPackageGroupName") or ""))
    allowed = Allowed(buckets, project)
    metrics = package.get("ModelMetrics")
    if not isinstance(metrics, dict):
        metrics = {}
    reports: dict[str, ReportInput] = {}
    sources: dict[str, dict[str, Any]] = {}
    fetched: dict[str, tuple[bytes, str, dict[str, Any]] | ReportError] = {}  # per slot

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
            wanted = " or ".join(f"{s}.{n}" for s, n in slots)
            reports[kind] = ReportError(f"ModelMetrics has no {wanted}")
            continue
        slot, source = chosen
        if slot not in fetched:
            try:
                fetched[slot] = _read(s3, source, allowed, slot, evidence)
            except ReportError as exc:
                fetched[slot] = exc
        result = fetched[slot]
        if isinstance(result, ReportError):
            reports[kind] = result
            continue
        data, digest, pin = result
        sources[kind] = Source(slot, str(source.get("S3Uri")), digest, pin).to_json()
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
