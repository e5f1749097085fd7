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

from clearance.pipeline.bundle import build_code_bundle
from clearance.pipeline.definition import CODE_BUNDLE_NAME
from clearance.pipeline.steps import ArgumentParser
from clearance_dev import accounts as two
from clearance_dev.demo import authz, central, verification
from clearance_dev.demo import deploy as deploy_stage
from clearance_dev.demo import llm as llm_demo
from clearance_dev.demo.bake import bake, template_answers
from clearance_dev.demo.build import _tail, run_builds
from clearance_dev.demo.common import (
    BIASED_BIAS,
    DEFAULT_OUT,
    FAIR_BIAS,
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
from clearance_dev.demo.register import default_policy_path, upload_file
from clearance_dev.demo.runner import LocalPipelineRunner, pending_executions
from clearance_dev.progress import Progress
from clearance_dev.requests import Recorder
from clearance_dev.standin import LocalAWS
from clearance_dev.standin_shims import deploy_shims

PIPELINE_NAME = two.APPROVAL_PIPELINE


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
    progress = Progress(total=10)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (
        "decisions.json",
        "deploy.json",
        *verification.EXPECTED,
        "calls.jsonl",
        "authz.json",
        "recorded_calls.json",
    ):
        path = out / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    policy_path = (args.policy or default_policy_path()).resolve()
    builds = verification.builds(out, FAIR_BIAS, args.biased_bias)

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

    # Two accounts (clearance_dev.accounts): the team builds and registers, the governance
    # account holds the registry group, the evidence copies, the pipeline and the decisions.
    gov_bucket = two.governance_bucket(region)
    render_kwargs = {
        "region": region,
        "role": two.role_arn("approval-role"),
        "default_bucket": gov_bucket,
        "pipeline_name": PIPELINE_NAME,
        "allowed_buckets": [gov_bucket, two.TEAM_BUCKET],
        "evidence_bucket": gov_bucket,
    }
    # Rendering needs the SageMaker SDK (seconds to import): start now, collect after the builds.
    render_target, render_proc = start_definition_render(out / "cache", **render_kwargs)
    try:
        with progress.step(
            f"Building with `make local` (BIAS={FAIR_BIAS} and {args.biased_bias}, and a "
            f"{verification.SMALL_ROWS}-row build), then forging the biased build's reports"
        ):
            run_builds(baked, builds, sys.executable)
            builds.append(verification.forge(builds[0], builds[1], out))
            for b in builds:
                progress.note(f"{b.label}: {b.reports_dir} ({b.rows} rows)")
        with progress.step("Approval pipeline definition (SageMaker SDK v3, rendered offline)"):
            definition_text = finish_definition_render(render_target, render_proc)
            definition = json.loads(definition_text)
            progress.note(f"steps: {', '.join(s['Name'] for s in definition['Steps'])}")
    finally:
        if render_proc is not None and render_proc.poll() is None:
            render_proc.kill()
            render_proc.wait()

    calls_path = out / "calls.jsonl"
    # deploy_shims: what moto lacks for the deploy stage (LastModifiedBy.IamIdentity of the
    # caller, tags on model packages, UpdateEndpoint); the server runs in this process.
    with LocalAWS(region=region) as aws, deploy_shims():
        accounts = two.TwoAccounts(region, aws.endpoint_url, Recorder(calls_path))
        gov = two.GOVERNANCE_ACCOUNT
        sm, s3 = accounts.setup_client(gov, "sagemaker"), accounts.setup_client(gov, "s3")
        with progress.step(
            f"Local AWS stand-in on {aws.endpoint_url}: team {two.TEAM_ACCOUNT}, governance {gov}"
        ):
            group_arn = central.prepare(accounts, region, gov_bucket)
            bundle = build_code_bundle(out / "cache" / CODE_BUNDLE_NAME)
            upload_file(s3, bundle, gov_bucket, f"{PIPELINE_NAME}/code/{CODE_BUNDLE_NAME}")
            upload_file(s3, policy_path, gov_bucket, f"{PIPELINE_NAME}/policy/policy.yaml")
            code_key = f"{PIPELINE_NAME}/code/{CODE_BUNDLE_NAME}"
            wheel_note = verification.upload_wheels(s3, gov_bucket, code_key, out / "cache")
            sm.create_pipeline(
                PipelineName=PIPELINE_NAME,
                PipelineDefinition=definition_text,
                RoleArn=render_kwargs["role"],
                PipelineDescription="Clearance: policy-as-code approval of model packages",
            )
            progress.note(f"central registry group {group_arn}")
            progress.note(f"governance bucket s3://{gov_bucket} (versioned, Object Lock)")
            progress.note(f"team bucket s3://{two.TEAM_BUCKET}; policy {policy_path.name}")
            progress.note(f"Verify wheel {wheel_note}")

        with progress.step(
            f"Team registers {len(builds)} versions (cross-account, PendingManualApproval)"
        ):
            sequence = [0]
            for b in builds:
                b.package_arn, uploads = central.register(
                    accounts, b, context, group_arn, region, sequence
                )
                progress.note(f"{b.label}: {b.package_arn}")
                copied, counts = central.copy_evidence(accounts, uploads, gov_bucket, region)
                skipped = {k: int(v) for k, v in counts.items() if v}
                progress.note(
                    f"{b.label}: copy-artifacts copied {len(copied)} objects into the governance "
                    f"bucket by VersionId (skipped/malformed: {skipped or 'none'})"
                )

        with progress.step("EventBridge rule -> start-approval handler -> pipeline executions"):
            events, sqs = accounts.setup_client(gov, "events"), accounts.setup_client(gov, "sqs")
            starter = accounts.client("start-approval-role", "sagemaker")
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
                outcome = deliver_event(event, starter, PIPELINE_NAME, account=gov)
                progress.note(f"{b.label}: {_short(outcome)}")

        with progress.step(
            "Running the approval pipeline's steps locally (Evaluate, Verify, Update)"
        ):
            by_arn = {b.package_arn: b for b in builds}
            started = pending_executions(sm, PIPELINE_NAME, set())
            if len(started) != len(builds):
                raise DemoError(
                    f"start-approval: expected {len(builds)} pipeline executions, "
                    f"found {len(started)}"
                )
            env = {**os.environ, **accounts.environment("approval-role")}
            runner_s3 = accounts.client("approval-role", "s3")

            def execute(item: tuple[str, dict]) -> tuple[Build, LocalPipelineRunner, bool]:
                arn, params = item
                build = by_arn.get(params.get("ModelPackageArn"))
                if build is None:
                    raise DemoError(f"execution {arn} is for an unknown package {params}")
                build.execution_arn = arn
                runner = LocalPipelineRunner(
                    definition, runner_s3, out / build.label, PIPELINE_NAME, arn, params, env=env
                )
                return build, runner, runner.run()

            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(execute, started))
            for build, runner, ok in results:
                build.steps = dict(runner.exit_codes)
                # The verified checks.json (Verify's output) is what Update acted on.
                checks = runner.local("/opt/ml/processing/verified/checks.json")
                if not checks.is_file():
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

        with progress.step("Deploy: gate, staging on a local endpoint, checks, production"):
            deployed = deploy_stage.run_in_demo(
                two.TwoAccounts(region, aws.endpoint_url),
                builds,
                baked,
                policy_path,
                progress.note,
                out,
                gov_bucket,
            )

    with progress.step("Authorization matrix, permission coverage, request validity"):
        checked = authz.evaluate(calls_path, region)
        central.write_json(out / "recorded_calls.json", checked.pop("recorded_calls"))
        central.write_json(out / "authz.json", checked)
        progress.note(f"{checked['requests']} requests recorded in {calls_path}")

    (out / "decisions.json").write_text(json.dumps(decisions, indent=2) + "\n", encoding="utf-8")
    (out / "deploy.json").write_text(json.dumps(deployed, indent=2) + "\n", encoding="utf-8")
    ok_statuses = all(d["status"] == verification.EXPECTED.get(d["label"]) for d in decisions)
    _print_summary(decisions, out, progress, ok_statuses)
    authz.print_summary(checked)
    deploy_stage.print_summary(deployed, out / "deploy.json")
    deploy_ok = deploy_stage.as_expected(deployed)
    ok = ok_statuses and authz.ok(checked) and deploy_ok
    if ok_statuses and not authz.ok(checked):
        print("ERROR: authorization: see the summary above", file=sys.stderr)
    if not deploy_ok:
        print("ERROR: deploy: see the deploy summary above", file=sys.stderr)
    return {
        "ok": ok,
        "decisions": decisions,
        "authz": checked,
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
            {
                "id": c["id"],
                "values": c["values"],
                "bounds": c["bounds"],
                "reason": c["reason"],
                **{k: c[k] for k in ("outcome", "interval", "group_sizes", "needed_n") if k in c},
            }
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
            f"  {d['label']:<12} v{d['version']}  BIAS={d['bias']:<4}  {d['status']}",
            file=stream,
        )
        for line in verification.check_lines({"checks": d["failed_checks"]}):
            print(f"      {line}", file=stream)
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
        want = ", ".join(f"{k}={v}" for k, v in verification.EXPECTED.items())
        print(f"ERROR: decisions: expected {want}, got {got}", file=stream)
