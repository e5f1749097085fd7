"""Fetch a package's verification bundle and model artifact into a local directory.

The team registers the bundle's manifest in the package's ModelMetrics slot
``ModelDataQuality.Statistics`` (with its ContentDigest, like every report); the files it lists sit
under the manifest's own S3 prefix (paths relative to it, never outside it), and the model is the
package's ``InferenceSpecification.Containers[0].ModelDataUrl``. Everything is read from allowed
buckets only, with the same checks as the reports (`fetch._read`): a manifest that does not match
its registered digest, a file outside the prefix or over the size cap, or a model in another
bucket is a `ReportError` with the reason, and verification fails closed.

With an :class:`~clearance.registry.fetch.EvidenceStore` (the governance bucket copy-artifacts
fills) nothing is read from the team's bucket: the manifest is the governance copy matching its
ContentDigest, and every file and the model is the governance copy whose sha256 is the one the
manifest lists (``files.<path>.sha256``, ``model.sha256``), so the verification rests on bytes
the team can no longer change or delete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from clearance.contract import names
from clearance.contract.reports import EVIDENCE_SLOT
from clearance.decide.reports import ReportError
from clearance.registry.fetch import (
    Allowed,
    EvidenceStore,
    _aws_reason,
    _is_empty,
    _read,
    parse_s3_uri,
)

MAX_BUNDLE_FILE_BYTES = 512 * 1024 * 1024
MAX_MODEL_BYTES = 1024 * 1024 * 1024
CHUNK = 8 * 1024 * 1024
MAX_COPIES = 50  # copied versions of one file examined for the manifest's sha256, newest first


def _stream(s3: Any, bucket: str, key: str, uri: str, target: Path, cap: int) -> str:
    """Download s3://bucket/key to TARGET (at most CAP bytes); its sha256."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - unreadable evidence fails the verification
        raise ReportError(f"cannot read {uri}: {_aws_reason(exc)}") from None
    length = response.get("ContentLength")
    if isinstance(length, int) and length > cap:
        raise ReportError(f"{uri} is {length} bytes, over the {cap}-byte limit")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    digest = hashlib.sha256()
    with target.open("wb") as handle:
        body = response["Body"]
        while chunk := body.read(CHUNK):
            written += len(chunk)
            if written > cap:
                raise ReportError(f"{uri} is over the {cap}-byte limit")
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def _download_copy(
    s3: Any, store: EvidenceStore, uri: str, expected: str | None, target: Path, cap: int
) -> None:
    """The governance copy of URI whose sha256 is EXPECTED (newest first), into TARGET."""
    if not expected:
        raise ReportError(f"the bundle manifest gives no sha256 for {uri}: no copy can be pinned")
    bucket, key = parse_s3_uri(uri)
    prefix = names.copies_prefix(bucket, key, store.prefix)
    try:
        listed = s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix, MaxKeys=1000)
    except Exception as exc:  # noqa: BLE001
        reason = _aws_reason(exc)
        raise ReportError(f"cannot list the governance copies of {uri}: {reason}") from None
    copies = [o for o in listed.get("Contents", []) if "/" not in o["Key"][len(prefix) :]]
    copies.sort(key=lambda o: str(o.get("LastModified", "")), reverse=True)
    for obj in copies[:MAX_COPIES]:
        copy_uri = f"s3://{store.bucket}/{obj['Key']}"
        if _stream(s3, store.bucket, obj["Key"], copy_uri, target, cap) == expected:
            return
    target.unlink(missing_ok=True)
    raise ReportError(
        f"no governance copy of {uri} has the manifest's sha256 {expected[:12]}... "
        f"({len(copies)} under s3://{store.bucket}/{prefix}): the copy-artifacts Lambda has not "
        "copied it, or the file changed after the manifest was written"
    )


def _download(
    s3: Any,
    uri: str,
    allowed: Allowed,
    target: Path,
    cap: int,
    store: EvidenceStore | None = None,
    expected: str | None = None,
) -> None:
    bucket, key = parse_s3_uri(uri)
    allowed.check(bucket, key, uri)
    if store is not None:
        _download_copy(s3, store, uri, expected, target, cap)
        return
    _stream(s3, bucket, key, uri, target, cap)


def _sha(entry: Any) -> str | None:
    value = entry.get("sha256") if isinstance(entry, dict) else None
    return str(value).lower() if value else None


def fetch_bundle(
    s3: Any,
    described: Mapping[str, Any],
    allowed_buckets: Iterable[str],
    into: Path,
    evidence: EvidenceStore | None = None,
) -> tuple[Path, Path]:
    """(bundle directory, model.tar.gz) of the described package, downloaded INTO; with EVIDENCE,
    from the governance copies only (see the module docstring)."""
    # The same rule as the reports: a central-registry group's evidence and model come from its
    # own project's team bucket and prefix only (another team's bundle is refused).
    project = names.parse_group_name(str(described.get("ModelPackageGroupName") or ""))
    allowed = Allowed(tuple(b.strip() for b in allowed_buckets if b and b.strip()), project)
    section, name = EVIDENCE_SLOT
    metrics = described.get("ModelMetrics") or {}
    holder = metrics.get(section) if isinstance(metrics, dict) else None
    source = holder.get(name) if isinstance(holder, dict) else None
    if _is_empty(source) or not isinstance(source, dict):
        raise ReportError(
            f"ModelMetrics has no {section}.{name} (the verification bundle's manifest): "
            "register the evidence bundle"
        )
    data, _, _ = _read(s3, source, allowed, f"{section}.{name}", evidence)
    root = into / "evidence"
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_bytes(data)
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        assert isinstance(files, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ReportError("the bundle manifest is not a JSON object with 'files'") from None
    prefix = str(source["S3Uri"]).rsplit("/", 1)[0]
    for relative in files:
        parts = PurePosixPath(str(relative)).parts
        if not parts or PurePosixPath(str(relative)).is_absolute() or ".." in parts:
            raise ReportError(f"bundle file {str(relative)[:80]!r} leaves the bundle's prefix")
        _download(
            s3,
            f"{prefix}/{relative}",
            allowed,
            root.joinpath(*parts),
            MAX_BUNDLE_FILE_BYTES,
            evidence,
            _sha(files[relative]),
        )
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    model_url = containers[0].get("ModelDataUrl") if containers else None
    if not model_url:
        raise ReportError("the package names no model artifact (ModelDataUrl)")
    model = into / "model" / "model.tar.gz"
    expected = _sha(manifest.get("model"))
    _download(s3, str(model_url), allowed, model, MAX_MODEL_BYTES, evidence, expected)
    return root, model
