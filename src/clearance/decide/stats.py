"""Intervals, the stratified bootstrap, interval decisions and the sample size that would decide.

Everything a verified metric needs to carry its uncertainty (PLAN.md's "metric with interval"):

- rates: Wilson score (default) and Clopper-Pearson exact intervals;
- differences of two independent proportions: Newcombe's hybrid score interval (his method 10),
  built from the two Wilson intervals; it stays inside [-1, 1] and behaves at 0 and n;
- ratios of two proportions (disparate impact): the Katz log interval, with 0.5 added to both
  counts of a group that has none (or all) of the outcome, so it never divides by zero;
- everything else: a stratified percentile bootstrap with a fixed seed. The row indices are drawn
  once per stratum per resample; metrics of cell counts (every bias metric) count the draws per
  cell straight away (`resample_counts`), others (quality) take a (resamples x rows) weight matrix
  of the same draws (`resample_weights`), so every metric of every resample comes from one set.

Decisions (`decide`): bounds are inclusive, as in the policy's point checks. An interval passes only
when it lies wholly inside [lower, upper]; touching a bound counts as inside (lower == bound
passes). It fails only when it lies wholly outside: upper < bound_lower or lower > bound_upper (an
interval that touches a bound from outside still shares that one point with the allowed range, so
it is inconclusive, not failed). Anything else, and anything undefined (NaN, a missing interval,
an empty group), is inconclusive with a reason; nothing here raises on bad numbers.

`needed_scale` answers "how many rows would decide at the observed effect": interval half-widths of
all the estimators above shrink like 1/sqrt(n), so scaling every group by k shrinks the distance
from the estimate to each end by sqrt(k). The smallest k that moves the deciding end past the bound
is returned; `needed_rows` turns it into rows per group. It is an estimate for planning (the effect
may move with more data), documented as such in docs/verification.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy only where resamples are drawn: decisions stay pure Python
    import numpy as np

LEVEL = 0.95
RESAMPLES = 1000
SEED = 20240101
# Draws per block (resamples x rows): bounds a block's memory (20 MB of int32 draws, a few times
# that while counting or weighting). It also fixes which random numbers go to which resample:
# changing it changes the intervals (by Monte Carlo noise).
BLOCK_CELLS = 5_000_000
# Above this many times the current rows, we report the effect as undecidable rather than a number.
MAX_SCALE = 1e6

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def z_value(level: float = LEVEL) -> float:
    """Two-sided standard normal quantile: 1.959963984540054 for 0.95."""
    return NormalDist().inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    level: float
    method: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "lower", float(self.lower))
        object.__setattr__(self, "upper", float(self.upper))

    def to_json(self) -> dict[str, float | str]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "method": self.method,
        }

    @property
    def defined(self) -> bool:
        return not (math.isnan(self.lower) or math.isnan(self.upper)) and self.lower <= self.upper


def wilson(k: float, n: float, level: float = LEVEL) -> Interval | None:
    """Wilson score interval for k successes in n trials; None when n == 0."""
    if not n > 0 or not 0 <= k <= n:
        return None
    z = z_value(level)
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(max(0.0, center - half), min(1.0, center + half), level, "wilson")


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> Interval | None:
    """Exact (Clopper-Pearson) interval from beta quantiles; None when n == 0."""
    if not n > 0 or not 0 <= k <= n:
        return None
    from scipy.stats import beta

    alpha = 1 - level
    lower = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Interval(lower, upper, level, "clopper-pearson")


def newcombe(k1: float, n1: float, k2: float, n2: float, level: float = LEVEL) -> Interval | None:
    """Newcombe hybrid score interval for p1 - p2 (independent groups); None if a group is empty."""
    w1, w2 = wilson(k1, n1, level), wilson(k2, n2, level)
    if w1 is None or w2 is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    lower = d - math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2)
    upper = d + math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2)
    return Interval(max(-1.0, lower), min(1.0, upper), level, "newcombe")


def katz_ratio(k1: float, n1: float, k2: float, n2: float, level: float = LEVEL) -> Interval | None:
    """Katz log interval for (k1/n1) / (k2/n2); 0.5 is added to a group with 0 or n events."""
    if not (n1 > 0 and n2 > 0):
        return None
    if k1 in (0, n1) or k2 in (0, n2):
        k1, n1, k2, n2 = k1 + 0.5, n1 + 1, k2 + 0.5, n2 + 1
    ratio = (k1 / n1) / (k2 / n2)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    z = z_value(level)
    return Interval(ratio * math.exp(-z * se), ratio * math.exp(z * se), level, "katz-log")


def _members(strata: np.ndarray) -> list[np.ndarray]:
    """Each stratum's row indices, strata in sorted order (the order the draws take them)."""
    import numpy as np

    strata = np.asarray(strata)
    return [np.flatnonzero(strata == s) for s in np.unique(strata)]


def _draws(
    members: list[np.ndarray], resamples: int, seed: int
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Blocks of seeded draws: (block size, per stratum positions (block, its rows) into rows)."""
    import numpy as np

    n = sum(len(rows) for rows in members)
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, BLOCK_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(block, resamples - done)
        # int32 draws are the very numbers int64 draws give (numpy draws any range below 2**32
        # from 32 bits either way; tests/clearance/test_stats.py pins it) at half the cost.
        yield size, [_integers(rng, len(rows), size) for rows in members]
        done += size


def _integers(rng: np.random.Generator, high: int, size: int) -> np.ndarray:
    import numpy as np

    dtype = np.int32 if high <= np.iinfo(np.int32).max else np.int64
    return rng.integers(0, high, size=(size, high), dtype=dtype)


def resample_weights(
    strata: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> Iterator[np.ndarray]:
    """Blocks of bootstrap weights, shape (block, rows): how often each row is drawn per resample.

    Rows are resampled with replacement within each stratum (a stratum keeps its size in every
    resample, so the group sizes a metric compares stay those of the data). The generator is
    seeded, so the same data and seed always give the same intervals. Each block's weights come
    from one `np.bincount` over the flat (resample, row) index; metrics are then matrix products
    of the weights with per-row indicator columns.
    """
    import numpy as np

    n = len(strata)
    members = _members(strata)
    for size, drawn in _draws(members, resamples, seed):
        picks = [rows[p] for rows, p in zip(members, drawn, strict=True)]
        flat = np.concatenate(picks or [np.zeros((size, 0), np.int64)], axis=1)
        flat = flat + (np.arange(size) * n)[:, None]
        # float32 holds every count exactly (< 2**24) and halves the matrix products.
        yield np.bincount(flat.ravel(), minlength=size * n).reshape(size, n).astype(np.float32)


def resample_counts(
    strata: np.ndarray,
    codes: Sequence[np.ndarray],
    cells: Sequence[int],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Iterator[list[np.ndarray]]:
    """Blocks of cell counts: per code array (values 0..cells-1), (block, cells) rows drawn.

    The same draws as `resample_weights` (same strata, seed and blocks), so the counts equal
    `weights @ one_hot(codes)` exactly, without the (block x rows) weight matrix: each draw is
    looked up in its stratum's codes (one byte each while cells <= 256) and all of a block's
    (resample, cell) pairs are counted with one `np.bincount` per stratum.
    """
    import numpy as np

    members = _members(strata)
    small = [np.min_scalar_type(max(width - 1, 0)) for width in cells]
    by_stratum = [
        [np.asarray(column)[rows].astype(dtype) for column, dtype in zip(codes, small, strict=True)]
        for rows in members
    ]
    for size, drawn in _draws(members, resamples, seed):
        out = []
        for j, width in enumerate(cells):
            offset = (np.arange(size, dtype=np.intp) * width)[:, None]
            counts = np.zeros(size * width, dtype=np.int64)
            for subs, picks in zip(by_stratum, drawn, strict=True):
                flat = np.take(subs[j], picks).astype(np.intp)
                flat += offset
                counts += np.bincount(flat.ravel(), minlength=size * width)
            out.append(counts.reshape(size, width))
        yield out


def bootstrap(
    strata: np.ndarray,
    statistics: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """Every statistic over all resamples: STATISTICS maps a weight block to {name: (block,)}."""
    return _collect(resample_weights(strata, resamples, seed), statistics)


def bootstrap_counts(
    strata: np.ndarray,
    codes: Sequence[np.ndarray],
    cells: Sequence[int],
    statistics: Callable[[list[np.ndarray]], Mapping[str, np.ndarray]],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, np.ndarray]:
    """`bootstrap` for statistics of cell counts: STATISTICS maps `resample_counts` blocks."""
    return _collect(resample_counts(strata, codes, cells, resamples, seed), statistics)


def _collect(
    blocks: Iterator[Any], statistics: Callable[[Any], Mapping[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    import numpy as np

    parts: dict[str, list[np.ndarray]] = {}
    for block in blocks:
        for name, values in statistics(block).items():
            parts.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> Interval | None:
    """Percentile interval of bootstrap replicates; None when any replicate is undefined (NaN).

    A metric that cannot be computed in some resamples (an empty cell) has no honest interval, so
    the caller records it as undefined and the rule is inconclusive (fail closed). Infinite
    replicates are kept: they make an end infinite, which no finite bound contains.
    """
    import numpy as np

    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0 or np.isnan(samples).any():
        return None
    alpha = 1 - level
    with np.errstate(invalid="ignore"):  # inf - inf while interpolating between infinite ends
        lower, upper = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return Interval(float(lower), float(upper), level, "bootstrap-percentile")


@dataclass(frozen=True)
class Outcome:
    outcome: str
    reason: str


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def decide(
    interval: Interval | None, lower: float | None = None, upper: float | None = None
) -> Outcome:
    """pass / fail / inconclusive for an interval against inclusive bounds (None = unbounded)."""
    if lower is None and upper is None:
        return Outcome(INCONCLUSIVE, "the rule has no bound to compare with")
    if interval is None or not interval.defined:
        return Outcome(INCONCLUSIVE, "the interval is undefined (too few rows or an empty cell)")
    lo, hi = interval.lower, interval.upper
    span = f"[{lo:.4g}, {hi:.4g}]"
    allowed = (
        f"[{'-inf' if lower is None else f'{lower:g}'}, {'inf' if upper is None else f'{upper:g}'}]"
    )
    if (lower is None or lo >= lower) and (upper is None or hi <= upper):
        return Outcome(PASS, f"the whole {interval.level:.0%} interval {span} is within {allowed}")
    if (lower is not None and hi < lower) or (upper is not None and lo > upper):
        return Outcome(FAIL, f"the whole {interval.level:.0%} interval {span} is outside {allowed}")
    return Outcome(INCONCLUSIVE, f"the {interval.level:.0%} interval {span} straddles {allowed}")


def _sqrt_law(
    value: float, interval: Interval, lower: float | None, upper: float | None
) -> float | None:
    below, above = value - interval.lower, interval.upper - value
    if not (math.isfinite(below) and math.isfinite(above)) or below < 0 or above < 0:
        return None
    inside = (lower is None or value > lower) and (upper is None or value < upper)
    needs: list[float] = []
    if inside:
        # Both ends must come inside: the distance to each bound must exceed the half-width.
        if lower is not None and below > 0:
            needs.append((below / (value - lower)) ** 2)
        if upper is not None and above > 0:
            needs.append((above / (upper - value)) ** 2)
    elif upper is not None and value > upper:
        needs.append((below / (value - upper)) ** 2 if below > 0 else 1.0)
    elif lower is not None and value < lower:
        needs.append((above / (lower - value)) ** 2 if above > 0 else 1.0)
    else:
        return None  # the estimate sits exactly on a bound
    scale = max(needs, default=1.0)
    return scale if math.isfinite(scale) else None


def needed_scale(
    value: float | None,
    interval: Interval | None,
    lower: float | None = None,
    upper: float | None = None,
    interval_at: Callable[[float], Interval | None] | None = None,
) -> float | None:
    """Factor k by which every group's rows must grow to decide at VALUE.

    First the 1/sqrt(n) law from the current interval; with INTERVAL_AT (the same estimator at k
    times the counts, same proportions) the factor is then refined until that interval decides,
    which corrects the law where small-sample intervals (Wilson, Newcombe) are not yet
    asymptotic. None when it cannot be estimated: no value or interval, the value sits on a
    bound (no sample size separates it), or more than MAX_SCALE times the rows.
    """
    value = _finite_or_none(value)
    if value is None or interval is None or not interval.defined:
        return None
    scale = _sqrt_law(value, interval, lower, upper)
    if scale is None:
        return None
    scale = max(scale, 1.0)
    if interval_at is not None:
        for _ in range(40):
            later = interval_at(scale)
            if later is not None and decide(later, lower, upper).outcome != INCONCLUSIVE:
                break
            step = None if later is None else _sqrt_law(value, later, lower, upper)
            if step is None:
                return None
            scale *= max(step, 1.02)
            if scale > MAX_SCALE:
                return None
        else:
            return None
    return scale if scale <= MAX_SCALE else None


def needed_rows(group_sizes: Mapping[str, int], scale: float | None) -> dict[str, int] | None:
    """Rows per group that would decide: each group grown by SCALE (rounded up, at least +1)."""
    if scale is None or not group_sizes:
        return None
    return {name: max(int(n) + 1, math.ceil(n * scale)) for name, n in group_sizes.items()}
