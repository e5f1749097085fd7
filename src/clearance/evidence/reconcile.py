"""Reconcile each decision in the registry against the checks.json the governance account holds.

The registry's status and ``clearance:*`` metadata say what was decided; the approval pipeline's
checks.json (the Evaluate step's output, written under ``<pipeline name>/`` in the governance
bucket, versioned and Object-Locked, writable only by the approval role) says what the policy
concluded on which pinned bytes. The audit trusts the second: for every package,

- ``ok``: a governance checks.json for this package says the registry's status, and its sha256 is
  the ``clearance:checks-sha256`` the registry carries;
- ``pending``: not decided yet (a checks.json may exist: the evaluation of a pending package);
- anything else is a finding, in words: decided with no governance checks.json (a manual or
  out-of-band decision), a status the checks.json contradicts, a checks-sha256 that matches no
  governance copy (metadata written by someone else).

The one checks.json parser (:mod:`clearance.contract.checks`) reads every file; an unreadable one
is reported, never trusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clearance.contract.checks import ChecksError, decision_from_json
from clearance.contract.status import DECISIONS, PENDING

__all__ = ["GovernanceChecks", "find_checks", "reconcile"]

CHECKS_NAME = "checks.json"
MAX_CHECKS_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class GovernanceChecks:
    uri: str
    version_id: str | None
    sha256: str
    decision: str
    model_package_arn: str


def find_checks(s3: Any, bucket: str, prefix: str) -> tuple[list[GovernanceChecks], list[str]]:
    """Every checks.json under ``s3://bucket/prefix`` (all versions' latest), and the problems."""
    found: list[GovernanceChecks] = []
    problems: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith("/" + CHECKS_NAME):
                continue
            uri = f"s3://{bucket}/{key}"
            if obj.get("Size", 0) > MAX_CHECKS_BYTES:
                problems.append(f"{uri}: over {MAX_CHECKS_BYTES} bytes, not read")
                continue
            response = s3.get_object(Bucket=bucket, Key=key)
            data = response["Body"].read()
            try:
                decision = decision_from_json(json.loads(data.decode("utf-8")))
            except (ChecksError, ValueError, UnicodeDecodeError) as exc:
                problems.append(f"{uri}: not a valid checks.json ({str(exc)[:120]})")
                continue
            found.append(
                GovernanceChecks(
                    uri,
                    response.get("VersionId"),
                    hashlib.sha256(data).hexdigest(),
                    decision.decision,
                    decision.model_package_arn,
                )
            )
    return found, problems


def reconcile(
    rows: Iterable[Any], checks: Iterable[GovernanceChecks]
) -> list[tuple[Any, str, str | None]]:
    """(row, verdict, the governance checks.json URI it rests on) for every audit row.

    ``rows`` carry ``arn``, ``status`` and ``checks_sha256`` (:class:`clearance.evidence.audit
    .AuditRow`); the registry metadata is compared with the governance files, never the reverse.
    """
    by_arn: dict[str, list[GovernanceChecks]] = {}
    for item in checks:
        by_arn.setdefault(item.model_package_arn, []).append(item)
    out: list[tuple[Any, str, str | None]] = []
    for row in rows:
        held = by_arn.get(row.arn, [])
        if row.status not in DECISIONS:
            out.append((row, "pending" if row.status == PENDING else row.status or "-", None))
            continue
        if not held:
            out.append((row, f"FINDING: {row.status} with no governance checks.json", None))
            continue
        same_digest = [c for c in held if c.sha256 == row.checks_sha256]
        if not same_digest:
            verdict = (
                "FINDING: clearance:checks-sha256 "
                f"{(row.checks_sha256 or 'missing')[:12]} matches none of the {len(held)} "
                "governance checks.json of this package"
            )
            out.append((row, verdict, held[-1].uri))
            continue
        match = same_digest[-1]
        if match.decision != row.status:
            verdict = (
                f"FINDING: registry says {row.status}, governance checks.json {match.decision}"
            )
            out.append((row, verdict, match.uri))
            continue
        out.append((row, "ok", match.uri))
    return out
