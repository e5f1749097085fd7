"""The demo's model-swap case (issue 13): the team replaces model.tar.gz after the approval.

The gate deploys the governance copy the approval verified (checks.json's verification pin), so
the swap changes nothing: the endpoint is served the verified bytes, which the stage asserts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clearance.deploy import gate

Note = Callable[[str], None]
# The team's swap of a package's model.tar.gz after approval -> {"team_object", "sha256", ...}.
Swap = Callable[[str], dict[str, Any]]


def served_model(s3: Any, copy: dict[str, Any], into: Path) -> Path:
    """The governance copy the gate checked (pinned version), as the endpoint's model.tar.gz: what
    SageMaker downloads from the stack's ModelDataUrl. Its sha256 is checked once more."""
    bucket, _, key = copy["s3_uri"].removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key, VersionId=copy["version_id"])["Body"].read()
    if hashlib.sha256(body).hexdigest() != copy["sha256"]:
        raise RuntimeError(f"{copy['s3_uri']} is not the verified model")
    path = into / "model.tar.gz"
    path.write_bytes(body)
    return path


def swap_and_gate(
    sm: Any, s3: Any, config: gate.GateConfig, arn: str, swap: Swap, note: Note
) -> tuple[gate.GateResult, dict[str, Any]]:
    """The team swaps its model.tar.gz after the approval; the gate runs again."""
    swapped = swap(arn)
    result = gate.check_package(sm, s3, arn, config)
    record = {**swapped, "gate": "allowed" if result.allowed else result.refusal.code}
    if result.allowed:
        record["deployed_sha256"] = result.facts["model_copy"]["sha256"]
        record["deployed_from"] = result.facts["model_copy"]["s3_uri"]
        same = record["deployed_sha256"] == swapped["sha256"]
        note(
            f"swap: the team replaced {swapped['team_object']} after the approval; the gate "
            f"deploys the verified copy {record['deployed_from']} "
            f"({'THE SWAPPED BYTES' if same else 'not the swapped bytes'})"
        )
    else:
        note(f"swap: gate REFUSED {result.refusal.line()}")
    return result, record


def swap_team_model(
    accounts: Any, sm: Any, arn: str, body: bytes, governance_bucket: str, label: str
) -> dict[str, Any]:
    """The team (its pipeline role) overwrites the package's model.tar.gz in its own bucket; the
    S3 notification runs copy-artifacts, which copies the new version next to the verified one."""

    url = sm.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][
        0
    ]["ModelDataUrl"]
    put, copied = _team_overwrite(accounts, url, body, governance_bucket, "FFFF")
    return {
        "team_object": url,
        "team_version_id": put.get("VersionId"),
        "sha256": hashlib.sha256(body).hexdigest(),
        "swapped_in": f"the {label} build's model",
        "copied": [c.action for c in copied],
    }


# A constraints.json that checks nothing: what a team would write to make monitoring toothless.
PERMISSIVE_CONSTRAINTS = b'{"version": 0.0, "features": [], "monitoring_config": {}}\n'


def loosen_team_baseline(
    accounts: Any, sm: Any, arn: str, governance_bucket: str
) -> dict[str, Any]:
    """The team (its pipeline role) overwrites the package's registered constraints.json with a
    permissive one after the approval; copy-artifacts copies the new version next to the approved
    one. The endpoint check must still build the schedule from the approved copy."""

    baselines = sm.describe_model_package(ModelPackageName=arn).get("DriftCheckBaselines") or {}
    uri = (baselines.get("ModelDataQuality") or {}).get("Constraints", {}).get("S3Uri")
    if not uri:
        return {}
    body = PERMISSIVE_CONSTRAINTS
    _team_overwrite(accounts, uri, body, governance_bucket, "FFFE")
    return {"team_object": uri, "sha256": hashlib.sha256(body).hexdigest()}


def _team_overwrite(
    accounts: Any, uri: str, body: bytes, governance_bucket: str, sequencer: str
) -> tuple[dict[str, Any], list[Any]]:
    """The team pipeline role puts BODY at URI in its own bucket; the S3 notification runs
    copy-artifacts (a later SEQUENCER than the build's uploads). (PutObject response, copies)."""
    from clearance_dev.demo import central

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    put = accounts.client("team-pipeline", "s3").put_object(
        Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms"
    )
    etag, version = put["ETag"].strip('"'), put.get("VersionId")
    sequence = f"{central.EVENT_FIXTURE_SEQUENCER}{sequencer}"
    upload = central.Upload(bucket, key, etag, version, len(body), sequence)
    copied, _ = central.copy_evidence(accounts, [upload], governance_bucket, accounts.region)
    return put, copied


def baseline_held(summary: dict[str, Any]) -> bool:
    """After the team loosened constraints.json, the staging schedule still monitors with the
    approved copy (a pinned sha256 that is not the loosened one). True when nothing was swapped."""
    loosened = (summary.get("swap") or {}).get("baseline") or {}
    if not loosened:
        return True
    monitoring = (summary.get("staging_report") or {}).get("monitoring") or {}
    pinned = ((monitoring.get("baseline_pinned") or {}).get("constraints") or {}).get("sha256")
    return bool(pinned) and pinned != loosened.get("sha256")


def baseline_line(summary: dict[str, Any]) -> str | None:
    """The demo summary's line about the loosened baseline, or None when nothing was loosened."""
    loosened = (summary.get("swap") or {}).get("baseline") or {}
    if not loosened:
        return None
    monitoring = (summary.get("staging_report") or {}).get("monitoring") or {}
    pinned = ((monitoring.get("baseline_pinned") or {}).get("constraints") or {}).get("sha256")
    return (
        f"baseline: the team loosened {loosened['team_object']} after the approval; the schedule "
        f"monitors with the approved copy, sha256 {str(pinned)[:12]} (loosened "
        f"{loosened['sha256'][:12]})"
    )
