"""Fetch a package's verification bundle and model artifact into a local directory.

The team registers the bundle's manifest in the package's ModelMetrics slot
``ModelDataQuality.Statistics`` (with its ContentDigest, like every report); the files it lists sit
under the manifest's own S3 prefix (paths relative to it, never outside it), and the model is the
package's ``InferenceSpecification.Containers[0].ModelDataUrl``. Everything is read from allowed
buckets only, with the same checks as the reports (`fetch._read`): a manifest that does not match
its registered digest, a file outside the prefix or over the size cap, or a model in another
bucket is a `ReportError` with the reason, and verification fails closed.

With an :class:`~clearance.registry.fetch.EvidenceStore` (the governance bucket copy-artifacts
fills), nothing is read from the team's mutable bucket: the manifest comes from its governance copy
pinned by its ContentDigest (as the reports), and the model from its governance copy whose sha256
is the manifest's ``model.sha256``. The listed files still come from the team bucket: the
(governance-held) manifest pins each one's sha256, which ``load_bundle`` checks, so a swapped file
is refused; they are large and the team bucket only notifies copy-artifacts for reports and
``model.tar.gz``. :func:`fetch_bundle_pinned` returns where the model was read
(``model_read_from``, ``model_version_id``): checks.json's verification records it, and the deploy
gate deploys exactly that copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from clearance.contract import names
from clearance.contract.digest import stream_sha256
from clearance.contract.errors import aws_reason
from clearance.contract.reports import EVIDENCE_SLOT
from clearance.decide.reports import ReportError
from clearance.registry.fetch import (
    MAX_COPIES,
    Allowed,
    EvidenceStore,
    _is_empty,
    _read,
    parse_s3_uri,
)

MAX_BUNDLE_FILE_BYTES = 512 * 1024 * 1024
MAX_MODEL_BYTES = 1024 * 1024 * 1024


def _stream(s3: Any, uri: str, target: Path, cap: int, **kwargs: Any) -> tuple[str, Any]:
    """GetObject into TARGET under the size cap; (sha256 hex, the response's VersionId)."""
    try:
        response = s3.get_object(**kwargs)
    except Exception as exc:  # noqa: BLE001 - unreadable evidence fails the verification
        raise ReportError(f"cannot read {uri}: {aws_reason(exc)}") from None
    length = response.get("ContentLength")
    if isinstance(length, int) and length > cap:
        raise ReportError(f"{uri} is {length} bytes, over the {cap}-byte limit")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        try:
            digest, _ = stream_sha256(response["Body"], cap, handle.write)
        except ValueError:
            raise ReportError(f"{uri} is over the {cap}-byte limit") from None
    return digest, response.get("VersionId")


def _download(s3: Any, uri: str, allowed: Allowed, target: Path, cap: int) -> None:
    bucket, key = parse_s3_uri(uri)
    allowed.check(bucket, key, uri)
    _stream(s3, uri, target, cap, Bucket=bucket, Key=key)


def _download_copy(
    s3: Any, uri: str, allowed: Allowed, store: EvidenceStore, expected: str, target: Path, cap: int
) -> dict[str, Any]:
    """The governance copy of URI whose sha256 is EXPECTED, into TARGET; its pin."""
    bucket, key = parse_s3_uri(uri)
    allowed.check(bucket, key, uri)
    if not isinstance(expected, str) or len(expected) != 64:
        raise ReportError(f"no sha256 is listed for {uri}, so no governance copy can be pinned")
    prefix = names.copies_prefix(bucket, key, store.prefix)
    try:
        listed = s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix, MaxKeys=1000)
    except Exception as exc:  # noqa: BLE001
        raise ReportError(
            f"cannot list the governance copies of {uri}: {aws_reason(exc)}"
        ) from None
    copies = [o for o in listed.get("Contents", []) if "/" not in o["Key"][len(prefix) :]]
    copies.sort(key=lambda o: str(o.get("LastModified", "")), reverse=True)
    for obj in copies[:MAX_COPIES]:
        copy_uri = f"s3://{store.bucket}/{obj['Key']}"
        digest, version = _stream(s3, copy_uri, target, cap, Bucket=store.bucket, Key=obj["Key"])
        if digest == expected.lower() and version:
            return {"read_from": copy_uri, "version_id": version}
    target.unlink(missing_ok=True)
    raise ReportError(
        f"no governance copy of {uri} has sha256 {expected[:12]}... ({len(copies)} under "
        f"s3://{store.bucket}/{prefix}): the copy-artifacts Lambda has not copied it, or it changed"
    )


def fetch_bundle(
    s3: Any, described: Mapping[str, Any], allowed_buckets: Iterable[str], into: Path
) -> tuple[Path, Path]:
    """(bundle directory, model.tar.gz) of the described package, downloaded INTO."""
    root, model, _ = fetch_bundle_pinned(s3, described, allowed_buckets, into)
    return root, model


def fetch_bundle_pinned(
    s3: Any,
    described: Mapping[str, Any],
    allowed_buckets: Iterable[str],
    into: Path,
    evidence: EvidenceStore | None = None,
) -> tuple[Path, Path, dict[str, Any]]:
    """(bundle directory, model.tar.gz, model pin) downloaded INTO; with EVIDENCE the manifest and
    the model come from their governance copies and the pin is ``{"model_read_from",
    "model_version_id"}`` (empty without)."""
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
        # From the team bucket: load_bundle checks each file against the manifest's sha256, and
        # the manifest itself is the pinned governance copy when EVIDENCE is given.
        _download(s3, f"{prefix}/{relative}", allowed, root.joinpath(*parts), MAX_BUNDLE_FILE_BYTES)
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    model_url = containers[0].get("ModelDataUrl") if containers else None
    if not model_url:
        raise ReportError("the package names no model artifact (ModelDataUrl)")
    model = into / "model" / "model.tar.gz"
    if evidence is None:
        _download(s3, str(model_url), allowed, model, MAX_MODEL_BYTES)
        return root, model, {}
    # The model the team evaluated (the manifest's model.sha256, which load_bundle checks again).
    expected = str((manifest.get("model") or {}).get("sha256", "")).lower()
    pin = _download_copy(s3, str(model_url), allowed, evidence, expected, model, MAX_MODEL_BYTES)
    return root, model, {"model_read_from": pin["read_from"], "model_version_id": pin["version_id"]}
