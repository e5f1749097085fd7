"""Intervals, bootstrap, interval decisions and needed rows (clearance.decide.stats)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearance.decide import stats
from clearance.decide.stats import FAIL, INCONCLUSIVE, PASS, Interval


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (stats.wilson(0, 10), (0.0, 0.2775)),  # Newcombe (1998a) table I
        (stats.wilson(5, 10), (0.2366, 0.7634)),
        (stats.wilson(81, 263), (0.2553, 0.3662)),
        (stats.clopper_pearson(0, 10), (0.0, 0.3085)),
        (stats.clopper_pearson(5, 10), (0.1871, 0.8129)),
        (stats.clopper_pearson(10, 10), (0.6915, 1.0)),
        # Newcombe (1998b) example: 56/70 vs 48/80, method 10.
        (stats.newcombe(56, 70, 48, 80), (0.0524, 0.3339)),
    ],
)
def test_intervals_match_published_values(interval: Interval, expected: tuple) -> None:
    assert (round(interval.lower, 4), round(interval.upper, 4)) == expected


def test_katz_interval_contains_the_ratio_and_handles_zero_counts() -> None:
    ratio = stats.katz_ratio(40, 100, 50, 100)
    assert ratio is not None and ratio.lower < 0.8 < ratio.upper
    assert ratio.method == "katz-log"
    zero = stats.katz_ratio(0, 20, 10, 20)
    assert zero is not None and 0 < zero.lower < zero.upper < 1
    assert stats.katz_ratio(3, 0, 1, 5) is None


@pytest.mark.parametrize("call", [lambda: stats.wilson(1, 0), lambda: stats.newcombe(0, 0, 1, 2)])
def test_empty_groups_have_no_interval(call) -> None:
    assert call() is None


def iv(lower: float, upper: float) -> Interval:
    return Interval(lower, upper, 0.95, "test")


@pytest.mark.parametrize(
    ("interval", "lower", "upper", "expected"),
    [
        (iv(0.85, 1.1), 0.8, 1.25, PASS),
        (iv(0.8, 1.25), 0.8, 1.25, PASS),  # touching both bounds from inside: inclusive
        (iv(0.8, 0.8), 0.8, 1.25, PASS),  # a point on the bound
        (iv(0.6, 0.8), 0.8, 1.25, INCONCLUSIVE),  # touching from outside shares one point
        (iv(0.6, 0.79), 0.8, 1.25, FAIL),
        (iv(1.26, 2.0), 0.8, 1.25, FAIL),
        (iv(0.7, 1.1), 0.8, 1.25, INCONCLUSIVE),
        (iv(0.5, 2.0), 0.8, 1.25, INCONCLUSIVE),
        (iv(-0.05, 0.1), None, 0.1, PASS),  # one-sided rule
        (iv(-math.inf, 0.05), -0.1, 0.1, INCONCLUSIVE),
        (iv(2.0, math.inf), 0.8, 1.25, FAIL),
        (iv(math.nan, 0.1), -0.1, 0.1, INCONCLUSIVE),
        (None, -0.1, 0.1, INCONCLUSIVE),
        (iv(0.0, 0.0), None, None, INCONCLUSIVE),  # no bound at all: nothing to decide
    ],
)
def test_interval_decisions_at_the_boundaries(interval, lower, upper, expected) -> None:
    outcome = stats.decide(interval, lower, upper)
    assert outcome.outcome == expected
    assert outcome.reason


def test_needed_scale_is_none_when_the_effect_sits_on_a_bound() -> None:
    assert stats.needed_scale(0.1, iv(0.05, 0.15), -0.1, 0.1) is None
    assert stats.needed_scale(None, iv(0.05, 0.15), -0.1, 0.1) is None
    assert stats.needed_scale(0.05, None, -0.1, 0.1) is None


def test_needed_rows_scales_every_group() -> None:
    # Half-width 0.1 above the value, 0.05 of room: four times the rows.
    scale = stats.needed_scale(0.05, iv(-0.05, 0.15), -0.1, 0.1)
    assert scale == pytest.approx(4.0)
    assert stats.needed_rows({"facet": 50, "rest": 450}, scale) == {"facet": 200, "rest": 1800}


@settings(max_examples=60, deadline=None)
@given(
    p1=st.floats(0.2, 0.8),
    p2=st.floats(0.2, 0.8),
    n1=st.integers(20, 200),
    n2=st.integers(20, 400),
)
def test_the_needed_rows_decide_a_newcombe_interval(p1, p2, n1, n2) -> None:
    """Growing both groups by the estimated (refined) factor makes the interval decide."""
    k1, k2 = round(p1 * n1), round(p2 * n2)
    value = k1 / n1 - k2 / n2
    bounds = (-0.1, 0.1)
    now = stats.newcombe(k1, n1, k2, n2)
    assume(abs(abs(value) - 0.1) > 0.02)
    assume(stats.decide(now, *bounds).outcome == INCONCLUSIVE)

    def at(k: float) -> Interval | None:
        return stats.newcombe(k1 * k, n1 * k, k2 * k, n2 * k)

    scale = stats.needed_scale(value, now, *bounds, interval_at=at)
    assume(scale is not None and scale < 1e4)
    assert stats.decide(at(scale), *bounds).outcome != INCONCLUSIVE
    # The plain 1/sqrt(n) law is the starting point: the refinement only ever grows it.
    assert scale >= stats.needed_scale(value, now, *bounds)


def test_percentile_interval_refuses_undefined_replicates() -> None:
    assert stats.percentile_interval(np.array([0.1, np.nan, 0.2])) is None
    assert stats.percentile_interval(np.array([])) is None
    with_inf = stats.percentile_interval(np.r_[np.zeros(99), [np.inf] * 3])
    assert with_inf is not None and with_inf.upper == math.inf


def test_resample_weights_keep_each_stratum_size_and_are_reproducible() -> None:
    strata = np.array([0] * 7 + [1] * 3 + [2])
    blocks = list(stats.resample_weights(strata, resamples=25, seed=7))
    weights = np.concatenate(blocks)
    assert weights.shape == (25, 11)
    assert np.array_equal(weights[:, :7].sum(axis=1), np.full(25, 7))
    assert np.array_equal(weights[:, 7:10].sum(axis=1), np.full(25, 3))
    assert np.array_equal(weights[:, 10], np.ones(25))  # a one-row stratum is always itself
    assert np.array_equal(weights, np.round(weights))
    again = np.concatenate(list(stats.resample_weights(strata, resamples=25, seed=7)))
    assert np.array_equal(weights, again)


def test_bootstrap_blocks_give_the_same_replicates_as_one_block(monkeypatch) -> None:
    strata = np.arange(40) % 2
    values = np.arange(40.0)
    one = stats.bootstrap(strata, lambda w: {"mean": w @ values / 40}, resamples=30, seed=3)
    monkeypatch.setattr(stats, "BLOCK_CELLS", 40 * 7)
    many = stats.bootstrap(strata, lambda w: {"mean": w @ values / 40}, resamples=30, seed=3)
    assert one["mean"].shape == (30,)
    # Different blocking draws differently, but both are seeded and centred on the mean.
    assert abs(one["mean"].mean() - values.mean()) < 2 and abs(many["mean"].mean() - 19.5) < 2


def test_int32_draws_are_the_int64_draws() -> None:
    """resample_weights draws int32 for speed; the numbers must be those int64 draws give."""
    highs = [1, 2, 3, 7, 1000, 70_000, 2**31 - 1, 1, 5]
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    for high in highs:
        size = (3, min(high, 500))
        wide = a.integers(0, high, size=size)
        narrow = b.integers(0, high, size=size, dtype=np.int32)
        assert np.array_equal(wide, narrow), high


def test_resample_counts_are_the_weights_times_the_cells(monkeypatch) -> None:
    """Counting draws per cell equals the weight matrix times one-hot cells, block by block."""
    monkeypatch.setattr(stats, "BLOCK_CELLS", 7 * 90)  # several blocks, the last one short
    rng = np.random.default_rng(4)
    strata = rng.integers(0, 3, 90)
    codes = [rng.integers(0, 5, 90), rng.integers(0, 300, 90)]  # one-byte and two-byte codes
    weights = np.concatenate(list(stats.resample_weights(strata, resamples=23, seed=8)))
    blocks = list(stats.resample_counts(strata, codes, [5, 300], resamples=23, seed=8))
    assert len(blocks) == 4
    for column, width, j in ((codes[0], 5, 0), (codes[1], 300, 1)):
        counted = np.concatenate([block[j] for block in blocks])
        onehot = column[:, None] == np.arange(width)[None, :]
        assert np.array_equal(counted, weights.astype(np.int64) @ onehot.astype(np.int64))
