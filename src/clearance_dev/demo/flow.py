"""The demo's flow: parse arguments, then call each stage in order.

A new stage is a module of this package plus one call in :func:`run`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clearance.contract.status import APPROVED, REJECTED
from clearance.pipeline.bundle import build_code_bundle
from clearance.pipeline.definition import CODE_BUNDLE_NAME
from clearance.pipeline.steps import ArgumentParser
from clearance_dev.demo import deploy as deploy_stage
from clearance_dev.demo import llm as llm_demo
from clearance_dev.demo.bake import bake, template_answers
from clearance_dev.demo.build import _tail, run_builds
from clearance_dev.demo.common import (
    APPROVAL_ROLE,
    BIASED_BIAS,
    DEFAULT_OUT,
    FAIR_BIAS,
    GOVERNANCE_BUCKET,
    PIPELINE_NAME,
    REPO_ROOT,
    Build,
    DemoError,
)
from clearance_dev.demo.definition import finish_definition_render, start_definition_render
from clearance_dev.demo.events import (
    deliver_event,
    emit_state_change,
    receive_events,
    route_pending_events,
)
from clearance_dev.demo.register import (
    _team_bucket,
    default_policy_path,
    register,
    secure_bucket,
    upload_file,
)
from clearance_dev.demo.runner import LocalPipelineRunner, pending_executions
from clearance_dev.progress import Progress
from clearance_dev.standin import LocalAWS
from clearance_dev.standin_shims import deploy_shims


def run_llm(argv: Sequence[str]) -> int:
    """``make demo-llm``: delegated to ``clearance_dev.demo.llm.main(argv) -> int``."""
    return int(llm_demo.main(list(argv)))


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:

    parser = ArgumentParser(
        prog="python -m clearance_dev.demo",
        description="End-to-end clearance demo on a local AWS stand-in (no AWS account).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--template", type=Path, default=REPO_ROOT, help="cookiecutter template")
    parser.add_argument(
        "--baked", type=Path, default=None, help="reuse this baked team repo (skips the bake)"
    )
    parser.add_argument("--biased-bias", type=float, default=BIASED_BIAS)
    parser.add_argument("--policy", type=Path, default=None, help="default: the packaged policy")
    parser.add_argument("--json", action="store_true", help="print the decisions as JSON")
    parser.add_argument("--llm", action="store_true", help="the LLM variant (make demo-llm)")
    return parser.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if "--llm" in raw:
        # The LLM flow has its own parser (--out, --baked, --policy, --json mean the same there);
        # hand it every argument but the switch rather than what the tabular parser left over.
        return run_llm([arg for arg in raw if arg != "--llm"])
    args, rest = parse_args(raw)
    if rest:
        print(f"ERROR: arguments: unrecognised {' '.join(rest)}. See --help", file=sys.stderr)
        return 2
    if not 0.0 <= args.biased_bias <= 1.0:
        print("ERROR: --biased-bias: must be within [0, 1]. Try 0.5", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args)
    except DemoError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def run(args: argparse.Namespace, on_decision: Callable[[dict], None] | None = None) -> dict:

    out: Path = args.out.resolve()
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    progress = Progress(total=9)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("decisions.json", "deploy.json", "fair", "biased"):
        path = out / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    policy_path = (args.policy or default_policy_path()).resolve()
    builds = [
        Build("fair", FAIR_BIAS, out / "builds" / "fair", out / "logs" / "build-fair.log"),
        Build(
            "biased", args.biased_bias, out / "builds" / "biased", out / "logs" / "build-biased.log"
        ),
    ]

    template = args.template.resolve()
    context = template_answers(template)
    with progress.step("Baking the default team project (cookiecutter)"):
        if args.baked is not None:
            baked = args.baked.resolve()
            if not (baked / "Makefile").is_file():
                raise DemoError(f"--baked: {baked} has no Makefile. Pass a baked team repo")
            progress.note(f"reusing {baked} (--baked)")
        else:
            baked = bake(template, out / "bake")
            progress.note(f"{baked}")

    account = "123456789012"  # moto's default account
    render_kwargs = {
        "region": region,
        "role": APPROVAL_ROLE.format(account=account),
        "default_bucket": GOVERNANCE_BUCKET,
        "pipeline_name": PIPELINE_NAME,
        "allowed_buckets": [GOVERNANCE_BUCKET, _team_bucket(context)],
    }
    # Rendering needs the SageMaker SDK (seconds to import): start now, collect after the builds.
    render_target, render_proc = start_definition_render(out / "cache", **render_kwargs)
    try:
        with progress.step(
            f"Building twice with `make local` (BIAS={FAIR_BIAS} and BIAS={args.biased_bias})"
        ):
            run_builds(baked, builds, sys.executable)
            for b in builds:
                progress.note(f"{b.label}: {b.reports_dir}")
        with progress.step("Approval pipeline definition (SageMaker SDK v3, rendered offline)"):
            definition_text = finish_definition_render(render_target, render_proc)
            definition = json.loads(definition_text)
            progress.note(f"steps: {', '.join(s['Name'] for s in definition['Steps'])}")
    finally:
        if render_proc is not None and render_proc.poll() is None:
            render_proc.kill()
            render_proc.wait()

    # deploy_shims: what moto lacks for the deploy stage (LastModifiedBy.IamIdentity of the caller,
    # tags on model packages, UpdateEndpoint); the server runs in this process, so the approval
    # steps' subprocess calls are recorded too.
    with LocalAWS(region=region) as aws, deploy_shims():
        sm, s3 = aws.client("sagemaker"), aws.client("s3")
        team_bucket = _team_bucket(context)
        with progress.step(f"Local AWS stand-in on {aws.endpoint_url}: buckets, policy, pipeline"):
            for bucket in (GOVERNANCE_BUCKET, team_bucket):
                secure_bucket(s3, bucket, region)
            # Versioned, as the governance product's bucket: the deploy gate pins checks.json.
            s3.put_bucket_versioning(
                Bucket=GOVERNANCE_BUCKET, VersioningConfiguration={"Status": "Enabled"}
            )
            bundle = build_code_bundle(out / "cache" / CODE_BUNDLE_NAME)
            upload_file(s3, bundle, GOVERNANCE_BUCKET, f"{PIPELINE_NAME}/code/{CODE_BUNDLE_NAME}")
            upload_file(s3, policy_path, GOVERNANCE_BUCKET, f"{PIPELINE_NAME}/policy/policy.yaml")
            sm.create_pipeline(
                PipelineName=PIPELINE_NAME,
                PipelineDefinition=definition_text,
                RoleArn=render_kwargs["role"],
                PipelineDescription="Clearance: policy-as-code approval of model packages",
            )
            sm.create_model_package_group(
                ModelPackageGroupName=context["model_package_group_name"],
                ModelPackageGroupDescription=str(context.get("description", ""))[:1000],
            )
            progress.note(f"governance bucket s3://{GOVERNANCE_BUCKET}, team s3://{team_bucket}")
            progress.note(f"policy {policy_path.name}; group {context['model_package_group_name']}")

        with progress.step("Registering both versions as PendingManualApproval"):
            for b in builds:
                b.package_arn = register(sm, s3, b, context, team_bucket, region)
                progress.note(f"{b.label}: {b.package_arn}")

        with progress.step("EventBridge rule -> start-approval handler -> pipeline executions"):
            events, sqs = aws.client("events"), aws.client("sqs")
            queue_url = route_pending_events(events, sqs)
            for b in builds:
                described = sm.describe_model_package(ModelPackageName=b.package_arn)
                emit_state_change(events, described)
            delivered = receive_events(sqs, queue_url, expected=len(builds))
            by_package = {b.package_arn: b for b in builds}
            for event in delivered:
                b = by_package[event["detail"]["ModelPackageArn"]]
                (out / b.label).mkdir(parents=True, exist_ok=True)
                (out / b.label / "event.json").write_text(
                    json.dumps(event, indent=2) + "\n", encoding="utf-8"
                )
                outcome = deliver_event(event, sm, PIPELINE_NAME)
                progress.note(f"{b.label}: {_short(outcome)}")

        with progress.step("Running the approval pipeline's Evaluate and Update steps locally"):
            by_arn = {b.package_arn: b for b in builds}
            started = pending_executions(sm, PIPELINE_NAME, set())
            if len(started) != len(builds):
                raise DemoError(
                    f"start-approval: expected {len(builds)} pipeline executions, "
                    f"found {len(started)}"
                )
            # The steps run as the approval role (a session of it), as in SageMaker: the registry
            # then records that role as the package's LastModifiedBy, which the deploy gate reads.
            env = {
                **os.environ,
                "AWS_ENDPOINT_URL": aws.endpoint_url,
                **deploy_stage.session_env(aws.client("sts"), render_kwargs["role"], "SageMaker"),
            }

            def execute(item: tuple[str, dict]) -> tuple[Build, LocalPipelineRunner, bool]:
                arn, params = item
                build = by_arn.get(params.get("ModelPackageArn"))
                if build is None:
                    raise DemoError(f"execution {arn} is for an unknown package {params}")
                build.execution_arn = arn
                runner = LocalPipelineRunner(
                    definition, s3, out / build.label, PIPELINE_NAME, arn, params, env=env
                )
                return build, runner, runner.run()

            with concurrent.futures.ThreadPoolExecutor(max_workers=len(started)) as pool:
                results = list(pool.map(execute, started))
            for build, runner, ok in results:
                build.steps = dict(runner.exit_codes)
                checks = runner.local("/opt/ml/processing/checks/checks.json")
                if checks.is_file():
                    shutil.copyfile(checks, out / build.label / "checks.json")
                codes = ", ".join(f"{k} exit {v}" for k, v in runner.exit_codes.items())
                progress.note(f"{build.label}: {codes} (logs in {out / build.label / 'logs'})")
                if not ok:
                    failed = next(k for k, v in runner.exit_codes.items() if v != 0)
                    log = out / build.label / "logs" / f"{failed}.log"
                    raise DemoError(
                        f"approval step {failed} failed for {build.label}: {_tail(log)}"
                    )

        with progress.step("Reading the decisions back from the model registry"):
            decisions = [_decision(sm, b, out) for b in builds]
            for d in decisions:
                if on_decision is not None:
                    on_decision(d)

        with progress.step(
            "Deploy: gate, staging on a local endpoint, endpoint checks, production"
        ):
            deployed = deploy_stage.run_in_demo(
                aws, builds, baked, context, policy_path, render_kwargs["role"], progress.note, out
            )

    (out / "decisions.json").write_text(json.dumps(decisions, indent=2) + "\n", encoding="utf-8")
    (out / "deploy.json").write_text(json.dumps(deployed, indent=2) + "\n", encoding="utf-8")
    ok = [d["status"] for d in decisions] == [APPROVED, REJECTED] and deploy_stage.as_expected(
        deployed
    )
    _print_summary(decisions, out, progress, ok)
    deploy_stage.print_summary(deployed, out / "deploy.json")
    return {
        "ok": ok,
        "decisions": decisions,
        "deploy": deployed,
        "elapsed_s": round(progress.elapsed, 1),
    }


def _short(outcome: Any) -> str:
    if hasattr(outcome, "to_json"):
        outcome = outcome.to_json()
    if isinstance(outcome, dict):
        outcome = {k: v for k, v in outcome.items() if k in ("action", "execution_arn")}
        return ", ".join(f"{k}={v}" for k, v in outcome.items())
    return str(outcome)


def _decision(sm: Any, build: Build, out: Path) -> dict[str, Any]:
    described = sm.describe_model_package(ModelPackageName=build.package_arn)
    metadata = described.get("CustomerMetadataProperties") or {}
    checks_path = out / build.label / "checks.json"
    failed: list[dict[str, Any]] = []
    if checks_path.is_file():
        doc = json.loads(checks_path.read_text(encoding="utf-8"))
        failed = [
            {"id": c["id"], "values": c["values"], "bounds": c["bounds"], "reason": c["reason"]}
            for c in doc.get("checks", [])
            if not c.get("passed")
        ]
    evidence_dir = out / build.label / "evidence"
    evidence = sorted(str(p) for p in evidence_dir.rglob("*") if p.is_file())
    cards = []
    # The evidence hook names each HTML report after the package's model card.
    for html in sorted(evidence_dir.glob("*.html")):
        try:
            card = sm.describe_model_card(ModelCardName=html.stem)
        except Exception:  # noqa: BLE001 - a report without a card is shown without one
            continue
        cards.append(
            {
                "name": card["ModelCardName"],
                "arn": card.get("ModelCardArn"),
                "status": card.get("ModelCardStatus"),
                "version": card.get("ModelCardVersion"),
            }
        )
    return {
        "label": build.label,
        "bias": build.bias,
        "model_package_arn": build.package_arn,
        "version": described.get("ModelPackageVersion"),
        "status": described.get("ModelApprovalStatus"),
        "approval_description": described.get("ApprovalDescription"),
        "clearance_metadata": {k: v for k, v in metadata.items() if k.startswith("clearance:")},
        "failed_checks": failed,
        "checks_path": str(checks_path),
        "pipeline_execution_arn": build.execution_arn,
        "evidence": evidence,
        "model_cards": cards,
    }


def _print_summary(decisions: list[dict], out: Path, progress: Progress, ok: bool) -> None:
    stream = sys.stderr
    print("", file=stream)
    for d in decisions:
        print(
            f"  {d['label']:<7} v{d['version']}  BIAS={d['bias']:<4}  {d['status']}",
            file=stream,
        )
        for check in d["failed_checks"]:
            print(f"      failed {check['id']}: {check['reason']}", file=stream)
        for card in d["model_cards"]:
            print(
                f"      model card {card['name']} v{card['version']} ({card['status']})",
                file=stream,
            )
        for path in d["evidence"]:
            print(f"      report: {path}", file=stream)
    print(f"\n  decisions: {out / 'decisions.json'}", file=stream)
    print(f"  finished in {progress.elapsed:.1f} s", file=stream)
    if not ok:
        got = ", ".join(f"{d['label']}={d['status']}" for d in decisions)
        print(f"ERROR: decisions: expected fair=Approved, biased=Rejected, got {got}", file=stream)
