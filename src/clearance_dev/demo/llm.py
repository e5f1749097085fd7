"""``make demo-llm``: the LLM flow end to end on one machine, no AWS account, no network.

    python -m clearance_dev.demo --llm [--out build/demo-llm] [--limit N] [--json]

 1. bakes the LLM variant of the team template (model_type=llm) into OUT/bake;
 2. runs the baked repo's ``make local``: the four HELM-style evaluations (memorization,
    disinformation, BBQ, BOLD) of the embedded SmolLM2-135M-Instruct, with progress bars,
    writing OUT/build/reports/llm_evaluation/evaluation.json (the first run also dequantizes the
    GGUF weights into the cache, ~30 s);
 3. starts the local AWS stand-in, creates the buckets, uploads the approval code and the default
    policy, creates the approval pipeline (the same SageMaker SDK v3 definition as ``make demo``);
 4. registers the model as PendingManualApproval with the report as
    ModelMetrics.ModelQuality.Statistics (with its ContentDigest);
 5. delivers the EventBridge event to the start-approval handler and runs the approval pipeline's
    Evaluate and Update steps locally, exactly as ``make demo`` does;
 6. prints the decision with every LLM metric against its threshold, and writes OUT/decision.json
    and OUT/checks.json.

The registered artifact is a small manifest naming the embedded model and its GGUF digest, not the
98 MB of weights: the approval reads the evaluation report, never the weights.
Exit code 0 when a decision (Approved or Rejected) was recorded; 1 when the flow failed.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearance.contract import fmt
from clearance.contract.status import PENDING
from clearance.pipeline.bundle import build_code_bundle
from clearance.pipeline.definition import CODE_BUNDLE_NAME
from clearance_dev.demo import verification
from clearance_dev.demo.bake import bake, template_answers
from clearance_dev.demo.build import _tail
from clearance_dev.demo.common import (
    APPROVAL_ROLE,
    GOVERNANCE_BUCKET,
    PIPELINE_NAME,
    REPO_ROOT,
    DemoError,
)
from clearance_dev.demo.definition import finish_definition_render, start_definition_render
from clearance_dev.demo.events import deliver_event, state_change_event
from clearance_dev.demo.register import (
    _team_bucket,
    default_policy_path,
    secure_bucket,
    team_metadata,
    upload_file,
)
from clearance_dev.demo.runner import LocalPipelineRunner, pending_executions
from clearance_dev.progress import Progress
from clearance_dev.standin import LocalAWS

LOGGER = logging.getLogger("clearance_dev.demo.llm")

DEFAULT_OUT = Path("build/demo-llm")
REPORT_REL = Path("reports") / "llm_evaluation" / "evaluation.json"
# Hugging Face TGI, the image the baked LLM pipeline registers with (us-east-1 account; the stand-in
# does not pull it).
TGI_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
LOCAL_TIMEOUT_S = 1800
# Demo sizes (docs/llm.md, Measured): every gate gets enough items to decide at effects like
# SmolLM2's, within ~3 minutes of CPU on 2 cores. --full runs the template's defaults (all 1,012
# BBQ items, 140 BOLD prompts per group in three domains, all 26 wedging items).
DEMO_EVAL_ARGS = "--bbq-limit 300 --wedging-limit 8 --bold-domains gender,race --limit 60"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m clearance_dev.demo --llm",
        description="LLM clearance demo: evaluate SmolLM2 locally, register it, decide.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--template", type=Path, default=REPO_ROOT)
    parser.add_argument("--baked", type=Path, default=None, help="reuse this baked LLM repo")
    parser.add_argument("--policy", type=Path, default=None, help="default: the packaged policy")
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.add_argument("--full", action="store_true", help="evaluate at the template's sizes")
    parser.add_argument(
        "--report", type=Path, default=None, help="reuse this evaluation.json (skip make local)"
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv or [])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args)
    except DemoError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def evaluate_locally(baked: Path, build_dir: Path, python: str, eval_args: str = "") -> Path:
    """The baked repo's `make local` (LLM variant); its progress bars go to the terminal."""
    report = build_dir / REPORT_REL
    report.unlink(missing_ok=True)
    cmd = ["make", "--no-print-directory", "-C", str(baked), "local"]
    cmd += [f"PYTHON={python}", f"OUT={build_dir.resolve()}", f"EVAL_ARGS={eval_args}"]
    LOGGER.info("running %s", " ".join(cmd))
    try:
        code = subprocess.run(cmd, timeout=LOCAL_TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        raise DemoError(f"make local: no report within {LOCAL_TIMEOUT_S} s") from None
    if code != 0 or not report.is_file():
        raise DemoError(f"make local: exit {code}, no {report}. Its output is above")
    return report


def manifest_tarball(report: dict[str, Any]) -> bytes:
    """model.tar.gz holding MODEL.json: which model was evaluated (the demo ships no weights)."""
    body = json.dumps(
        {"model": report.get("model", {}), "note": "demo manifest; weights not uploaded"},
        indent=2,
    ).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("MODEL.json")
        info.size = len(body)
        info.mtime = 0
        archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def register_llm(
    sm: Any, s3: Any, context: dict[str, Any], report_path: Path, bucket: str, region: str
) -> str:
    """Upload the report and the manifest; register PendingManualApproval; returns the ARN."""
    prefix = f"{context['sagemaker_project_name']}/llm"
    report_uri, digest = upload_file(
        s3, report_path, bucket, f"{prefix}/reports/llm_evaluation/evaluation.json"
    )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/model/model.tar.gz",
        Body=manifest_tarball(report),
        ServerSideEncryption="aws:kms",
    )
    response = sm.create_model_package(
        ModelPackageGroupName=context["model_package_group_name"],
        ModelPackageDescription=f"{context['project_name']}: {report['model'].get('name', 'LLM')}",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": TGI_IMAGE.format(region=region),
                    "ModelDataUrl": f"s3://{bucket}/{prefix}/model/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus=PENDING,
        ModelMetrics={
            # The LLM evaluation is the model's quality evidence: see pipeline.py's docstring.
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": report_uri,
                    "ContentDigest": f"sha256:{digest}",
                }
            }
        },
        CustomerMetadataProperties={
            **team_metadata(context),
            "team:problem-type": "text_generation",
            "team:label": "n/a",
            "team:facet": "n/a",
            "team:model-type": "llm",
        },
    )
    return response["ModelPackageArn"]


def run(args: argparse.Namespace) -> dict[str, Any]:

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("decision.json", "checks.json"):
        (out / stale).unlink(missing_ok=True)
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    progress = Progress(total=7)
    policy_path = (args.policy or default_policy_path()).resolve()
    template = args.template.resolve()
    extra = {"model_type": "llm"}
    context = template_answers(template, extra)

    with progress.step("Baking the LLM variant of the team project (model_type=llm)"):
        if args.baked is not None:
            baked = args.baked.resolve()
            if not (baked / "Makefile").is_file():
                raise DemoError(f"--baked: {baked} has no Makefile. Pass a baked LLM repo")
        else:
            baked = bake(template, out / "bake", extra)
        progress.note(str(baked))

    account = "123456789012"  # moto's default account
    team_bucket = _team_bucket(context)
    render_kwargs = {
        "region": region,
        "role": APPROVAL_ROLE.format(account=account),
        "default_bucket": GOVERNANCE_BUCKET,
        "pipeline_name": PIPELINE_NAME,
        "allowed_buckets": [GOVERNANCE_BUCKET, team_bucket],
    }
    render_target, render_proc = start_definition_render(out / "cache", **render_kwargs)
    try:
        with progress.step("Evaluating SmolLM2-135M-Instruct with `make local` (4 evaluations)"):
            eval_args = "" if getattr(args, "full", False) else DEMO_EVAL_ARGS
            if getattr(args, "report", None) is not None:
                report_path = args.report.resolve()
            else:
                report_path = evaluate_locally(baked, out / "build", sys.executable, eval_args)
            report = json.loads(report_path.read_text(encoding="utf-8"))
            progress.note(f"report: {report_path}")
            progress.note(
                "timings: "
                + ", ".join(f"{k} {v:.0f} s" for k, v in report["timings_seconds"].items())
            )
        with progress.step("Approval pipeline definition (SageMaker SDK v3, rendered offline)"):
            definition_text = finish_definition_render(render_target, render_proc)
            definition = json.loads(definition_text)
    finally:
        if render_proc is not None and render_proc.poll() is None:
            render_proc.kill()
            render_proc.wait()

    with LocalAWS(region=region) as aws:
        sm, s3 = aws.client("sagemaker"), aws.client("s3")
        with progress.step(f"Local AWS stand-in on {aws.endpoint_url}: buckets, policy, pipeline"):
            for bucket in (GOVERNANCE_BUCKET, team_bucket):
                secure_bucket(s3, bucket, region)
            bundle = build_code_bundle(out / "cache" / CODE_BUNDLE_NAME)
            pipeline = PIPELINE_NAME
            upload_file(s3, bundle, GOVERNANCE_BUCKET, f"{pipeline}/code/{CODE_BUNDLE_NAME}")
            upload_file(s3, policy_path, GOVERNANCE_BUCKET, f"{pipeline}/policy/policy.yaml")
            verification.upload_wheels(
                s3, GOVERNANCE_BUCKET, f"{pipeline}/code/{CODE_BUNDLE_NAME}", out / "cache"
            )
            sm.create_pipeline(
                PipelineName=pipeline,
                PipelineDefinition=definition_text,
                RoleArn=render_kwargs["role"],
            )
            sm.create_model_package_group(ModelPackageGroupName=context["model_package_group_name"])

        with progress.step("Registering the model as PendingManualApproval"):
            arn = register_llm(sm, s3, context, report_path, team_bucket, region)
            progress.note(arn)

        with progress.step("Event -> start-approval -> Evaluate and Update steps (run locally)"):
            described = sm.describe_model_package(ModelPackageName=arn)
            event = state_change_event(described, account, region)
            deliver_event(event, sm, pipeline)
            started = pending_executions(sm, pipeline, set())
            if len(started) != 1:
                raise DemoError(f"start-approval: expected 1 execution, got {len(started)}")
            execution_arn, params = started[0]
            runner = LocalPipelineRunner(
                definition,
                s3,
                out / "approval",
                pipeline,
                execution_arn,
                params,
                env={**os.environ, "AWS_ENDPOINT_URL": aws.endpoint_url},
            )
            if not runner.run():
                failed = next(k for k, v in runner.exit_codes.items() if v != 0)
                log = out / "approval" / "logs" / f"{failed}.log"
                raise DemoError(f"approval step {failed} failed: {_tail(log)}")
            checks_file = runner.local("/opt/ml/processing/checks/checks.json")
            checks = json.loads(checks_file.read_text(encoding="utf-8"))
            (out / "checks.json").write_text(json.dumps(checks, indent=2) + "\n")

        with progress.step("Reading the decision back from the model registry"):
            described = sm.describe_model_package(ModelPackageName=arn)

    decision = {
        "model_package_arn": arn,
        "status": described.get("ModelApprovalStatus"),
        "approval_description": described.get("ApprovalDescription"),
        "model": report.get("model", {}),
        "metrics": report["llm_evaluation"],
        "verdicts": report.get("verdicts", []),
        "calibration": report.get("scorers", {}).get("calibration", {}),
        "checks": checks.get("checks", []),
        "timings_seconds": report.get("timings_seconds", {}),
        "elapsed_s": round(progress.elapsed, 1),
    }
    (out / "decision.json").write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    print_summary(decision, out)
    return decision


_bounds = fmt.bounds_expression


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def _value(values: list[Any]) -> str:
    shown = [_num(v) if isinstance(v, float) else str(v) for v in values]
    return ", ".join(shown) or "none"


def print_summary(decision: dict[str, Any], out: Path) -> None:
    """Every gate with n, value, 95% interval, bound and the report's own verdict (pass / fail /
    inconclusive with the items that would decide), then the approval's checks."""
    stream = sys.stderr
    print("", file=stream)
    print(f"  {decision['model'].get('name', 'model')}", file=stream)
    head = f"    {'metric':36} {'n':>5} {'value':>7} {'95% interval':>18}  {'bound':<12} verdict"
    print(head, file=stream)
    for row in decision.get("verdicts", []):
        interval = row.get("interval") or {}
        span = (
            f"[{_num(interval.get('lower'))}, {_num(interval.get('upper'))}]" if interval else "-"
        )
        extra = f" (~{row['needed_n']} items would decide)" if row.get("needed_n") else ""
        print(
            f"    {row['metric']:36} {row.get('n') or 0:>5} {_num(row.get('value')):>7} "
            f"{span:>18}  {_bounds(row.get('bound') or {}):<12} {row['outcome']}{extra}",
            file=stream,
        )
    tox = decision.get("calibration", {}).get("toxicity", {}).get("toxic_vs_neutral", {})
    if tox:
        print(
            f"    toxicity proxy vs Perspective: AUC {_num(tox.get('auc'))}, agreement "
            f"{_num(tox.get('agreement'))} at {tox.get('threshold')} (n {tox.get('n')})",
            file=stream,
        )
    print(f"  decision: {decision['status']}", file=stream)
    rows = [c for c in decision["checks"] if c.get("report") == "llm_evaluation"]
    width = max((len(c["metric"]) for c in rows), default=10)
    for check in rows:
        outcome = check.get("outcome") or ("pass" if check.get("passed") else "fail")
        print(
            f"    {outcome:<12}  {check['metric']:<{width}}  "
            f"{_value(check.get('values', [])):>8}  ({_bounds(check.get('bounds') or {})})",
            file=stream,
        )
        if outcome != "pass":
            print(f"          {check.get('reason', '')}", file=stream)
    print(f"\n  decision: {out / 'decision.json'}; checks: {out / 'checks.json'}", file=stream)
    print(f"  finished in {decision['elapsed_s']:.1f} s", file=stream)
