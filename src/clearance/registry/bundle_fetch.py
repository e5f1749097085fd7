"""Fetch a package's verification bundle and model artifact into a local directory.

The team registers the bundle's manifest in the package's ModelMetrics slot
``ModelDataQuality.Statistics`` (with its ContentDigest, like every report); the files it lists sit
under the manifest's own S3 prefix (paths relative to it, never outside it), and the model is the
package's ``InferenceSpecification.Containers[0].ModelDataUrl``. Everything is read from allowed
buckets only, with the same checks as the reports (`fetch._read`): a manifest that does not match
its registered digest, a file outside the prefix or over the size cap, or a model in another
bucket is a `ReportError` with the reason, and verification fails closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from clearance.contract.reports import EVIDENCE_SLOT
from clearance.decide.reports import ReportError
from clearance.registry.fetch import (
    Allowed,
    _aws_reason,
    _is_empty,
    _read,
    bucket_allowed,
    parse_s3_uri,
)

MAX_BUNDLE_FILE_BYTES = 512 * 1024 * 1024
MAX_MODEL_BYTES = 1024 * 1024 * 1024
CHUNK = 8 * 1024 * 1024


def _download(s3: Any, uri: str, allowed: list[str], target: Path, cap: int) -> None:
    bucket, key = parse_s3_uri(uri)
    if not bucket_allowed(bucket, allowed):
        raise ReportError(f"{uri} is in bucket {bucket!r}, which is not on the allow-list")
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - unreadable evidence fails the verification
        raise ReportError(f"cannot read {uri}: {_aws_reason(exc)}") from None
    length = response.get("ContentLength")
    if isinstance(length, int) and length > cap:
        raise ReportError(f"{uri} is {length} bytes, over the {cap}-byte limit")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("wb") as handle:
        body = response["Body"]
        while chunk := body.read(CHUNK):
            written += len(chunk)
            if written > cap:
                raise ReportError(f"{uri} is over the {cap}-byte limit")
            handle.write(chunk)


def fetch_bundle(
    s3: Any, described: Mapping[str, Any], allowed_buckets: Iterable[str], into: Path
) -> tuple[Path, Path]:
    """(bundle directory, model.tar.gz) of the described package, downloaded INTO."""
    allowed = [b for b in allowed_buckets if b and b.strip()]
    section, name = EVIDENCE_SLOT
    metrics = described.get("ModelMetrics") or {}
    holder = metrics.get(section) if isinstance(metrics, dict) else None
    source = holder.get(name) if isinstance(holder, dict) else None
    if _is_empty(source) or not isinstance(source, dict):
        raise ReportError(
            f"ModelMetrics has no {section}.{name} (the verification bundle's manifest): "
            "register the evidence bundle"
        )
    # _read takes the Allowed check object and returns (bytes, sha256, pin).
    data, _, _ = _read(s3, source, Allowed(tuple(allowed)), f"{section}.{name}")
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
        _download(s3, f"{prefix}/{relative}", allowed, root.joinpath(*parts), MAX_BUNDLE_FILE_BYTES)
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    model_url = containers[0].get("ModelDataUrl") if containers else None
    if not model_url:
        raise ReportError("the package names no model artifact (ModelDataUrl)")
    model = into / "model" / "model.tar.gz"
    _download(s3, str(model_url), allowed, model, MAX_MODEL_BYTES)
    return root, model
