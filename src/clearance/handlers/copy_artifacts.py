"""copy-artifacts Lambda: a PUT in a team's artifact bucket -> a verified copy in the governance
bucket, so the evidence a decision rests on outlives whatever the team later does to its bucket.

For every ``ObjectCreated:*`` record of an S3 event notification:

- the key is URL-decoded (S3 notifications encode it, a space arrives as ``+``);
- the destination is keyed by the source VERSION (:func:`clearance.contract.names.copy_key`):
  ``<ARTIFACT_PREFIX>/<source bucket>/<source key>/<version id>`` (``null`` for an unversioned
  bucket), so every PUT of a versioned team bucket has its own copy and no event, however late,
  overwrites the copy of another version; the governance bucket is versioned and Object-Locked, so
  no copy is ever overwritten either;
- for the one destination that several PUTs share (an unversioned source, version ``null``) the
  S3 event ``sequencer`` decides: an event older than the copy already there is skipped (and
  counted), never copied over the newer one;
- the copy is made from exactly the version the event announced (``CopySourceIfMatch`` on its
  ETag; a newer PUT has its own event), encrypted (SSE-KMS with ``KMS_KEY_ID``, else SSE-S3), with
  an S3-computed SHA-256 checksum, and the source's identity in its metadata;
- the copy's SHA-256 is compared with the source's (S3's full-object checksum when the source has
  one, otherwise computed by streaming the source); a mismatch fails the invocation (retried), and
  a mismatched copy is never mistaken for a good one;
- a destination that already holds a verified copy of the same ETag is left alone (idempotent);
- every malformed record, ignored event and skipped object is logged (one JSON line) and counted
  (CloudWatch EMF via aws-lambda-powertools, namespace ``Clearance``, dimension
  ``service=copy-artifacts``: ``MalformedEvents``, ``IgnoredEvents``, ``SkippedObjects``,
  the metrics the governance product's alarms watch).

Environment: ``GOVERNANCE_BUCKET`` (required), ``KMS_KEY_ID`` (optional), ``ARTIFACT_PREFIX``
(default ``artifacts``), ``LOG_LEVEL``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from clearance.contract import names
from clearance.contract.errors import ClearanceError
from clearance.handlers import (
    IGNORED,
    MALFORMED,
    SKIPPED,
    MetricSink,
    cached_client,
    configure_logging,
    count,
    handler_metrics,
    log,
)
from clearance.handlers.s3_records import Record, is_sequencer, parse_record, sequencer_order

if TYPE_CHECKING:
    from clearance.handlers import LambdaContext

__all__ = [
    "CopyError",
    "CopyResult",
    "copy_artifact",
    "copy_records",
    "destination_key",
    "lambda_handler",
]

LOG = logging.getLogger(__name__)

MAX_COPY_BYTES = 5 * 1024**3  # CopyObject's single-request limit
MAX_KEY_BYTES = 1024
CHUNK = 8 * 1024 * 1024
META_BUCKET = "source-bucket"
META_KEY = "source-key"
META_ETAG = "source-etag"
META_VERSION = "source-version-id"
META_SHA256 = "source-sha256"
META_SEQUENCER = "source-sequencer"
SERVICE = "copy-artifacts"


class CopyError(ClearanceError, RuntimeError):
    """A copy that failed in a way a retry may fix (AWS error, checksum mismatch)."""

    def __init__(self, message: str) -> None:
        self.field, self.problem, self.fix = "copy", message, ""
        Exception.__init__(self, message)


@dataclass(frozen=True)
class CopyResult:
    """``copied``, ``already-copied``, ``skipped`` (not for us / stale) or ``malformed``."""

    action: str
    reason: str
    source: str | None = None
    destination: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def destination_key(prefix: str, bucket: str, key: str, version_id: str | None = None) -> str:
    """``<prefix>/<bucket>/<key>/<version id or null>``: one place per source version."""
    return names.copy_key(bucket, key, version_id, prefix)


def _quoted(etag: str) -> str:
    """HTTP entity tags are quoted; notifications carry the ETag without quotes (moto compares the
    quoted form literally, S3 accepts it)."""
    return f'"{etag}"'


def _b64_sha256(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def _source_sha256(s3: Any, record: Record) -> str:
    """Base64 SHA-256 of the announced source version (S3's own when it is a full-object one)."""
    extra: dict[str, Any] = {}
    owner = names.bucket_owner(record.bucket)
    if owner:
        extra["ExpectedBucketOwner"] = owner
    if record.version_id:
        extra["VersionId"] = record.version_id
    if record.etag:
        extra["IfMatch"] = _quoted(record.etag)
    head = s3.head_object(Bucket=record.bucket, Key=record.key, ChecksumMode="ENABLED", **extra)
    stored = head.get("ChecksumSHA256")
    # A multipart upload's checksum is a checksum of part checksums ("...-3") unless the upload used
    # full-object checksums; only a full-object one equals the copy's.
    if stored and "-" not in stored and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        return str(stored)
    body = s3.get_object(Bucket=record.bucket, Key=record.key, **extra)["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(CHUNK), b""):
        digest.update(chunk)
    return _b64_sha256(digest.digest())


def _ascii(value: str) -> str:
    """User metadata travels in HTTP headers: percent-encode anything outside printable ASCII."""
    return quote(value, safe="/ !$&'()*+,-.:;=@_~")


def copy_artifact(
    s3: Any,
    record: Record,
    governance_bucket: str,
    *,
    kms_key_id: str | None = None,
    prefix: str = "artifacts",
    team_buckets_only: bool = False,
) -> CopyResult:
    """Copy one announced object (the pure core). Raises CopyError when a retry may help.

    A team artifact bucket's name carries its account (``sagemaker-<project id>-<account>-
    artifacts``): every read passes it as the expected owner, so a bucket squatting another team's
    name in some other account is refused by S3. ``team_buckets_only`` skips any other name.
    """
    source = f"s3://{record.bucket}/{record.key}"
    if record.bucket == governance_bucket:
        return CopyResult("skipped", "source is the governance bucket itself", source)
    owner = names.bucket_owner(record.bucket)
    if team_buckets_only and owner is None:
        return CopyResult(
            "skipped",
            "not a team artifact bucket (sagemaker-<project id>-<account id>-artifacts)",
            source,
        )
    if record.key.endswith("/"):
        return CopyResult("skipped", "folder marker, nothing to copy", source)
    if record.size is not None and record.size > MAX_COPY_BYTES:
        # CopyObject copies up to 5 GiB in one request; larger artifacts need a multipart copy,
        # which this function does not do (documented limit): fail visibly.
        raise CopyError(f"{source} is {record.size} bytes, over CopyObject's 5 GiB limit")
    try:
        dest_key = destination_key(prefix, record.bucket, record.key, record.version_id)
    except ValueError as exc:
        return CopyResult("malformed", str(exc), source)
    destination = f"s3://{governance_bucket}/{dest_key}"
    if len(dest_key.encode("utf-8")) > MAX_KEY_BYTES:
        return CopyResult("malformed", "destination key would exceed 1024 bytes", source)

    existing = _head(s3, governance_bucket, dest_key)
    if existing is not None:
        meta = existing.get("Metadata") or {}
        held = meta.get(META_SEQUENCER)
        if (
            record.sequencer
            and is_sequencer(held)
            and sequencer_order(held) > sequencer_order(record.sequencer)
        ):
            return CopyResult(
                "skipped",
                f"stale event: sequencer {record.sequencer} is older than the copy's {held}",
                source,
                destination,
            )
        if (
            record.etag
            and meta.get(META_ETAG) == record.etag
            and existing.get("ChecksumSHA256")
            and meta.get(META_SHA256) == existing.get("ChecksumSHA256")
        ):
            return CopyResult(
                "already-copied",
                "a verified copy of this ETag is already there",
                source,
                destination,
                existing.get("ChecksumSHA256"),
            )

    try:
        expected = _source_sha256(s3, record)
    except Exception as exc:  # noqa: BLE001 - classified below
        if _error_code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404", "NoSuchVersion"):
            return CopyResult(
                "skipped",
                f"source changed or disappeared since the event ({_error_code(exc)}); "
                "a newer PUT has its own event",
                source,
            )
        raise CopyError(f"cannot read {source}: {exc}") from exc

    copy_source: dict[str, str] = {"Bucket": record.bucket, "Key": record.key}
    if record.version_id:
        copy_source["VersionId"] = record.version_id
    extra: dict[str, Any] = {}
    if owner:
        extra["ExpectedSourceBucketOwner"] = owner
    if record.etag:
        extra["CopySourceIfMatch"] = _quoted(record.etag)
    if kms_key_id:
        extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id)
    else:
        extra["ServerSideEncryption"] = "AES256"
    metadata = {
        META_BUCKET: _ascii(record.bucket),
        META_KEY: _ascii(record.key),
        META_ETAG: record.etag or "",
        META_VERSION: record.version_id or "",
        META_SHA256: expected,
        META_SEQUENCER: record.sequencer or "",
    }
    try:
        response = s3.copy_object(
            Bucket=governance_bucket,
            Key=dest_key,
            CopySource=copy_source,
            ChecksumAlgorithm="SHA256",
            MetadataDirective="REPLACE",
            Metadata=metadata,
            **extra,
        )
    except Exception as exc:  # noqa: BLE001
        if _error_code(exc) in ("PreconditionFailed", "412"):
            return CopyResult("skipped", "source changed since the event", source)
        raise CopyError(f"copy {source} -> {destination} failed: {exc}") from exc

    actual = (response.get("CopyObjectResult") or {}).get("ChecksumSHA256")
    if not actual:
        head = _head(s3, governance_bucket, dest_key) or {}
        actual = head.get("ChecksumSHA256")
    if actual != expected:
        raise CopyError(
            f"checksum mismatch for {destination}: source sha256 {expected}, copy {actual}; "
            "the copy is not trusted (its checksum differs from its source-sha256 metadata)"
        )
    return CopyResult("copied", "copied and verified (SHA-256)", source, destination, actual)


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except Exception as exc:  # noqa: BLE001
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise CopyError(f"cannot check s3://{bucket}/{key}: {exc}") from exc


def copy_records(
    event: Any,
    s3: Any,
    governance_bucket: str,
    *,
    kms_key_id: str | None = None,
    prefix: str = "artifacts",
    metrics: MetricSink | None = None,
    team_buckets_only: bool = False,
) -> list[CopyResult]:
    """Every record of an S3 notification event. Malformed records are logged and skipped; if any
    copy failed retryably, CopyError is raised after the others were processed (a retry skips the
    ones already copied)."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        result = CopyResult("malformed", "event has no 'Records' list")
        log(LOG, logging.ERROR, "malformed event", **result.to_json())
        count(metrics, MALFORMED)
        return [result]
    results: list[CopyResult] = []
    failures: list[str] = []
    for index, raw in enumerate(records):
        name = raw.get("eventName") if isinstance(raw, Mapping) else None
        if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
            result = CopyResult("skipped", f"eventName {name!r} is not ObjectCreated:*")
            log(LOG, logging.INFO, "record ignored", index=index, **result.to_json())
            count(metrics, IGNORED)
            results.append(result)
            continue
        try:
            record = parse_record(raw)
        except ValueError as exc:
            result = CopyResult("malformed", str(exc))
            log(LOG, logging.ERROR, "malformed record", index=index, **result.to_json())
            count(metrics, MALFORMED)
            results.append(result)
            continue
        try:
            result = copy_artifact(
                s3,
                record,
                governance_bucket,
                kms_key_id=kms_key_id,
                prefix=prefix,
                team_buckets_only=team_buckets_only,
            )
        except CopyError as exc:
            log(LOG, logging.ERROR, "copy failed", index=index, reason=str(exc))
            failures.append(str(exc))
            results.append(CopyResult("failed", str(exc), f"s3://{record.bucket}/{record.key}"))
            continue
        level = logging.WARNING if result.action in ("skipped", "malformed") else logging.INFO
        log(LOG, level, f"artifact {result.action}", index=index, **result.to_json())
        if result.action == "skipped":
            count(metrics, SKIPPED)
        elif result.action == "malformed":
            count(metrics, MALFORMED)
        results.append(result)
    if failures:
        raise CopyError(f"{len(failures)} of {len(records)} copies failed: {failures[0]}")
    return results


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """Lambda entry point."""
    configure_logging()
    bucket = os.environ.get("GOVERNANCE_BUCKET")
    if not bucket:
        raise RuntimeError("GOVERNANCE_BUCKET is not set. Set it to the governance bucket's name")
    metrics = handler_metrics(SERVICE)
    try:
        results = copy_records(
            event,
            cached_client("s3"),
            bucket,
            kms_key_id=os.environ.get("KMS_KEY_ID") or None,
            prefix=os.environ.get("ARTIFACT_PREFIX", "artifacts"),
            metrics=metrics,
            # Default on: only team artifact buckets (their name says their owner) are copied.
            team_buckets_only=os.environ.get("TEAM_BUCKETS_ONLY", "true").lower() != "false",
        )
    finally:
        metrics.flush_metrics()  # one EMF line on stdout, even when a copy failed (retried)
    return {"results": [r.to_json() for r in results]}
