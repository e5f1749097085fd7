"""`clearance report | audit | reevaluate`: the evidence subcommands.

`register(subparsers)` adds them to the `clearance` parser (cli.py calls it); `main()` runs them on
their own (`python -m clearance.cli.evidence ...`). Every handler returns an exit code from
:mod:`clearance.contract.exitcodes`: 0 done, 2 bad input (one `ERROR: <field>: <problem>. <fix>`
line, nothing written), 3 an AWS call failed.
People read tables on stdout; machines pass `--json`; progress goes to stderr so stdout stays
parseable."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clearance.cli.common import aws_error, register_subcommands, usage_error
from clearance.cli.meter import Progress
from clearance.contract import args as contract_args
from clearance.contract import exitcodes
from clearance.evidence.audit import audit_group, reevaluate_group
from clearance.evidence.checks_view import load_checks_file
from clearance.evidence.common import EvidenceError
from clearance.evidence.parse import (
    ENDPOINT,
    load_reports_dir,
    parse_reports,
    read_endpoint_report,
)
from clearance.evidence.report_html import write_report
from clearance.policy import PolicyError, load_policy, resolve_policy

Handler = Callable[[argparse.Namespace], int]
ALLOWED_BUCKETS_ENV = "CLEARANCE_ALLOWED_BUCKETS"


_error = usage_error
_aws_error = aws_error


def _clients() -> tuple[Any, Any]:
    import boto3

    # boto3 honours AWS_ENDPOINT_URL itself, so the local stand-in needs no flag here.
    return boto3.client("sagemaker"), boto3.client("s3")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _require_group(sm: Any, group: str) -> int | None:
    from botocore.exceptions import ClientError

    try:
        sm.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return _error(
                "--model-package-group",
                f"no model package group named {group!r}",
                "pass an existing group (aws sagemaker list-model-package-groups)",
            )
        raise
    return None


# --------------------------------------------------------------------------------------------------
# report


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checks", required=True, help="checks.json of one decision")
    parser.add_argument(
        "--reports-dir",
        help="folder with the reports the decision used (a `make local` reports/ folder, or "
        "<kind>.json files); adds SHAP and bias charts",
    )
    parser.add_argument(
        "--endpoint-report",
        help="the staging endpoint checks' report (`clearance endpoint-check` JSON); "
        "default: endpoint.json in --reports-dir, else the one checks.json carries",
    )
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def run_report(args: argparse.Namespace) -> int:

    started = time.perf_counter()
    out = Path(args.out)
    if out.exists() and out.is_dir():
        return _error("--out", f"{out} is a directory", "pass a file name ending in .html")
    try:
        checks = load_checks_file(args.checks)
        reports: dict[str, Any] = {}
        sources: dict[str, str] = {}
        if args.reports_dir:
            reports, sources = load_reports_dir(args.reports_dir)
        if args.endpoint_report:
            reports[ENDPOINT] = read_endpoint_report(args.endpoint_report)
            sources[ENDPOINT] = str(args.endpoint_report)
        evidence = None
        if reports:
            evidence = parse_reports(reports)
            evidence.add_sources(sources)
            if args.endpoint_report and evidence.endpoint is None:
                raise EvidenceError(
                    "--endpoint-report",
                    evidence.endpoint_problem or "not an endpoint report",
                    "pass the JSON `clearance endpoint-check` wrote",
                )
    except EvidenceError as exc:
        return _error(exc.field, exc.problem, exc.fix)
    write_report(out, checks, evidence)
    summary = {
        "html": str(out),
        "decision": checks.decision,
        "checks": len(checks.checks),
        "failed_checks": [c.id for c in checks.failed],
        "seconds": round(time.perf_counter() - started, 4),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{checks.decision}: wrote {out} "
            f"({len(checks.checks)} checks, {len(checks.failed)} failed)"
        )
    return exitcodes.OK


# --------------------------------------------------------------------------------------------------
# audit


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-package-group", required=True, help="model package group name")
    parser.add_argument("--json", action="store_true", help="print JSON (a list of packages)")
    parser.add_argument(
        "--governance-bucket",
        default=None,
        help="reconcile every decision against the approval's checks.json held in this bucket "
        "(not the registry metadata); a finding exits 1",
    )
    parser.add_argument(
        "--checks-prefix",
        default="clearance-approval/",
        help="where the approval pipeline writes its outputs (default: clearance-approval/)",
    )


def run_audit(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sm, s3 = _clients()
        missing = _require_group(sm, args.model_package_group)
        if missing is not None:
            return missing
        rows = audit_group(sm, args.model_package_group, Progress("describing"))
        reconciled = None
        if args.governance_bucket:
            from clearance.evidence.reconcile import find_checks, reconcile

            held, problems = find_checks(s3, args.governance_bucket, args.checks_prefix)
            reconciled = reconcile(rows, held)
            for problem in problems:
                print(f"warning: {problem}", file=sys.stderr)
    except (ClientError, BotoCoreError) as exc:
        return _aws_error(exc)
    if reconciled is not None:
        return _print_reconciled(reconciled, args.json)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return exitcodes.OK
    if not rows:
        print(f"{args.model_package_group}: no model packages")
        return exitcodes.OK
    print(
        _table(
            ["version", "status", "decided by", "decided at", "policy", "failed checks"],
            [
                [
                    r.version if r.version is not None else "-",
                    r.status,
                    r.decided_by or "-",
                    r.decided_at or "-",
                    f"{r.policy_id} v{r.policy_version}" if r.policy_id else "-",
                    " ".join(
                        r.failed_checks
                        + ([f"+{r.failed_not_listed}"] if r.failed_not_listed else [])
                    )
                    or "-",
                ]
                for r in rows
            ],
        )
    )
    return exitcodes.OK


def _print_reconciled(reconciled: list[tuple[Any, str, str | None]], as_json: bool) -> int:
    findings = sum(1 for _, verdict, _ in reconciled if verdict.startswith("FINDING"))
    if as_json:
        doc = [
            {**r.to_json(), "reconciled": verdict, "governance_checks": uri}
            for r, verdict, uri in reconciled
        ]
        print(json.dumps(doc, indent=2))
    else:
        print(
            _table(
                ["version", "status", "decided by", "governance checks.json"],
                [
                    [r.version if r.version is not None else "-", r.status, r.decided_by or "-", v]
                    for r, v, _ in reconciled
                ],
            )
        )
    return exitcodes.REJECTED if findings else exitcodes.OK


# --------------------------------------------------------------------------------------------------
# reevaluate


def add_reevaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-package-group", required=True, help="model package group name")
    parser.add_argument("--policy", required=True, help="policy YAML to evaluate with")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only show which decisions the policy would flip; change nothing",
    )
    parser.add_argument(
        "--allowed-buckets",
        "--allowed-bucket",
        dest="allowed_buckets",
        action="append",
        default=None,
        help="comma-separated buckets (or *-patterns) reports may be read from, as the approval's "
        f"Evaluate step takes them; repeatable; default: ${ALLOWED_BUCKETS_ENV}",
    )
    parser.add_argument(
        "--overrides-dir",
        help="per-group overrides (<group>.yaml); default: overrides/ beside the policy if "
        "present, else the policy's own `overrides:`",
    )
    parser.add_argument(
        "--out-dir",
        default="build/reevaluate",
        help="where checks.json, model card reports (HTML) of newly decided packages go",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (a list of packages)")


def run_reevaluate(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    raw = args.allowed_buckets or [os.environ.get(ALLOWED_BUCKETS_ENV, "")]
    buckets = [b.strip() for item in raw for b in item.split(",") if b.strip()]
    if not buckets:
        return _error(
            "--allowed-buckets",
            "no bucket is allowed, so every report would fail",
            f"pass --allowed-buckets NAME (the governance bucket) or set {ALLOWED_BUCKETS_ENV}",
        )

    policy_path = Path(args.policy)
    overrides = Path(args.overrides_dir) if args.overrides_dir else None
    if overrides is None and (policy_path.parent / "overrides").is_dir():
        overrides = policy_path.parent / "overrides"  # as the approval's Evaluate step does
    if overrides is not None and not overrides.is_dir():
        return _error("--overrides-dir", f"{overrides} is not a directory", "pass a folder")
    try:
        # The group's effective policy: the same resolution the approval pipeline applies.
        policy = resolve_policy(load_policy(policy_path), overrides, args.model_package_group)
    except PolicyError as exc:  # the policy's own field, as `clearance check` names it
        return _error(f"{exc.rule}.{exc.field}", exc.problem, exc.fix)
    except OSError as exc:
        return _error(
            "--policy", f"cannot read {args.policy}: {exc.strerror or exc}", "pass a policy YAML"
        )
    try:
        sm, s3 = _clients()
        missing = _require_group(sm, args.model_package_group)
        if missing is not None:
            return missing
        rows = reevaluate_group(
            sm,
            s3,
            args.model_package_group,
            policy,
            allowed_buckets=buckets,
            dry_run=args.dry_run,
            out_dir=None if args.dry_run else args.out_dir,
            progress=Progress("evaluating"),
        )
    except (ClientError, BotoCoreError) as exc:
        return _aws_error(exc)
    except EvidenceError as exc:
        return _error(exc.field, exc.problem, exc.fix)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return exitcodes.OK
    flips = sum(r.flips for r in rows)
    print(
        _table(
            ["version", "status", "new policy", "flips", "failed checks", "action"],
            [
                [
                    r.version if r.version is not None else "-",
                    r.status,
                    r.new_decision,
                    "FLIP" if r.flips else "-",
                    ",".join(r.failed_checks) or "-",
                    r.action,
                ]
                for r in rows
            ],
        )
    )
    decided = sum(r.action == "decided" for r in rows)
    tail = (
        " (dry run: nothing changed)" if args.dry_run else f"; {decided} pending package(s) decided"
    )
    print(f"{len(rows)} package(s), {flips} recorded decision(s) would flip{tail}")
    return exitcodes.OK


# --------------------------------------------------------------------------------------------------
# wiring

SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "report": (
        "render one decision as a self-contained HTML page",
        add_report_arguments,
        run_report,
    ),
    "audit": (
        "list every package of a group with its decision trail",
        add_audit_arguments,
        run_audit,
    ),
    "reevaluate": (
        "show what a policy would change; decide pending packages",
        add_reevaluate_arguments,
        run_reevaluate,
    ),
}


def register(subparsers: Any) -> None:
    """Add report/audit/reevaluate to argparse subparsers; each sets `func` (args -> int)."""
    register_subcommands(subparsers, SUBCOMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = contract_args.ArgumentParser(prog="clearance", description=__doc__.splitlines()[0])
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else exitcodes.USAGE
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
