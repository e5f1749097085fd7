"""``clearance check`` (local report files) and ``evaluate`` / ``approve`` (the model registry)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from clearance.cli.common import (
    ALLOWED_BUCKETS_ENV,
    UsageError,
    _check_out,
    _emit,
    _error,
    _load_policy,
    aws_error,
)
from clearance.contract.arns import MODEL_PACKAGE_ARN
from clearance.decide.checks import Decision, evaluate, write_checks
from clearance.decide.reports import MODEL_KINDS, ReportError
from clearance.policy import PolicyError
from clearance.registry import apply_decision, fetch_reports, quality_inputs

# ------------------------------------------------------------------------------------ check

REPORT_OPTIONS = (
    ("--bias-pre", "bias_pre", "bias_pre_training", "Clarify data bias analysis.json"),
    ("--bias-post", "bias_post", "bias_post_training", "Clarify model bias analysis.json"),
    ("--explainability", "explainability", "explainability", "Clarify SHAP analysis.json"),
    ("--quality", "quality", "model_quality", "Model Monitor statistics.json (or LLM evaluation)"),
    ("--llm", "llm", "llm_evaluation", "LLM evaluation report (llm_evaluation document)"),
)


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="policy YAML file")
    for flag, dest, _kind, help_text in REPORT_OPTIONS:
        parser.add_argument(flag, dest=dest, metavar="FILE", help=help_text)
    parser.add_argument("--out", required=True, help="where to write checks.json")
    parser.add_argument(
        "--model-package-arn", default="local", help="recorded in checks.json (default: local)"
    )
    parser.add_argument(
        "--group", default=None, help="model package group whose override applies (optional)"
    )
    parser.add_argument("--overrides", default=None, help="overrides directory (<group>.yaml)")
    parser.add_argument(
        "--model-kind", choices=MODEL_KINDS, default=None, help="default: from the quality report"
    )
    parser.add_argument("--json", action="store_true", help="print checks.json instead of a table")
    parser.add_argument(
        "--evidence",
        default=None,
        metavar="DIR",
        help="verification bundle (make local's OUT/evidence): recompute as the Verify step does",
    )
    parser.add_argument(
        "--model", default=None, metavar="FILE", help="model.tar.gz (default: DIR/../model/)"
    )


def _verify_locally(args: argparse.Namespace, policy: Any) -> tuple[Any, str | None]:
    """(Verification, None) or (None, why it failed) for --evidence; (None, None) without it."""
    if args.evidence is None:
        return None, None
    from clearance.decide.bundle import BundleError
    from clearance.pipeline.steps.verify import verify_local

    root = Path(args.evidence)
    model = Path(args.model) if args.model else root.parent / "model" / "model.tar.gz"
    if not root.is_dir():
        raise UsageError("--evidence", f"{root} is not a directory", "Pass make local's evidence/")
    if not model.is_file():
        raise UsageError("--model", f"{model} does not exist", "Pass the model.tar.gz")
    try:
        return verify_local(root, model, policy), None
    except BundleError as exc:
        return None, str(exc)


def _read_local_reports(args: argparse.Namespace) -> dict[str, Any]:

    reports: dict[str, Any] = {}
    for flag, dest, kind, _help in REPORT_OPTIONS:
        value = getattr(args, dest)
        if value is None:
            continue
        path = Path(value)
        if not path.is_file():
            raise UsageError(
                flag, f"{path} does not exist", "Pass an existing report file or omit it"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            # The file exists but cannot be read: a report problem, not an argument problem.
            reports[kind] = ReportError(f"cannot read {path}: {exc.strerror or exc}")
            continue
        if kind == "model_quality":
            # Like the registry's ModelQuality.Statistics slot: one file, either kind.
            for quality_kind, quality_value in quality_inputs(data, flag).items():
                if quality_kind == "llm_evaluation" and args.llm is not None:
                    continue
                reports[quality_kind] = quality_value
        else:
            reports[kind] = data
    return reports


def run_check(args: argparse.Namespace) -> int:
    try:
        out = _check_out(args.out)
        policy = _load_policy(args, args.group)
        reports = _read_local_reports(args)
        verification, problem = _verify_locally(args, policy)
    except (UsageError, PolicyError) as exc:
        return _error(str(exc))
    decision = evaluate(
        policy,
        reports,
        args.model_package_arn,
        kind=args.model_kind,
        verification=verification,
        verification_error=problem,
    )
    if out is not None:  # always: --out is required
        write_checks(decision, out)
    return _emit(decision, args)


# ------------------------------------------------------------------------ evaluate / approve


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-package-arn", required=True, help="the package to evaluate")
    parser.add_argument("--policy", required=True, help="policy YAML file")
    parser.add_argument(
        "--allowed-bucket",
        action="append",
        default=None,
        metavar="BUCKET",
        help="bucket reports may come from (repeat; 'prefix-*' allowed; default "
        f"${ALLOWED_BUCKETS_ENV}, comma-separated; none: every report fails)",
    )
    parser.add_argument("--overrides", default=None, help="overrides directory (<group>.yaml)")
    parser.add_argument("--out", default=None, help="also write checks.json here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _allowed_buckets(args: argparse.Namespace) -> list[str]:
    if args.allowed_bucket:
        raw = [b for entry in args.allowed_bucket for b in entry.split(",")]
    else:
        raw = os.environ.get(ALLOWED_BUCKETS_ENV, "").split(",")
    buckets = [b.strip() for b in raw if b.strip()]
    for bucket in buckets:
        if bucket.startswith("s3://") or "/" in bucket:
            raise UsageError(
                "--allowed-bucket", f"{bucket!r} is not a bucket name", "Pass names, not URIs"
            )
    return buckets


def _region(arn: str) -> str:

    if not MODEL_PACKAGE_ARN.match(arn):
        raise UsageError(
            "--model-package-arn",
            f"{arn[:200]!r} is not a model package ARN",
            "Pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
        )
    return arn.split(":")[3]


def _clients(region: str) -> tuple[Any, Any]:
    import boto3

    return boto3.client("sagemaker", region_name=region), boto3.client("s3", region_name=region)


_aws_error = aws_error


def _evaluate_registry(args: argparse.Namespace) -> tuple[Decision, Any] | int:

    try:
        region = _region(args.model_package_arn)
        buckets = _allowed_buckets(args)
        out = _check_out(args.out)
        _load_policy(args, None)  # an invalid policy stops before any AWS call
    except (UsageError, PolicyError) as exc:
        return _error(str(exc))
    sm, s3 = _clients(region)
    try:
        fetched = fetch_reports(sm, s3, args.model_package_arn, buckets)
    except Exception as exc:  # noqa: BLE001 - one line, nothing decided
        return _aws_error(exc, "describe_model_package")
    try:
        policy = _load_policy(args, fetched.model_package_group)
    except (UsageError, PolicyError) as exc:
        return _error(str(exc))
    decision = evaluate(policy, fetched, args.model_package_arn)
    if out is not None:
        write_checks(decision, out)
    return decision, sm


def run_evaluate(args: argparse.Namespace) -> int:
    result = _evaluate_registry(args)
    if isinstance(result, int):
        return result
    decision, _sm = result
    return _emit(decision, args)


def run_approve(args: argparse.Namespace) -> int:

    result = _evaluate_registry(args)
    if isinstance(result, int):
        return result
    decision, sm = result
    try:
        update = apply_decision(sm, decision)
    except Exception as exc:  # noqa: BLE001
        return _aws_error(exc, "update_model_package")
    return _emit(decision, args, {"update": update.to_json()})
