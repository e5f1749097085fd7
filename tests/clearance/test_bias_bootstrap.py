"""The bias bootstrap counts draws per cell; its intervals are those of the weight-matrix form.

`measure.measure_bias` counts each resample's rows per cell straight from the draws. The
reference here is the plain definition: the (resamples x rows) weight matrix of the same seeded
draws times per-row indicator columns (count cells, CDD cells, FT's full-sample flips).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.decide import measure, recompute, stats


def reference_replicates(data: recompute.BiasData, stage: str, resamples: int, seed: int):
    flip = recompute.flips(data) if stage == "post_training" else None
    codes = recompute.cell_codes(data)
    columns = [codes[:, None] == np.arange(8)[None, :]]
    groups = 0
    if data.group is not None:
        group_codes, groups = recompute.group_codes(data.group)
        outcome = data.label if stage == "pre_training" else data.predicted
        columns.append(recompute.cdd_columns(data.facet, outcome, group_codes, groups))
    if flip is not None:
        columns.append(flip[:, None])
    design = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns], axis=1)

    def replicate(weights: np.ndarray) -> dict[str, np.ndarray]:
        sums = weights.astype(np.float64) @ design
        counts = sums[:, :8].reshape(-1, 2, 2, 2)
        if stage == "pre_training":
            values = recompute.pre_training(counts)
        else:
            values = recompute.post_training(counts)
        if groups:
            name = "CDDL" if stage == "pre_training" else "CDDPL"
            values[name] = recompute.cdd(sums[:, 8 : 8 + 4 * groups].reshape(-1, 2, 2, groups))
        if flip is not None:
            values["FT"] = sums[:, -1] / data.facet.sum()
        return values

    return stats.bootstrap(data.facet, replicate, resamples, seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    rows=st.integers(12, 400),
    rounding=st.sampled_from([0, 1, 3]),
    groups=st.sampled_from([0, 1, 4]),
)
def test_bias_intervals_are_the_weight_matrix_bootstraps(seed, rows, rounding, groups) -> None:
    rng = np.random.default_rng(seed)
    facet = rng.random(rows) < 0.4
    if facet.sum() < 2 or (~facet).sum() < 2:
        return
    data = recompute.BiasData(
        facet,
        rng.random(rows) < 0.5,
        rng.random(rows) < 0.5,
        group=rng.integers(0, groups, rows) if groups else None,
        features=rng.normal(size=(rows, 3)).round(rounding),
    )
    for stage in ("pre_training", "post_training"):
        measured = measure.measure_bias(data, stage, resamples=150, seed=seed)
        reference = reference_replicates(data, stage, 150, seed)
        compared = []
        for name, metric in measured.items():
            if metric.value is None or name in ANALYTIC:
                continue
            assert same(metric.interval, stats.percentile_interval(reference[name])), name
            compared.append(name)
        assert stage == "pre_training" or "FT" in compared
        again = measure.measure_bias(data, stage, resamples=150, seed=seed)
        assert [same(m.interval, again[k].interval) for k, m in measured.items()] == [True] * len(
            measured
        )  # fixed seed: the same intervals every time


ANALYTIC = {"CI", "DPL", "DPPL", "DI"}


def same(a: stats.Interval | None, b: stats.Interval | None) -> bool:
    """Equal intervals, NaN ends included (an interval between infinite replicates has them)."""
    if a is None or b is None:
        return a is b
    ends = np.array([[a.lower, a.upper], [b.lower, b.upper]])
    return a.method == b.method and np.array_equal(ends[0], ends[1], equal_nan=True)


def test_the_interval_bench_reports_wall_cpu_memory_and_load(capsys) -> None:
    """The bench's figures (never asserted on speed): every field the printed line needs."""
    import json

    from clearance_dev.bench import verification

    assert verification.main(["--rows", "3000", "--resamples", "40", "--intervals-only"]) == 0
    assert "s wall" in capsys.readouterr().out
    fresh = verification.fresh_interval_bench(rows=3000, resamples=40)
    assert fresh["metrics"] == 21 and fresh["rows"] == 3000 and fresh["resamples"] == 40
    assert fresh["cpu_s"] >= 0 and fresh["total_s"] >= 0 and len(fresh["load_average"]) == 2
    assert 10 < fresh["peak_rss_mib"] < 2048  # MiB, the fresh process's own VmHWM
    assert json.loads(json.dumps(fresh)) == fresh
