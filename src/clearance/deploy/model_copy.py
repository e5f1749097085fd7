"""The model a deploy serves is the governance copy the approval verified, byte for byte.

The package's ``ModelDataUrl`` points into the TEAM's bucket, which the team can overwrite at any
time (and SageMaker re-reads ModelDataUrl whenever autoscaling adds an instance). The approval's
Verify step therefore scores the governance account's copy of the model (copy-artifacts writes one
per source version, Object-Locked, at ``artifacts/<bucket>/<key>/<VersionId>``) and records in
checks.json's ``verification`` which copy it read: ``model_read_from`` (URI), ``model_version_id``
(the copy's own S3 version) and ``model_sha256``. Before anything is created the gate checks, in
this order (the first failure is the refusal):

==================  ===============================================================================
model-unverified    checks.json records no model copy (an older approval): nothing says which bytes
                    were verified
model-elsewhere     the recorded copy is not in the governance bucket under
                    ``artifacts/<ModelDataUrl bucket>/<its key>/`` (a copy of another artifact)
model-missing       the copy (pinned version) cannot be read
model-overwritten   a newer version exists at the copy's key: SageMaker would read that one
model-digest        the copy's sha256 is not ``verification.model_sha256``
==================  ===============================================================================

and returns the facts the deploy uses: the Model is created from the package's image and this
``s3_uri`` (a ``ModelDataUrl`` stack parameter), never from ModelPackageName. Calls: HeadObject
and GetObject (pinned VersionId) on the governance bucket; the model is streamed, not kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clearance.contract import names
from clearance.contract.digest import stream_sha256
from clearance.deploy.refusal import aws_problem, refuse

MAX_MODEL_BYTES = 5 * 1024**3  # copy-artifacts' CopyObject limit: no larger copy exists
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
FIELD = "checks.json verification.model_read_from"
FIX_REAPPROVE = "Re-run the approval: its Verify step records the governance copy it scored"


def _pin(checks: Mapping[str, Any]) -> tuple[str, str, str]:
    verification = checks.get("verification")
    verification = verification if isinstance(verification, dict) else {}
    uri, version, digest = (
        verification.get(k) for k in ("model_read_from", "model_version_id", "model_sha256")
    )
    if not (isinstance(uri, str) and isinstance(version, str) and version):
        raise refuse(
            "model-unverified",
            "checks.json verification",
            "records no governance copy of the model (model_read_from, model_version_id), so "
            "nothing says which bytes were verified",
            FIX_REAPPROVE,
        )
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise refuse(
            "model-unverified",
            "checks.json verification.model_sha256",
            f"{str(digest)[:80]!r} is not the sha256 of a verified model",
            FIX_REAPPROVE,
        )
    return uri, version, digest


def _copy_key(uri: str, model_data_url: str, governance_bucket: str) -> str:
    """The copy's key, if URI is a governance copy of MODEL_DATA_URL; else a refusal."""
    source_bucket, _, source_key = str(model_data_url or "").removeprefix("s3://").partition("/")
    if not str(model_data_url).startswith("s3://") or not source_bucket or not source_key:
        raise refuse(
            "model-elsewhere",
            "ModelDataUrl",
            f"{str(model_data_url)[:160]!r} is not an s3:// model artifact",
            "Register the package with its model.tar.gz in the team's artifact bucket",
        )
    prefix = names.copies_prefix(source_bucket, source_key)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    version = key[len(prefix) :] if key.startswith(prefix) else ""
    if not uri.startswith("s3://") or bucket != governance_bucket or not version or "/" in version:
        raise refuse(
            "model-elsewhere",
            FIELD,
            f"{uri[:200]} is not a governance copy of the package's model {model_data_url} "
            f"(s3://{governance_bucket}/{prefix}<version>)",
            FIX_REAPPROVE,
        )
    return key


def check_model_copy(
    s3: Any, checks: Mapping[str, Any], model_data_url: str, governance_bucket: str
) -> dict[str, Any]:
    """The governance copy to deploy, checked against what Verify recorded; refuses otherwise."""
    uri, pinned, expected = _pin(checks)
    key = _copy_key(uri, model_data_url, governance_bucket)
    where = f"{uri[:200]} (version {pinned[:80]})"
    fix = "Check the governance bucket grant of the deploy role; never deploy unverified bytes"
    try:
        latest = s3.head_object(Bucket=governance_bucket, Key=key).get("VersionId")
    except Exception as exc:  # noqa: BLE001 - an unreadable model refuses the deploy
        problem = f"{where} cannot be read ({aws_problem(exc)})"
        raise refuse("model-missing", FIELD, problem, fix, aws_error=True) from exc
    if latest != pinned:
        raise refuse(
            "model-overwritten",
            "checks.json verification.model_version_id",
            f"{uri[:200]} has a newer version {str(latest)[:80]} than the verified {pinned[:80]};"
            " SageMaker would serve the newer one",
            "Investigate the write to the governance copy; re-run the approval",
        )
    try:
        response = s3.get_object(Bucket=governance_bucket, Key=key, VersionId=pinned)
        actual, size = stream_sha256(response["Body"], MAX_MODEL_BYTES)
    except Exception as exc:  # noqa: BLE001 - an unreadable model refuses the deploy
        problem = f"{where} cannot be read ({aws_problem(exc)})"
        aws = not isinstance(exc, ValueError)
        raise refuse("model-missing", FIELD, problem, fix, aws_error=aws) from exc
    if actual != expected:
        raise refuse(
            "model-digest",
            "checks.json verification.model_sha256",
            f"the governance copy {uri[:200]} has sha256 {actual}, not the verified {expected}",
            "Deploy only the bytes the approval verified; re-run the approval",
        )
    return {
        "s3_uri": uri,
        "version_id": pinned,
        "sha256": actual,
        "bytes": size,
        "source": model_data_url,
    }
