"""``make bench``: how fast the clearance decides, and that it loses nothing under a burst.

    python -m clearance_dev.bench [--json] [--latency-packages 200] [--burst-packages 1000]

Prints three figures (plus peak memory):

 (a) policy evaluation throughput, in process: report sets per second for the default policy on
     realistic reports (the exact shapes and sizes ``make local`` writes: full Clarify bias metric
     lists with their null CDDL/CDDPL entries, kernel SHAP over the baked features, Model Monitor
     statistics with ROC and precision-recall curves), parsed from bytes as the Evaluate step does;
 (b) decision latency, event to status update, against the local stand-in (moto's server on
     127.0.0.1): the EventBridge event goes to the start-approval handler, the started execution's
     Evaluate and Update entry points run in process with their real argv, and the clock stops when
     update_model_package has returned; p50 and p95 over --latency-packages packages. Processing
     job start-up (minutes on real SageMaker) is not part of it: this is the code's own latency;
 (c) a burst: --burst-packages packages registered at once (half fair, half biased), every event
     delivered, every started execution run; then the registry is counted: Approved + Rejected must
     equal the burst and nothing may be left pending.

Loops are bounded (counts or a time box), traffic stays on loopback, no AWS account is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from clearance.contract.reports import TABULAR_KINDS, primary_slot
from clearance.decide.checks import evaluate
from clearance.pipeline.definition import render_definition
from clearance.pipeline.steps import ArgumentParser
from clearance.pipeline.steps import evaluate as evaluate_step
from clearance.pipeline.steps import update as update_step
from clearance.policy import DEFAULT_POLICY_PATH, load_policy
from clearance_dev.bench.llm import measure
from clearance_dev.demo.events import deliver_event, state_change_event
from clearance_dev.demo.runner import pending_executions
from clearance_dev.progress import Progress, bar
from clearance_dev.standin import LocalAWS

LOGGER = logging.getLogger("clearance_dev.bench")

GROUP = "bench-models"
BUCKET = "clearance-bench-reports"
PIPELINE_NAME = "clearance-approval"
THROUGHPUT_SECONDS = 3.0
# Metric values observed in `make local` builds of the default project (ROWS=2000, SEED=42,
# BIAS=0.0 and BIAS=0.5): the demo's fair and biased models.
PRE_TRAINING = {
    "fair": {"CI": -0.013, "DPL": -0.007, "JS": 0.0, "KL": 0.0, "KS": 0.007, "LP": 0.01,
             "TVD": 0.007},
    "biased": {"CI": -0.013, "DPL": 0.22, "JS": 0.028, "KL": 0.119, "KS": 0.22, "LP": 0.311,
               "TVD": 0.22},
}  # fmt: skip
POST_TRAINING = {
    "fair": {"AD": -0.085, "DAR": -0.167, "DCA": -0.148, "DCR": -0.077, "DI": 0.94,
             "DPPL": 0.023, "DRR": 0.037, "FT": 0.095, "RD": -0.066, "TE": 0.939},
    "biased": {"AD": -0.11, "DAR": 0.244, "DCA": -0.869, "DCR": 0.008, "DI": 0.255,
               "DPPL": 0.256, "DRR": 0.13, "FT": -0.139, "RD": 0.344, "TE": 1.226},
}  # fmt: skip
QUALITY = {
    "fair": {"accuracy": 0.72, "auc": 0.825, "f0_5": 0.681, "f1": 0.65, "f2": 0.622,
             "false_negative_rate": 0.395, "false_positive_rate": 0.193, "precision": 0.703,
             "recall": 0.605, "true_negative_rate": 0.807, "true_positive_rate": 0.605},
    "biased": {"accuracy": 0.743, "auc": 0.8, "f0_5": 0.575, "f1": 0.522, "f2": 0.477,
               "false_negative_rate": 0.548, "false_positive_rate": 0.126, "precision": 0.618,
               "recall": 0.452, "true_negative_rate": 0.874, "true_positive_rate": 0.452},
}  # fmt: skip
SHAP = {
    "fair": {"age": 0.0161, "income": 0.1208, "debt_to_income": 0.1887,
             "credit_history_years": 0.0651, "num_open_accounts": 0.0114,
             "late_payments": 0.1392, "employment_years": 0.0266, "loan_amount": 0.0641,
             "gender": 0.0058},
    "biased": {"age": 0.0168, "income": 0.0965, "debt_to_income": 0.1259,
               "credit_history_years": 0.0518, "num_open_accounts": 0.0108,
               "late_payments": 0.0946, "employment_years": 0.0342, "loan_amount": 0.0705,
               "gender": 0.0801},
}  # fmt: skip
EXPECTED = {"fair": "Approved", "biased": "Rejected"}
SLOTS = {kind: primary_slot(kind) for kind in TABULAR_KINDS}


# ------------------------------------------------------------------------------ realistic reports


def _bias_doc(section: str, metrics: Mapping[str, float], null_metric: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "name": null_metric,
            "description": f"Conditional Demographic Disparity ({null_metric})",
            "value": None,
            "error": "Group variable is empty or not provided",
        }
    ]
    entries += [{"name": k, "description": k, "value": v} for k, v in metrics.items()]
    entries.sort(key=lambda e: e["name"])
    return {
        "version": "1.0",
        section: {
            "label": "approved",
            "facets": {"gender": [{"value_or_threshold": "1", "metrics": entries}]},
            "label_value_or_threshold": "1",
        },
    }


def _quality_doc(values: Mapping[str, float]) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        name: {"value": value, "standard_deviation": 0.017} for name, value in values.items()
    }
    for name in ("accuracy", "f0_5", "f1", "f2", "precision", "recall"):
        metrics[f"{name}_best_constant_classifier"] = {"value": 0.43, "standard_deviation": 0.016}
    metrics["confusion_matrix"] = {"0": {"0": 139, "1": 31}, "1": {"0": 53, "1": 77}}
    points = 100
    metrics["receiver_operating_characteristic_curve"] = {
        "false_positive_rates": [i / points for i in range(points + 1)],
        "true_positive_rates": [min(1.0, math.sqrt(i / points)) for i in range(points + 1)],
    }
    metrics["precision_recall_curve"] = {
        "precisions": [1.0 - 0.4 * i / points for i in range(points + 1)],
        "recalls": [i / points for i in range(points + 1)],
    }
    return {
        "version": 0.0,
        "dataset": {"item_count": 300, "evaluation_time": "2026-01-01T00:00:00.000Z"},
        "binary_classification_metrics": metrics,
    }


def realistic_reports(kind: str) -> dict[str, bytes]:
    """Report bytes by kind, shaped and sized like a `make local` build ('fair' or 'biased')."""
    shap = dict(SHAP[kind])
    docs = {
        "bias_pre_training": _bias_doc("pre_training_bias_metrics", PRE_TRAINING[kind], "CDDL"),
        "bias_post_training": _bias_doc("post_training_bias_metrics", POST_TRAINING[kind], "CDDPL"),
        "explainability": {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.54}}
            },
        },
        "model_quality": _quality_doc(QUALITY[kind]),
    }
    return {k: json.dumps(v, indent=4).encode() for k, v in docs.items()}


def default_policy() -> Any:

    return load_policy(DEFAULT_POLICY_PATH)


# --------------------------------------------------------------------------- (a) throughput


def bench_throughput(seconds: float = THROUGHPUT_SECONDS) -> dict[str, Any]:
    policy = default_policy()
    sets = [realistic_reports("fair"), realistic_reports("biased")]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/bench-models/1"
    decisions = [evaluate(policy, s, arn).decision for s in sets]
    if decisions != [EXPECTED["fair"], EXPECTED["biased"]]:
        raise RuntimeError(f"default policy decided {decisions} on the fair/biased report sets")
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for reports in sets:
            evaluate(policy, reports, arn)
        count += len(sets)
    elapsed = time.perf_counter() - start
    return {
        "report_sets_per_second": round(count / elapsed, 1),
        "evaluations": count,
        "seconds": round(elapsed, 2),
        "policy_rules": len(policy.rules),
        "report_set_bytes": sum(len(b) for b in sets[0].values()),
        "decisions": dict(zip(("fair", "biased"), decisions, strict=True)),
    }


# ----------------------------------------------------------------------- stand-in scaffolding


class Registry:
    """Packages on the stand-in, their events, and the approval steps run in process."""

    def __init__(self, sm: Any, s3: Any, workdir: Path, account: str, region: str) -> None:
        self.sm = sm
        self.s3 = s3
        self.workdir = workdir
        self.account = account
        self.region = region
        self.policy_dir = workdir / "policy"
        self.metrics: dict[str, dict[str, Any]] = {}
        self.done: set[str] = set()

    def setup(self, definition: str) -> None:
        self.s3.create_bucket(Bucket=BUCKET)
        self.sm.create_model_package_group(ModelPackageGroupName=GROUP)
        self.sm.create_pipeline(
            PipelineName=PIPELINE_NAME,
            PipelineDefinition=definition,
            RoleArn=f"arn:aws:iam::{self.account}:role/clearance-approval-pipeline",
        )
        self.policy_dir.mkdir(parents=True, exist_ok=True)
        policy_src = DEFAULT_POLICY_PATH
        (self.policy_dir / "policy.yaml").write_bytes(policy_src.read_bytes())
        # One uploaded report set per kind: packages share them (as retrained versions with the
        # same numbers would); the registry round trip per package is what is measured.
        for kind in ("fair", "biased"):
            slots: dict[str, dict[str, Any]] = {}
            for report, data in realistic_reports(kind).items():
                section, key = SLOTS[report]
                object_key = f"bench/{kind}/{report}.json"
                self.s3.put_object(Bucket=BUCKET, Key=object_key, Body=data)
                slots.setdefault(section, {})[key] = {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{BUCKET}/{object_key}",
                    "ContentDigest": "sha256:" + hashlib.sha256(data).hexdigest(),
                }
            self.metrics[kind] = slots

    def register(self, kind: str) -> str:
        return self.sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelPackageDescription=f"bench {kind}",
            InferenceSpecification={
                "Containers": [
                    {"Image": f"683313688378.dkr.ecr.{self.region}.amazonaws.com/xgb:1.7-1"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            ModelMetrics=self.metrics[kind],
            CustomerMetadataProperties={"team:project": "bench"},
        )["ModelPackageArn"]

    def deliver(self, package_arn: str) -> None:

        described = self.sm.describe_model_package(ModelPackageName=package_arn)
        deliver_event(state_change_event(described, self.account, self.region), self.sm,
                      PIPELINE_NAME)  # fmt: skip

    def started(self) -> list[tuple[str, str]]:
        """(execution ARN, ModelPackageArn) of executions not run yet."""

        found = pending_executions(self.sm, PIPELINE_NAME, self.done)
        return [(arn, params["ModelPackageArn"]) for arn, params in found]

    def run_steps(self, execution_arn: str, package_arn: str) -> None:
        """Evaluate then Update in process, with the argv the pipeline definition gives them."""
        out = self.workdir / "executions" / execution_arn.rsplit("/", 1)[-1]
        # The step's own client creation (a fresh process on SageMaker) is left out: the clients
        # are reused, so the figure is the decision path itself.
        clients = (self.sm, self.s3)
        with _quiet():
            code = evaluate_step.main(
                ["--model-package-arn", package_arn, "--policy", str(self.policy_dir),
                 "--output-dir", str(out), "--allowed-buckets", BUCKET],
                clients,
            )  # fmt: skip
            if code == 0:
                code = update_step.main(["--checks", str(out / "checks.json")], clients)
        self.done.add(execution_arn)
        if code != 0:
            raise RuntimeError(f"approval steps failed (exit {code}) for {package_arn}")

    def count(self) -> dict[str, int]:
        counts = {}
        paginator = self.sm.get_paginator("list_model_packages")
        for status in ("Approved", "Rejected", "PendingManualApproval"):
            counts[status] = sum(
                len(page["ModelPackageSummaryList"])
                for page in paginator.paginate(
                    ModelPackageGroupName=GROUP, ModelApprovalStatus=status
                )
            )
        return counts


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # The entry points print one line per decision for CloudWatch; the bench prints figures.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[index]


# --------------------------------------------------------------------------- (b) latency


def bench_latency(registry: Registry, packages: int, progress: Progress) -> dict[str, Any]:
    latencies = []
    statuses: dict[str, int] = {}
    wrong = 0
    for i in range(packages):
        kind = "fair" if i % 2 == 0 else "biased"
        arn = registry.register(kind)
        start = time.perf_counter()
        registry.deliver(arn)
        started = [item for item in registry.started() if item[1] == arn]
        if len(started) != 1:
            raise RuntimeError(f"expected one execution for {arn}, found {len(started)}")
        registry.run_steps(*started[0])
        latencies.append(time.perf_counter() - start)
        status = registry.sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        statuses[status] = statuses.get(status, 0) + 1
        wrong += status != EXPECTED[kind]
        if (i + 1) % 50 == 0 or i + 1 == packages:
            progress.note(f"{bar((i + 1) / packages)} {i + 1}/{packages}")
    ms = [x * 1000 for x in latencies]
    return {
        "packages": packages,
        "p50_ms": round(_percentile(ms, 50), 1),
        "p95_ms": round(_percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "statuses": statuses,
        "unexpected_decisions": wrong,
    }


# ----------------------------------------------------------------------------- (c) burst


def bench_burst(registry: Registry, packages: int, progress: Progress) -> dict[str, Any]:
    before = registry.count()
    start = time.perf_counter()
    arns = [registry.register("fair" if i % 2 == 0 else "biased") for i in range(packages)]
    registered_s = time.perf_counter() - start
    progress.note(f"registered {len(arns)} packages in {registered_s:.1f} s")
    for arn in arns:
        registry.deliver(arn)
    started = registry.started()
    progress.note(f"{len(started)} executions started")
    ours = set(arns)
    for i, (execution_arn, package_arn) in enumerate(started):
        if package_arn in ours:
            registry.run_steps(execution_arn, package_arn)
        if (i + 1) % 200 == 0 or i + 1 == len(started):
            progress.note(f"{bar((i + 1) / len(started))} {i + 1}/{len(started)} decided")
    elapsed = time.perf_counter() - start
    after = registry.count()
    approved = after["Approved"] - before["Approved"]
    rejected = after["Rejected"] - before["Rejected"]
    pending = after["PendingManualApproval"] - before["PendingManualApproval"]
    return {
        "packages": packages,
        "executions_started": len(started),
        "approved": approved,
        "rejected": rejected,
        "decided": approved + rejected,
        "pending_left": pending,
        "lost": packages - (approved + rejected),
        "seconds": round(elapsed, 1),
        "decisions_per_second": round((approved + rejected) / elapsed, 2),
        "expected_approved": (packages + 1) // 2,
        "ok": approved == (packages + 1) // 2
        and rejected == packages // 2
        and pending == 0
        and len(started) == packages,
    }


# ------------------------------------------------------------------------------------- main


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def render_definition_text() -> str:

    return render_definition(
        region=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        role="arn:aws:iam::123456789012:role/clearance-approval-pipeline",
        default_bucket=BUCKET,
        pipeline_name=PIPELINE_NAME,
        allowed_buckets=[BUCKET],
    )


def run(args: argparse.Namespace) -> dict[str, Any]:

    progress = Progress(total=4 if args.skip_llm else 5, quiet=False)
    results: dict[str, Any] = {}
    with progress.step("(a) Policy evaluation throughput, in process"):
        results["throughput"] = bench_throughput(args.seconds)
    with progress.step("Approval pipeline definition (SDK v3, offline)"):
        # Rendered before the stand-in starts: the offline render uses moto in process, and
        # moto's state is shared by everything in this process.
        definition = render_definition_text()
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    with tempfile.TemporaryDirectory(prefix="clearance-bench-") as tmp, LocalAWS(region) as aws:
        registry = Registry(aws.client("sagemaker"), aws.client("s3"), Path(tmp), "123456789012",
                            region)  # fmt: skip
        registry.setup(definition)
        with progress.step(f"(b) Decision latency over {args.latency_packages} packages"):
            results["latency"] = bench_latency(registry, args.latency_packages, progress)
        with progress.step(f"(c) Burst of {args.burst_packages} packages registered at once"):
            results["burst"] = bench_burst(registry, args.burst_packages, progress)
    # Peak RSS is read before the LLM part: model weights would hide the approval path's memory.
    results["peak_rss_mib"] = peak_rss_mib()
    if not args.skip_llm:
        with progress.step("(d) LLM: model load, generation throughput, evaluation times"):
            results["llm"] = measure()
    results["elapsed_s"] = round(progress.elapsed, 1)
    return results


def print_figures(results: Mapping[str, Any], stream: Any = sys.stdout) -> None:
    t, lat, burst = results["throughput"], results["latency"], results["burst"]
    lines = [
        "",
        "Clearance bench (local stand-in on 127.0.0.1, no AWS account)",
        f"  (a) policy evaluation throughput : {t['report_sets_per_second']:,.0f} report sets/s "
        f"({t['policy_rules']} rules, {t['report_set_bytes'] / 1024:.0f} KiB per set, in process)",
        f"  (b) decision latency, event->status: p50 {lat['p50_ms']:.1f} ms, "
        f"p95 {lat['p95_ms']:.1f} ms over {lat['packages']} packages "
        f"(max {lat['max_ms']:.1f} ms; excludes processing-job start-up)",
        f"  (c) burst of {burst['packages']} packages : {burst['decided']} decided "
        f"({burst['approved']} Approved, {burst['rejected']} Rejected), "
        f"{burst['pending_left']} pending, {burst['lost']} lost, "
        f"{burst['executions_started']} executions, {burst['seconds']:.1f} s "
        f"({burst['decisions_per_second']:.1f} decisions/s)",
        f"  peak memory (RSS), approval path  : {results['peak_rss_mib']:.0f} MiB",
        f"  total                             : {results['elapsed_s']:.1f} s",
    ]
    llm = results.get("llm")
    if llm:
        lines += [
            f"  (d) LLM {llm['model']} ({llm['torch_threads']} torch threads)",
            f"      model load                    : {llm['load_s']:.1f} s",
            f"      generation, batch 1           : {llm['tokens_per_s_batch_1']:.1f} tokens/s",
            f"      generation, batch 16          : {llm['tokens_per_s_batch_16']:.1f} tokens/s",
        ]
        lines += [
            f"      evaluation {section:<18} : {seconds:.1f} s"
            for section, seconds in llm["evaluation_s"].items()
        ]
    print("\n".join(lines), file=stream)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m clearance_dev.bench", description=__doc__.split(
        "\n")[0])  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--skip-llm", action="store_true", help="leave out the LLM figures (d)")
    parser.add_argument("--latency-packages", type=int, default=200)
    parser.add_argument("--burst-packages", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=THROUGHPUT_SECONDS,
                        help="time box of the throughput loop")  # fmt: skip
    args = parser.parse_args(argv)
    for name in ("latency_packages", "burst_packages"):
        if not 1 <= getattr(args, name) <= 5000:
            parser.error(f"--{name.replace('_', '-')}: must be within 1..5000")
    if not 0.1 <= args.seconds <= 60:
        parser.error("--seconds: must be within 0.1..60")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        results = run(args)
    except Exception as exc:  # noqa: BLE001 - one line for the person running the bench
        LOGGER.debug("bench failed", exc_info=True)
        print(f"ERROR: bench: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_figures(results)
    ok = results["burst"]["ok"] and results["latency"]["unexpected_decisions"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
