"""`clearance deploy-gate` and `clearance endpoint-check`: the deploy pipeline's two commands.

`register(subparsers)` adds them to the `clearance` parser (clearance.cli calls it).

    clearance deploy-gate --model-package-arn ARN --approval-role-arn ROLE \
        --governance-bucket BUCKET --accepted-policies "id@version ..." \
        [--model-package-group NAME] [--checks-key TEMPLATE] [--json]
        [--require-staging-pass [--staging-report endpoint-checks.json]]
        [--expect-model-data-url s3://<governance copy>]

    clearance endpoint-check --endpoint-name NAME --model-package-arn ARN --payload rows.csv \
        [--policy endpoint_policy.yaml] [--stage staging] [--endpoint-url URL] \
        [--governance-bucket BUCKET] \
        [--monitoring-role-arn ROLE --monitoring-output-uri S3 [--create-schedule]] \
        [--record] [--out report.json] [--json]

Exit codes (clearance.contract.exitcodes): 0 allowed / checks passed; 1 refused / a check failed
(the REJECTED code); 2 usage error (one `ERROR:` line); 3 an AWS call failed (the gate's
AWS-caused refusals too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clearance.cli.common import register_subcommands
from clearance.contract import exitcodes
from clearance.contract.errors import error_line
from clearance.deploy import endpoint_checks, gate

OK, REFUSED, USAGE, AWS = exitcodes.OK, exitcodes.REJECTED, exitcodes.USAGE, exitcodes.AWS


def _print_error(field: str, problem: str, fix: str) -> None:
    print(error_line(field, problem, fix), file=sys.stderr)


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-package-arn", required=True, help="versioned package ARN")
    parser.add_argument("--approval-role-arn", required=True, help="the governance approval role")
    parser.add_argument("--governance-bucket", required=True, help="holds checks.json (versioned)")
    parser.add_argument(
        "--accepted-policies", required=True, help='"<id>@<version> ..." (a version may be *)'
    )
    parser.add_argument("--model-package-group", default=None, help="the team's group name")
    parser.add_argument(
        "--checks-key", default=gate.DEFAULT_CHECKS_KEY, help="{group}/{version} key template"
    )
    parser.add_argument(
        "--require-staging-pass",
        action="store_true",
        help="also require the package's staging endpoint checks to have passed (production)",
    )
    parser.add_argument(
        "--staging-report",
        type=Path,
        default=None,
        help="the TestStaging report (pipeline artifact); default: the package's tags",
    )
    parser.add_argument(
        "--expect-model-data-url",
        default=None,
        help="refuse unless the verified model copy is this URI (GateProd: the prod stack's "
        "ModelDataUrl parameter, written at Build)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _staging(sm: Any, args: argparse.Namespace) -> tuple[bool, str]:
    if args.staging_report is None:
        return endpoint_checks.staging_passed(sm, args.model_package_arn)
    try:
        doc = json.loads(args.staging_report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"the staging report {args.staging_report} cannot be read ({exc})"
    return endpoint_checks.staging_report_passed(doc, args.model_package_arn)


def run_gate(args: argparse.Namespace, clients: tuple[Any, Any] | None = None) -> int:
    try:
        config = gate.GateConfig(
            approval_role_arn=args.approval_role_arn,
            governance_bucket=args.governance_bucket,
            accepted_policies=gate.parse_accepted_policies(args.accepted_policies),
            model_package_group=args.model_package_group,
            checks_key=args.checks_key,
        )
    except ValueError as exc:
        _print_error("deploy-gate", str(exc), "Fix the argument")
        return USAGE
    sm, s3 = clients or _clients("sagemaker", "s3")
    result = gate.check_package(sm, s3, args.model_package_arn, config)
    copy = (result.facts.get("model_copy") or {}).get("s3_uri")
    if result.allowed and args.expect_model_data_url and copy != args.expect_model_data_url:
        result.refusal = gate.Refusal(
            "model-elsewhere",
            "ModelDataUrl",
            f"the stack would serve {args.expect_model_data_url[:200]}, not the verified copy "
            f"{copy}",
            "Deploy the stage parameters the Build stage wrote from the gate's result",
        )
    if result.allowed and args.require_staging_pass:
        passed, reason = _staging(sm, args)
        result.facts["staging"] = reason
        if not passed:
            result.refusal = gate.Refusal(
                "staging-not-passed",
                "clearance-endpoint:staging-outcome",
                reason,
                "Promote only a package whose staging checks passed",
            )
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    if result.refusal is not None:
        print(result.refusal.line(), file=sys.stderr)
        return AWS if result.refusal.aws_error else REFUSED
    policy = result.facts.get("policy", {})
    if not args.json:
        print(
            f"ALLOWED {args.model_package_arn}: approved by {result.facts.get('approved_by')}, "
            f"policy {policy.get('id')}@{policy.get('version')}, "
            f"checks.json sha256 {result.facts['checks']['sha256'][:12]}, "
            f"model {copy} (sha256 {result.facts['model_copy']['sha256'][:12]}, verified)"
        )
    return OK


def add_endpoint_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--payload", type=Path, required=True, help="CSV feature rows, no header")
    parser.add_argument("--policy", type=Path, default=None, help="default: endpoint_policy.yaml")
    parser.add_argument("--stage", default="staging", choices=("staging", "prod"))
    parser.add_argument(
        "--endpoint-url", default=None, help="invoke this URL (a local container), not SageMaker"
    )
    parser.add_argument(
        "--governance-bucket",
        default=os.environ.get("GOVERNANCE_BUCKET"),
        help="holds the approved copies of the data-quality baseline the schedule is built from "
        "(default: $GOVERNANCE_BUCKET; without it endpoint.monitoring fails)",
    )
    parser.add_argument("--monitoring-role-arn", default=None)
    parser.add_argument("--monitoring-output-uri", default=None)
    parser.add_argument("--monitor-image-uri", default=None)
    parser.add_argument("--create-schedule", action="store_true", help="create the schedule")
    parser.add_argument("--record", action="store_true", help="tag the package with the results")
    parser.add_argument("--out", type=Path, default=None, help="write the report JSON here")
    parser.add_argument("--json", action="store_true", help="print the report JSON")


def run_endpoint_check(
    args: argparse.Namespace,
    clients: tuple[Any, ...] | None = None,
    invoker: Callable[[bytes, str], tuple[int, bytes]] | None = None,
) -> int:
    """CLIENTS: (sagemaker, sagemaker-runtime[, s3]); without s3 the baseline cannot be pinned."""
    try:
        policy = endpoint_checks.load_policy(args.policy)
        rows = args.payload.read_text(encoding="utf-8").splitlines()
        if args.endpoint_url and invoker is None:
            invoker = endpoint_checks.http_invoker(args.endpoint_url)
    except (OSError, ValueError) as exc:
        _print_error("endpoint-check", str(exc), "Check --policy, --payload and --endpoint-url")
        return USAGE
    sm, runtime, *rest = clients or _clients("sagemaker", "sagemaker-runtime", "s3")
    s3 = rest[0] if rest else None
    try:
        described = sm.describe_endpoint(EndpointName=args.endpoint_name)
        package = sm.describe_model_package(ModelPackageName=args.model_package_arn)
    except Exception as exc:  # noqa: BLE001 - one line, exit 3
        _print_error("endpoint-check", f"AWS call failed ({exc})", "Check the names and the role")
        return AWS
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    monitoring = {
        "role_arn": args.monitoring_role_arn or "",
        "output_s3_uri": args.monitoring_output_uri or "",
        "region": region,
        "monitor_image_uri": args.monitor_image_uri,
        "governance_bucket": args.governance_bucket,
        "create": args.create_schedule,
    }
    report = endpoint_checks.run_checks(
        invoker or endpoint_checks.runtime_invoker(runtime, args.endpoint_name),
        rows,
        described,
        package,
        policy,
        stage=args.stage,
        monitoring=monitoring,
        sm=sm,
        s3=s3,
    )
    doc = report.to_json()
    if args.out:
        args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if args.record:
        # Informational: promotion reads the report artifact (--staging-report). A registry whose
        # group policy does not let the team tag packages refuses AddTags; say so, do not fail.
        try:
            endpoint_checks.record_on_package(sm, report)
        except Exception as exc:  # noqa: BLE001
            print(
                f"WARNING: endpoint-check: the results were not tagged on the package ({exc})",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for check in doc["checks"]:
            print(f"{check['outcome'].upper():<5} {check['id']:<24} {check['reason']}")
        print(f"{doc['outcome'].upper()}: {args.endpoint_name} ({args.stage})")
    return OK if report.outcome == endpoint_checks.PASS else REFUSED


def _clients(*services: str) -> tuple[Any, ...]:
    import boto3

    return tuple(boto3.client(service) for service in services)


SUBCOMMANDS = {
    "deploy-gate": (
        "refuse a deploy unless the package was Approved by the governance approval role",
        add_gate_arguments,
        run_gate,
    ),
    "endpoint-check": (
        "run the endpoint checks (smoke, latency, error rate, capture, monitoring) on an endpoint",
        add_endpoint_check_arguments,
        run_endpoint_check,
    ),
}


def register(subparsers: Any) -> None:
    """Add deploy-gate and endpoint-check to argparse subparsers; each sets `func`."""
    register_subcommands(subparsers, SUBCOMMANDS)
