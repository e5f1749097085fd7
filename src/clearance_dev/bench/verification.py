"""Bench: intervals for every bias metric, and a whole verified decision (figures, never asserted).

    python -m clearance_dev.bench.verification [--rows 100000] [--resamples 1000] [--json]

(a) bootstrap intervals for all pre- and post-training bias metrics (Clarify's set, FT included)
    on ROWS generated rows with RESAMPLES resamples; target 20 s on 2 cores at 100,000 x 1,000.
(b) the whole local decision with verification for a 10,000-row split: recompute every metric
    from the split, intervals, comparison with the reported values, interval decisions; target 5 s.
    `decision_bench` is swapped for the Verify step's own entry point once it exists.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
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
    started = time.perf_counter()
    pre = measure.measure_bias(data, "pre_training", resamples)
    middle = time.perf_counter()
    post = measure.measure_bias(data, "post_training", resamples)
    done = time.perf_counter()
    return {
        "rows": rows,
        "resamples": resamples,
        "metrics": len(pre) + len(post),
        "pre_training_s": round(middle - started, 2),
        "post_training_s": round(done - middle, 2),
        "total_s": round(done - started, 2),
        "target_s": TARGET_INTERVALS_S,
    }


def decision_bench(
    rows: int = 10_000,
    decide: Callable[[recompute.BiasData, np.ndarray], Any] | None = None,
) -> dict[str, Any]:
    """Time DECIDE (default: recompute + intervals + compare + decide every metric) on ROWS."""
    data, score = generated_split(rows)
    started = time.perf_counter()
    (decide or _decide_every_metric)(data, score)
    elapsed = time.perf_counter() - started
    return {"rows": rows, "total_s": round(elapsed, 2), "target_s": TARGET_DECISION_S}


def _decide_every_metric(data: recompute.BiasData, score: np.ndarray) -> list[str]:
    metrics = {
        **measure.measure_bias(data, "pre_training"),
        **measure.measure_bias(data, "post_training"),
        **measure.measure_quality(data.label, data.predicted, score, "binary", data.facet),
    }
    outcomes = []
    for metric in metrics.values():
        reported = metric.value  # as if the team's report agreed exactly
        if reported is not None and metric.value is not None:
            assert abs(reported - metric.value) <= 1e-6
        outcomes.append(stats.decide(metric.interval, -0.1, 0.1).outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=stats.RESAMPLES)
    parser.add_argument("--decision-rows", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = {
        "intervals": interval_bench(args.rows, args.resamples),
        "decision": decision_bench(args.decision_rows),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    a, b = figures["intervals"], figures["decision"]
    print(
        f"(a) intervals for {a['metrics']} bias metrics, {a['rows']:,} rows x {a['resamples']:,} "
        f"resamples: {a['total_s']} s (pre {a['pre_training_s']} s, post {a['post_training_s']} s;"
        f" target {a['target_s']:g} s)"
    )
    print(
        f"(b) whole local decision with verification, {b['rows']:,} rows: {b['total_s']} s"
        f" (target {b['target_s']:g} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
