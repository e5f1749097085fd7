"""Bench: intervals for every bias metric, and a whole verified decision (figures, never asserted).

    python -m clearance_dev.bench.verification [--rows 100000] [--resamples 1000] [--json]

(a) bootstrap intervals for all pre- and post-training bias metrics (Clarify's set, FT included)
    on ROWS generated rows with RESAMPLES resamples; target 20 s on 2 cores at 100,000 x 1,000.
    Wall time and CPU time (all threads of the process: FT's neighbour search uses 2) are both
    printed, with the load average before and after: on a shared machine the wall time says
    more about the neighbours than about the code. Peak RSS is the process's own peak, so `make
    bench` runs (a) in a fresh process (`fresh_interval_bench`); first-use imports are included.
(b) the whole local decision with verification for a 10,000-row split: the Verify step's code
    (bundle digests, scoring with the registered model, every metric with intervals, exact SHAP on a
    sample) and the default policy's evaluation against it; target 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from clearance.decide import measure, recompute, stats

TARGET_INTERVALS_S = 20.0
TARGET_DECISION_S = 5.0


def generated_split(rows: int, seed: int = 7) -> tuple[recompute.BiasData, np.ndarray]:
    """A credit-like split: facet 30 %, labels with a small gap, an 80 %-accurate model."""
    rng = np.random.default_rng(seed)
    facet = rng.random(rows) < 0.3
    label = rng.random(rows) < 0.55 - 0.05 * facet
    score = np.clip(label * 0.35 + rng.random(rows) * 0.65, 0, 1)
    predicted = score >= 0.5
    features = rng.normal(size=(rows, 8))
    data = recompute.BiasData(facet, label, predicted, features=features)
    return data, score


def interval_bench(rows: int = 100_000, resamples: int = stats.RESAMPLES) -> dict[str, Any]:
    data, _ = generated_split(rows)
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    pre = measure.measure_bias(data, "pre_training", resamples)
    middle, cpu_middle = time.perf_counter(), time.process_time()
    post = measure.measure_bias(data, "post_training", resamples)
    done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "rows": rows,
        "resamples": resamples,
        "metrics": len(pre) + len(post),
        "pre_training_s": round(middle - started, 2),
        "post_training_s": round(done - middle, 2),
        "total_s": round(done - started, 2),
        "pre_training_cpu_s": round(cpu_middle - cpu_started, 2),
        "post_training_cpu_s": round(cpu_done - cpu_middle, 2),
        "cpu_s": round(cpu_done - cpu_started, 2),
        "peak_rss_mib": peak_rss_mib(),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "target_s": TARGET_INTERVALS_S,
    }


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (ru_maxrss keeps the forking
    parent's peak across fork + exec, so a fresh interpreter would report its parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def fresh_interval_bench(rows: int = 100_000, resamples: int = stats.RESAMPLES) -> dict[str, Any]:
    """`interval_bench` in a new interpreter, so its peak RSS is its own (not the caller's)."""
    command = [sys.executable, "-m", __name__, "--intervals-only", "--json"]
    command += ["--rows", str(rows), "--resamples", str(resamples)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["intervals"]


def decision_bench(rows: int = 10_000) -> dict[str, Any]:
    """The whole local decision on a ROWS-row split: the Verify step's own code path (bundle
    digests, scoring with the registered XGBoost model, every metric with intervals, exact SHAP
    on a sample) and the default policy's evaluation of the reports against it."""
    import tempfile
    from pathlib import Path

    from clearance.decide import checks
    from clearance.pipeline.steps.verify import verify_local
    from clearance.policy import load_default_policy
    from clearance_dev.bench.verify_bundle import make_bundle

    policy = load_default_policy()
    with tempfile.TemporaryDirectory(prefix="clearance-bench-verify-") as tmp:
        root, model = make_bundle(Path(tmp), rows=rows)
        started, cpu_started = time.perf_counter(), time.process_time()
        verification = verify_local(root, model, policy)
        reports = honest_reports(verification)
        decision = checks.evaluate(policy, reports, BENCH_ARN, verification=verification)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "rows": rows,
        "decision": decision.decision,
        "total_s": round(elapsed, 2),
        "cpu_s": round(cpu, 2),
        "target_s": TARGET_DECISION_S,
    }


BENCH_ARN = "arn:aws:sagemaker:us-east-1:222222222222:model-package/bench/1"


def honest_reports(verification: Any) -> dict[str, bytes]:
    """Clarify and Model Monitor shaped reports carrying the recomputed values (an honest team)."""

    def bias(kind: str, section: str) -> bytes:
        metrics = [
            {"name": name, "description": name, "value": m.value}
            for name, m in sorted(verification.metrics[kind].items())
        ]
        facets = {"gender": [{"value_or_threshold": "1", "metrics": metrics}]}
        return json.dumps({section: {"label": "approved", "facets": facets}}).encode()

    quality = {
        name: {"value": m.value, "standard_deviation": 0.0}
        for name, m in verification.metrics["model_quality"].items()
    }
    shap = {name: m.value for name, m in verification.metrics.get("explainability", {}).items()}
    explain = {"kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.5}}}
    return {
        "bias_pre_training": bias("bias_pre_training", "pre_training_bias_metrics"),
        "bias_post_training": bias("bias_post_training", "post_training_bias_metrics"),
        "model_quality": json.dumps({"binary_classification_metrics": quality}).encode(),
        "explainability": json.dumps({"version": "1.0", "explanations": explain}).encode(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=stats.RESAMPLES)
    parser.add_argument("--decision-rows", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--intervals-only", action="store_true", help="only (a), e.g. for a fresh peak RSS"
    )
    args = parser.parse_args(argv)
    figures = {"intervals": interval_bench(args.rows, args.resamples)}
    if not args.intervals_only:
        figures["decision"] = decision_bench(args.decision_rows)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(interval_line(figures["intervals"]))
    if "decision" in figures:
        print(decision_line(figures["decision"]))
    return 0


def interval_line(a: dict[str, Any], label: str = "(a)") -> str:
    load = a["load_average"]
    return (
        f"{label} intervals for {a['metrics']} bias metrics, {a['rows']:,} rows x "
        f"{a['resamples']:,} resamples: {a['total_s']} s wall, {a['cpu_s']} s CPU "
        f"(pre {a['pre_training_s']} s, "
        f"post {a['post_training_s']} s wall; peak RSS {a['peak_rss_mib']:.0f} MiB; load average "
        f"{load[0]:.1f} -> {load[1]:.1f}; target {a['target_s']:g} s on 2 cores)"
    )


def decision_line(b: dict[str, Any], label: str = "(b)") -> str:
    return (
        f"{label} whole local decision with verification, {b['rows']:,} rows: "
        f"{b['total_s']} s wall, {b['cpu_s']} s CPU (target {b['target_s']:g} s; {b['decision']})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
