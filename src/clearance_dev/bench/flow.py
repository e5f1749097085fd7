"""Run every measurement, print the figures (``make bench``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clearance.pipeline.definition import render_definition
from clearance.pipeline.steps import ArgumentParser
from clearance_dev.bench.llm import measure
from clearance_dev.bench.measures import bench_burst, bench_latency, bench_throughput
from clearance_dev.bench.registry import Registry
from clearance_dev.bench.reports import BUCKET, LOGGER, PIPELINE_NAME, THROUGHPUT_SECONDS
from clearance_dev.progress import Progress
from clearance_dev.standin import LocalAWS

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

    steps = 4 + (not args.skip_llm) + (not args.skip_verification)
    progress = Progress(total=steps, quiet=False)
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
    if not args.skip_verification:
        from clearance_dev.bench import verification

        with progress.step(
            "(e) Verification: intervals for every bias metric, a verified decision"
        ):
            results["verification"] = {
                "intervals": verification.fresh_interval_bench(),
                "decision": verification.decision_bench(),
            }
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
            f"      scoring (KV-shared options)   : {llm['scoring_tokens_per_s']:.1f} tokens/s",
            f"      evaluations at demo sizes     : {llm['evaluation_total_s']:.1f} s "
            f"(load average {llm['load_average_before']:.1f} -> {llm['load_average_after']:.1f})",
        ]
        lines += [
            f"      evaluation {section:<18} : {seconds:.1f} s"
            for section, seconds in llm["evaluation_s"].items()
        ]
    checked = results.get("verification")
    if checked:
        from clearance_dev.bench import verification

        a, b = checked["intervals"], checked["decision"]
        lines += [
            f"  {verification.interval_line(a, '(e)')}",
            f"  {verification.decision_line(b, '   ')}",
        ]
    print("\n".join(lines), file=stream)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m clearance_dev.bench", description=__doc__.split(
        "\n")[0])  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--skip-llm", action="store_true", help="leave out the LLM figures (d)")
    parser.add_argument(
        "--skip-verification", action="store_true", help="leave out the verification figures (e)"
    )
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
