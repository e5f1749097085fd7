"""``clearance``: check reports against a policy, locally or against the model registry.

    clearance check --policy P [--bias-pre F] [--bias-post F] [--explainability F] [--quality F]
                    [--llm F] --out checks.json [--json]
    clearance evaluate --model-package-arn ARN --policy P [--allowed-bucket B ...] [--out F]
    clearance approve  --model-package-arn ARN --policy P [--allowed-bucket B ...] [--out F]

Exit codes: 0 Approved, 1 Rejected, 2 invalid policy or arguments (one ``ERROR:`` line, nothing
written), 3 an AWS call failed (nothing decided). ``evaluate`` and ``approve`` talk to whatever
boto3 is configured for, including ``AWS_ENDPOINT_URL`` (honoured natively by botocore >= 1.31).

Subcommands come from :data:`SUBCOMMANDS` plus plugin modules listed in :data:`PLUGIN_MODULES`:
a plugin is imported when present and either defines ``register(subparsers)`` (adding parsers that
set ``func`` to a ``(args) -> int`` callable) or appends :class:`Subcommand` entries to
:data:`SUBCOMMANDS`. ``clearance.evidence_cli`` adds ``report``, ``audit`` and ``reevaluate``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from clearance.checks import Decision, evaluate, write_checks
from clearance.policy import Policy, PolicyError, load_policy, resolve_policy
from clearance.reports import MODEL_KINDS, ReportError

__all__ = ["PLUGIN_MODULES", "SUBCOMMANDS", "Subcommand", "build_parser", "main"]

LOG = logging.getLogger("clearance.cli")

EXIT_APPROVED = 0
EXIT_REJECTED = 1
EXIT_INVALID = 2
EXIT_AWS = 3
ALLOWED_BUCKETS_ENV = "CLEARANCE_ALLOWED_BUCKETS"


@dataclass(frozen=True)
class Subcommand:
    """One ``clearance <name>`` subcommand."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad input: ``str()`` is ``<field>: <problem>. <fix>``."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")


class _Parser(argparse.ArgumentParser):
    """argparse with one ``ERROR:`` line instead of usage + message (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, f"ERROR: {self.prog}: {message}. Run '{self.prog} --help'\n")


def _error(message: str) -> int:
    print(f"ERROR: {message}", file=sys.stderr)
    return EXIT_INVALID


# ------------------------------------------------------------------------------------ output


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if not isinstance(value, str) else value


def _fmt_bounds(bounds: dict[str, Any]) -> str:
    parts = []
    lo, hi, amax = bounds.get("min"), bounds.get("max"), bounds.get("abs_max")
    if lo is not None and hi is not None:
        parts.append(f"{lo:g}..{hi:g}")
    elif lo is not None:
        parts.append(f">= {lo:g}")
    elif hi is not None:
        parts.append(f"<= {hi:g}")
    if amax is not None:
        parts.append(f"|v| <= {amax:g}")
    return ", ".join(parts)


def render_table(decision: Decision, reason_width: int | None = None) -> str:
    """The human view: one row per check, then the verdict."""
    headers = ("CHECK", "RESULT", "VALUES", "BOUNDS", "REASON")
    rows = []
    for check in decision.checks:
        values = ", ".join(_fmt_value(v) for v in check.values[:4]) or "-"
        if len(check.values) > 4:
            values += f" (+{len(check.values) - 4})"
        reason = check.reason
        if reason_width is not None and len(reason) > reason_width:
            reason = reason[: reason_width - 3] + "..."
        rows.append(
            (
                check.id,
                "pass" if check.passed else "FAIL",
                values,
                _fmt_bounds(dict(check.bounds)),
                reason,
            )
        )
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    failed = len(decision.failed_checks)
    policy = decision.policy
    summary = (
        f"{decision.decision}: {len(decision.checks) - failed} of {len(decision.checks)} checks "
        f"passed (policy {policy.get('id')} v{policy.get('version')}, "
        f"sha256 {str(policy.get('sha256'))[:12]})"
    )
    if decision.not_applicable:
        summary += f"; not applicable to a {decision.model_kind} model: "
        summary += ", ".join(decision.not_applicable)
    return "\n".join([*lines, "", summary])


def _emit(decision: Decision, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> int:
    if getattr(args, "json", False):
        doc = decision.to_json()
        if extra:
            doc = {**doc, **extra}
        print(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(render_table(decision))
        for key, value in (extra or {}).items():
            if isinstance(value, dict) and "message" in value:
                print(f"{key}: {value['message']}")
        out = getattr(args, "out", None)
        if out:
            print(f"checks.json: {out}")
    return EXIT_APPROVED if decision.approved else EXIT_REJECTED


# ------------------------------------------------------------------------------- policy input


def _load_policy(args: argparse.Namespace, group: str | None) -> Policy:
    path = Path(args.policy)
    if not path.is_file():
        raise UsageError(
            "--policy",
            f"{path} does not exist",
            "Pass a policy YAML file (see policies/default.yaml)",
        )
    policy = load_policy(path)
    for warning in policy.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    overrides = getattr(args, "overrides", None)
    if overrides is not None and not Path(overrides).is_dir():
        raise UsageError(
            "--overrides",
            f"{overrides} is not a directory",
            "Pass the policies/overrides directory",
        )
    if overrides is None and (path.parent / "overrides").is_dir():
        overrides = path.parent / "overrides"
    if group is None:
        return policy
    if overrides is None:
        return resolve_policy(policy, None, group)
    return resolve_policy(policy, Path(overrides), group)


def _check_out(path: str | None) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.exists() and out.is_dir():
        raise UsageError("--out", f"{out} is a directory", "Pass a file path such as checks.json")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError("--out", f"{parent} is not a directory", "Pass a writable file path")
    return out


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


def _read_local_reports(args: argparse.Namespace) -> dict[str, Any]:
    from clearance.registry import quality_inputs

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
    except (UsageError, PolicyError) as exc:
        return _error(str(exc))
    decision = evaluate(policy, reports, args.model_package_arn, kind=args.model_kind)
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
    from clearance.handlers.start_approval import ARN_PATTERN

    if not ARN_PATTERN.match(arn):
        raise UsageError(
            "--model-package-arn",
            f"{arn[:200]!r} is not a model package ARN",
            "Pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
        )
    return arn.split(":")[3]


def _clients(region: str) -> tuple[Any, Any]:
    import boto3

    return boto3.client("sagemaker", region_name=region), boto3.client("s3", region_name=region)


def _aws_error(exc: Exception, what: str) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error") or {}
        detail = f"{err.get('Code', type(exc).__name__)}: {err.get('Message', '')}".rstrip(": ")
    else:
        detail = f"{type(exc).__name__}: {exc}"
    print(f"ERROR: {what}: {detail}. Check the ARN, credentials and endpoint", file=sys.stderr)
    return EXIT_AWS


def _evaluate_registry(args: argparse.Namespace) -> tuple[Decision, Any] | int:
    from clearance.registry import fetch_reports

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
    from clearance.registry import apply_decision

    result = _evaluate_registry(args)
    if isinstance(result, int):
        return result
    decision, sm = result
    try:
        update = apply_decision(sm, decision)
    except Exception as exc:  # noqa: BLE001
        return _aws_error(exc, "update_model_package")
    return _emit(decision, args, {"update": update.to_json()})


# ---------------------------------------------------------------------------------- wiring

SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "check",
        "check local report files against a policy and write checks.json",
        add_check_arguments,
        run_check,
    ),
    Subcommand(
        "evaluate",
        "evaluate a registered model package's reports (no change to the registry)",
        add_registry_arguments,
        run_evaluate,
    ),
    Subcommand(
        "approve",
        "evaluate a model package, then record Approved/Rejected in the registry",
        add_registry_arguments,
        run_approve,
    ),
]
# Optional modules that add subcommands (imported when present).
PLUGIN_MODULES: list[str] = ["clearance.evidence_cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clearance",
        description="Policy-as-code approval of SageMaker model packages.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plugins = []
    for name in PLUGIN_MODULES:
        try:
            plugins.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    seen: set[str] = set()
    for command in SUBCOMMANDS:
        if command.name in seen:
            continue
        seen.add(command.name)
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)
    for plugin in plugins:
        register = getattr(plugin, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("CLEARANCE_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
