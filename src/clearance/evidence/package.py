"""The registry side: a described model package and the report bytes its decision was made on."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearance.contract.reports import MAX_REPORT_BYTES, TABULAR_KINDS, slot_order
from clearance.evidence.checks_view import ChecksView

# --------------------------------------------------------------------------------------------------
# The registry side


# ModelMetrics slot -> kind, in the approval's precedence (dedicated slot before the combined
# one).
METRIC_SLOTS: tuple[tuple[str, str, str], ...] = slot_order(TABULAR_KINDS)


@dataclass(frozen=True)
class PackageInfo:
    arn: str
    group: str
    version: int | None
    name: str
    approval_status: str
    created: str
    description: str
    metadata: Mapping[str, str]
    model_data_urls: tuple[str, ...]
    images: tuple[str, ...]
    generated_by: str
    metric_uris: Mapping[str, tuple[str, str]]  # kind -> (s3 uri, content digest or "")

    @classmethod
    def from_describe(cls, desc: Mapping[str, Any]) -> PackageInfo:
        containers = (desc.get("InferenceSpecification") or {}).get("Containers") or []
        metrics = desc.get("ModelMetrics") or {}
        uris: dict[str, tuple[str, str]] = {}
        for group, slot, kind in METRIC_SLOTS:
            source = (metrics.get(group) or {}).get(slot) or {}
            # The SDK writes empty `{}` entries for reports it did not have: only a URI counts.
            if kind not in uris and source.get("S3Uri"):
                uris[kind] = (source["S3Uri"], source.get("ContentDigest", ""))
        created = desc.get("CreationTime")
        return cls(
            arn=desc.get("ModelPackageArn", ""),
            group=desc.get("ModelPackageGroupName", "") or "",
            version=desc.get("ModelPackageVersion"),
            name=desc.get("ModelPackageName", "") or "",
            approval_status=desc.get("ModelApprovalStatus", "") or "",
            created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
            description=desc.get("ModelPackageDescription", "") or "",
            metadata=dict(desc.get("CustomerMetadataProperties") or {}),
            model_data_urls=tuple(c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")),
            images=tuple(c["Image"] for c in containers if c.get("Image")),
            generated_by=((desc.get("MetadataProperties") or {}).get("GeneratedBy") or ""),
            metric_uris=uris,
        )


_S3_URI = re.compile(r"^s3://([^/]+)/(.+)$")


def _read_s3(s3: Any, uri: str, version_id: str | None = None) -> bytes:
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri[:200]}")
    extra = {"VersionId": version_id} if version_id else {}
    head = s3.head_object(Bucket=match[1], Key=match[2], **extra)
    if head.get("ContentLength", 0) > MAX_REPORT_BYTES:
        raise ValueError(f"larger than {MAX_REPORT_BYTES} bytes")
    return s3.get_object(Bucket=match[1], Key=match[2], **extra)["Body"].read()


def fetch_evidence_reports(
    s3: Any, checks: ChecksView, package: PackageInfo
) -> tuple[dict[str, bytes | None | str], dict[str, str]]:
    """Fetch the reports the decision was made on.

    Preferred: checks.json's `reports` map, whose sha256 pins the exact bytes the Evaluate step
    read, so the card shows what was decided on, not what the bucket holds now. Fallback: the
    package's ModelMetrics URIs, labelled as not digest-verified.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    reports: dict[str, bytes | None | str] = {}
    sources: dict[str, str] = {}
    kinds = set(checks.reports) | set(package.metric_uris)
    seen: set[str] = set()
    # Pinned kinds first: ModelQuality.Statistics serves model_quality and llm_evaluation, so one
    # URI can appear under two kinds; it is read once, and parse_reports tells the kinds apart.
    for kind in sorted(kinds, key=lambda k: (k not in checks.reports, k)):
        pinned = checks.reports.get(kind) or {}
        # The governance copy the decision read (read_from + its VersionId), when pinned.
        version = pinned.get("version_id") if pinned.get("read_from") else None
        uri = (
            pinned.get("read_from")
            or pinned.get("s3_uri")
            or package.metric_uris.get(kind, ("", ""))[0]
        )
        if not uri:
            reports[kind] = None
            continue
        if uri in seen:
            continue
        seen.add(uri)
        try:
            data = _read_s3(s3, uri, version)
        except (ClientError, BotoCoreError, ValueError, OSError) as exc:
            reports[kind] = f"cannot read {uri}: {str(exc)[:200]}"
            sources[kind] = uri
            continue
        expected = pinned.get("sha256", "")
        actual = hashlib.sha256(data).hexdigest()
        if expected and expected != actual:
            reports[kind] = f"sha256 of {uri} is {actual}, checks.json recorded {expected}"
            sources[kind] = f"{uri} (digest mismatch)"
        else:
            reports[kind] = data
            sources[kind] = f"{uri} (sha256 {actual}{' verified' if expected else ''})"
    return reports, sources
