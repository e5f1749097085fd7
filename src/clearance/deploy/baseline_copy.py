"""The data-quality baseline an endpoint is monitored with is the one registered with the package.

The package's ``DriftCheckBaselines.ModelDataQuality`` points at statistics.json and
constraints.json in the TEAM's bucket, which the team can overwrite after the approval: a
permissive constraints.json would make the Model Monitor schedule toothless while the staging
record still says ``endpoint.monitoring: pass``. The team pipeline's DigestReports step therefore
registers each file with its ContentDigest (``sha256:<hex>``), as it does every report, and the
team bucket's notification makes copy-artifacts keep an Object-Locked copy of every version in the
governance bucket (``artifacts/<bucket>/<key>/<VersionId>``).

:func:`pin_data_quality_baseline` resolves each of the two files to the governance copy whose
sha256 is its registered digest (:func:`clearance.registry.fetch.read_copy`, the search the
approval's own reads use) and returns the baselines with those copies' URIs, which the schedule is
built from. It fails, with one line saying why, for a baseline without a digest, outside the
project's own bucket, with no matching copy, or whose copy cannot be read or is not JSON: the
``endpoint.monitoring`` check then fails closed, and production promotion with it.

Calls: ListObjectsV2 (prefix ``artifacts/<bucket>/<key>/``) and GetObject on the governance
bucket; nothing in the team's bucket is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clearance.contract import names
from clearance.decide.reports import ReportError
from clearance.registry.fetch import (
    Allowed,
    EvidenceStore,
    expected_digest,
    parse_s3_uri,
    read_copy,
)

SECTION = "ModelDataQuality"
FILES = ("Statistics", "Constraints")


class BaselineError(ValueError):
    """The registered baseline cannot be pinned to an approved governance copy (``reason``)."""


def _pin_one(
    s3: Any, source: Any, slot: str, store: EvidenceStore, allowed: Allowed | None
) -> dict[str, Any]:
    if not isinstance(source, Mapping) or not source.get("S3Uri"):
        raise BaselineError(f"{slot} has no S3Uri: register the package with its baseline")
    uri = str(source["S3Uri"])
    try:
        bucket, key = parse_s3_uri(uri)
        if allowed is not None:
            allowed.check(bucket, key, slot)
        expected = expected_digest(source, slot)
        if expected is None:
            raise ReportError(
                f"{slot} has no ContentDigest, so no approved copy can be pinned to it (the team "
                "pipeline's DigestReports step digests the baseline; re-register the package)"
            )
        data, pin = read_copy(s3, store, bucket, key, expected, uri)
        json.loads(data)
    except ReportError as exc:
        raise BaselineError(exc.reason) from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BaselineError(f"{slot}: the governance copy of {uri} is not JSON ({exc})") from None
    return {"source": uri, "sha256": expected, **pin}


def pin_data_quality_baseline(
    s3: Any,
    drift_check_baselines: Mapping[str, Any],
    governance_bucket: str | None,
    model_package_group: str | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(DriftCheckBaselines whose ModelDataQuality names the pinned governance copies,
    {"statistics"|"constraints": pin}); BaselineError with the reason otherwise.

    ``model_package_group`` (a central-registry group name) restricts the sources to the project's
    own artifact bucket, as the approval's reads are (:class:`clearance.registry.fetch.Allowed`).
    """
    if not governance_bucket:
        raise BaselineError(
            "no governance bucket to read the approved baseline copies from "
            "(clearance endpoint-check --governance-bucket)"
        )
    if s3 is None:
        raise BaselineError("no S3 client to read the approved baseline copies with")
    quality = (drift_check_baselines or {}).get(SECTION)
    if not isinstance(quality, Mapping) or not all(quality.get(f) for f in FILES):
        raise BaselineError(
            f"DriftCheckBaselines.{SECTION} lacks Constraints or Statistics: register the "
            "package with a data-quality baseline"
        )
    project = names.parse_group_name(str(model_package_group or ""))
    allowed = Allowed((), project) if project is not None else None
    store = EvidenceStore(governance_bucket)
    pins: dict[str, dict[str, Any]] = {}
    pinned: dict[str, Any] = {}
    for name in FILES:
        pin = _pin_one(s3, quality[name], f"DriftCheckBaselines.{SECTION}.{name}", store, allowed)
        pins[name.lower()] = pin
        pinned[name] = {**quality[name], "S3Uri": pin["read_from"]}
    return {**drift_check_baselines, SECTION: pinned}, pins
