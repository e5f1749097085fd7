"""Evaluate step: the package's ModelMetrics reports against the policy -> checks.json.

    python -m clearance.pipeline.steps.evaluate --model-package-arn ARN \
        --policy /opt/ml/processing/policy --output-dir /opt/ml/processing/checks \
        [--allowed-buckets gov-bucket,team-bucket] [--overrides-dir DIR]

``--policy`` is a policy file, or a directory holding exactly one ``*.yaml``/``*.yml`` (what the
``PolicyS3Uri`` input downloads to); an ``overrides/`` directory beside it holds per-group
overrides (``<model package group>.yaml``). The package ARN comes from the pipeline parameter set
from the triggering event, never from a list lookup.

An invalid policy or argument exits 2 with one error line and writes nothing; a package that
cannot be described exits 1 and writes nothing. Every report problem (missing, outside the
allow-list, digest mismatch, malformed) is a failed check inside checks.json, and a Rejected
decision is a successful run (exit 0).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearance import registry
from clearance.contract import metadata
from clearance.contract.errors import aws_reason
from clearance.contract.status import PENDING
from clearance.decide import checks
from clearance.pipeline.steps import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    ArgumentParser,
    InputError,
    aws_clients,
    error,
    log_code_location,
    region_from_arn,
    setup_logging,
)
from clearance.policy import PolicyError, load_policy, resolve_policy

LOGGER = logging.getLogger("clearance.pipeline.steps.evaluate")

CHECKS_FILE = "checks.json"
POLICY_SUFFIXES = (".yaml", ".yml")
# Bucket names, plus "*" wildcards: the governance product passes a team bucket pattern
# (ReportBucketPattern, default "sagemaker-p-*").
BUCKET_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.-*")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m clearance.pipeline.steps.evaluate",
        description="Apply the approval policy to one model package and write checks.json.",
    )
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--policy", required=True, type=Path, help="policy file or directory")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument(
        "--allowed-buckets",
        default="",
        help="comma-separated buckets reports may come from (default: none, every report fails)",
    )
    parser.add_argument("--overrides-dir", type=Path, default=None)
    parser.add_argument(
        "--evidence-bucket",
        default=None,
        help="governance bucket holding the copy-artifacts copies: the reports are read there "
        "(pinned by ContentDigest), never in the team's bucket",
    )
    return parser.parse_args(argv)


def policy_file(path: Path) -> Path:
    """The policy file named by ``--policy`` (a file, or a directory with exactly one YAML)."""
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in POLICY_SUFFIXES)
        if len(found) == 1:
            return found[0]
        names = ", ".join(p.name for p in found) or "none"
        raise InputError(
            "--policy",
            f"{path} must hold exactly one .yaml/.yml policy file (found {names})",
            "Point PolicyS3Uri at one policy object, or pass the file itself",
        )
    raise InputError(
        "--policy", f"{path} does not exist", "Pass the policy YAML file or its directory"
    )


def allowed_buckets(raw: str) -> list[str]:
    buckets = [b.strip() for b in raw.split(",") if b.strip()]
    for bucket in buckets:
        if not (1 <= len(bucket) <= 63) or not set(bucket) <= BUCKET_NAME_CHARS:
            raise InputError(
                "--allowed-buckets",
                f"{bucket!r} is not an S3 bucket name",
                "Pass bucket names or *-patterns (not URIs), comma-separated",
            )
    return buckets


def _evidence_store(raw: str | None) -> registry.EvidenceStore | None:
    if raw is None:
        return None
    if not (3 <= len(raw) <= 63) or not set(raw) <= BUCKET_NAME_CHARS - {"*"}:
        raise InputError(
            "--evidence-bucket", f"{raw!r} is not an S3 bucket name", "Pass the governance bucket"
        )
    return registry.EvidenceStore(raw)


def overrides_dir_for(policy_path: Path, overrides_dir: Path | None) -> Path | None:
    """--overrides-dir, else an ``overrides/`` directory beside the policy file, else none."""
    if overrides_dir is not None:
        return overrides_dir
    beside = policy_path.parent / "overrides"
    return beside if beside.is_dir() else None


def run(args: argparse.Namespace, clients: tuple[Any, Any] | None = None) -> int:
    """The step; ``clients`` = (sagemaker, s3) to reuse, else created for the package's region."""

    arn = args.model_package_arn
    try:
        region = region_from_arn(arn)
        path = policy_file(args.policy)
        buckets = allowed_buckets(args.allowed_buckets)
        evidence = _evidence_store(args.evidence_bucket)
        # Validate the policy before any AWS call: an invalid policy decides nothing.
        base_policy = load_policy(path)
        overrides = overrides_dir_for(path, args.overrides_dir)
    except InputError as exc:
        error(str(exc))
        return EXIT_INVALID
    except PolicyError as exc:
        error(str(exc))  # "<rule>.<field>: <problem>. <fix>", as `clearance check` prints it
        return EXIT_INVALID

    log_code_location()
    sm, s3 = clients or aws_clients(region)
    try:
        described = sm.describe_model_package(ModelPackageName=arn)
    except Exception as exc:  # noqa: BLE001 - one line, then fail the step: nothing to decide on
        error(f"--model-package-arn: cannot describe {arn} ({aws_reason(exc)}). Check the ARN")
        return EXIT_FAILED
    preset = sorted(
        key
        for key in described.get("CustomerMetadataProperties") or {}
        if key.startswith(metadata.CLEARANCE_PREFIX)
    )
    if preset and described.get("ModelApprovalStatus") == PENDING:
        # Only the approval writes clearance:* keys, when it decides: a pending package that
        # already carries one was registered with a forged decision. Nothing is decided (fail
        # closed: the execution fails and alarms, the package stays pending).
        error(
            f"--model-package-arn: {arn} is {PENDING} but already carries {', '.join(preset)}. "
            "Register it again without clearance:* metadata"
        )
        return EXIT_INVALID
    group = described.get("ModelPackageGroupName")
    try:
        policy = resolve_policy(base_policy, overrides, group)
    except PolicyError as exc:
        error(str(exc))  # "<rule>.<field>: <problem>. <fix>", as `clearance check` prints it
        return EXIT_INVALID

    fetched = registry.fetch_reports(sm, s3, arn, buckets, described=described, evidence=evidence)
    decision = checks.evaluate(policy, fetched.reports, arn, sources=fetched.sources)
    out = checks.write_checks(decision, args.output_dir / CHECKS_FILE)
    failed = [c.id for c in decision.failed_checks]
    LOGGER.info(
        "%s: %s under policy %s v%s (%d checks, failed: %s) -> %s",
        arn,
        decision.decision,
        policy.id,
        policy.version,
        len(decision.checks),
        ", ".join(failed) or "none",
        out,
    )
    print(f"{decision.decision}: {arn} ({len(failed)} of {len(decision.checks)} checks failed)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, clients: tuple[Any, Any] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        return run(args, clients)
    except Exception as exc:  # noqa: BLE001 - the step fails with one line; nothing was written
        LOGGER.exception("evaluate failed")
        error(f"evaluate: {type(exc).__name__}: {exc}. See the log above")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
