"""Recomputed metrics with 95 % intervals and group sizes (PLAN.md's "metric with interval").

One stratified bootstrap per split (strata: the facet and the rest group, so each resample keeps
the group sizes the metric compares) feeds every bias and quality metric from the same resamples.
Where an analytic interval exists it replaces the bootstrap one:

    CI                      Wilson interval of the facet's share of rows, mapped through 1 - 2p
    DPL, DPPL               Newcombe hybrid score interval of a difference of two proportions
    DI                      Katz log interval of a ratio of two proportions
    accuracy, precision,
    recall                  Wilson interval of a rate
    everything else         bootstrap percentile interval (RESAMPLES resamples, fixed SEED)

CI is the one bias metric a facet-stratified bootstrap cannot see (the group sizes are fixed), which
is why it always takes the Wilson route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clearance.decide import quality, recompute, stats

PRE, POST = "pre_training", "post_training"


@dataclass(frozen=True)
class Measured:
    """A recomputed metric: value (None if undefined), interval, rows and group sizes."""

    name: str
    value: float | None
    n: int
    interval: stats.Interval | None = None
    group_sizes: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # The same analytic interval at k times the counts (same proportions), for needed_n; None
    # for bootstrap intervals (their needed_n uses the 1/sqrt(n) law alone).
    rescale: Callable[[float], stats.Interval | None] | None = field(
        default=None, compare=False, repr=False
    )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "value": self.value,
            "n": self.n,
            "interval": None if self.interval is None else self.interval.to_json(),
            "group_sizes": dict(self.group_sizes),
        }
        if self.error:
            document["error"] = self.error
        return document


FT_CELLS = 24  # per-row code: count cell (8) + 8 * (flip + 1), flip in -1, 0, 1


def _bias_codes(
    data: recompute.BiasData, stage: str, flip: np.ndarray | None
) -> tuple[list[np.ndarray], list[int], int]:
    """Per-row cell codes: count cell and flip (24 cells), and CDD's [d, y, g] cell (4*G)."""
    cell = recompute.cell_codes(data)
    moved = np.ones(len(cell), np.int64) if flip is None else flip.astype(np.int64) + 1
    codes, cells = [cell + 8 * moved], [FT_CELLS]
    groups = 0
    if data.group is not None and len(data.group):
        group_codes, groups = recompute.group_codes(data.group)
        outcome = data.label if stage == PRE else data.predicted
        d = data.facet.astype(np.int64)
        codes.append(d * 2 * groups + outcome.astype(np.int64) * groups + group_codes)
        cells.append(4 * groups)
    return codes, cells, groups


def _bias_replicates(
    counted: list[np.ndarray], groups: int, stage: str, n_facet: int, flip_known: bool
) -> dict[str, np.ndarray]:
    by_flip = counted[0].reshape(-1, 3, 8).astype(np.float64)  # (B, flip + 1, cell)
    counts = by_flip.sum(axis=1).reshape(-1, 2, 2, 2)
    values = recompute.pre_training(counts) if stage == PRE else recompute.post_training(counts)
    name = "CDDL" if stage == PRE else "CDDPL"
    if groups:
        values[name] = recompute.cdd(counted[1].astype(np.float64).reshape(-1, 2, 2, groups))
    if stage == POST:
        total = by_flip[:, 2].sum(axis=-1) - by_flip[:, 0].sum(axis=-1)
        values["FT"] = total / n_facet if n_facet and flip_known else np.full(len(total), np.nan)
    return values


def _analytic(name: str, counts: np.ndarray, level: float) -> stats.Interval | None | bool:
    """The analytic interval for NAME, or False when the metric has none."""
    n = counts.sum(axis=(-1, -2))  # rest, facet
    if name == "CI":
        share = stats.wilson(n[1], n.sum(), level)
        if share is None or not (n[0] and n[1]):
            return None
        return stats.Interval(1 - 2 * share.upper, 1 - 2 * share.lower, level, "wilson")
    if name in ("DPL", "DPPL", "DI"):
        axis_sum = counts[:, 1, :].sum(axis=-1) if name == "DPL" else counts[:, :, 1].sum(axis=-1)
        if name == "DI":
            return stats.katz_ratio(axis_sum[1], n[1], axis_sum[0], n[0], level)
        return stats.newcombe(axis_sum[0], n[0], axis_sum[1], n[1], level)
    return False


def _assemble(
    points: dict[str, tuple[float | None, str | None]],
    replicates: dict[str, np.ndarray],
    analytic: dict[str, stats.Interval | None | bool],
    n: int,
    sizes: dict[str, int],
    level: float,
    rescale: Callable[[str], Callable[[float], stats.Interval | None] | None] | None = None,
) -> dict[str, Measured]:
    out: dict[str, Measured] = {}
    for name, (value, error) in points.items():
        interval = analytic.get(name, False)
        again = rescale(name) if rescale is not None and interval is not False else None
        if interval is False:
            interval = stats.percentile_interval(replicates.get(name, np.array([])), level)
        if value is None:
            interval = None
        out[name] = Measured(name, value, n, interval or None, sizes, error, again)
    return out


def measure_bias(
    data: recompute.BiasData,
    stage: str,
    resamples: int = stats.RESAMPLES,
    seed: int = stats.SEED,
    level: float = stats.LEVEL,
) -> dict[str, Measured]:
    """Every bias metric of STAGE on DATA with its interval and the facet/rest group sizes."""
    flip = recompute.flips(data) if stage == POST else None
    points = recompute.point_metrics(data, stage, flip)
    codes, cells, groups = _bias_codes(data, stage, flip)
    n_facet = int(data.facet.sum())
    replicates = stats.bootstrap_counts(
        data.facet,
        codes,
        cells,
        lambda counted: _bias_replicates(counted, groups, stage, n_facet, flip is not None),
        resamples,
        seed,
    )
    counts = recompute.counts_of(recompute.cell_codes(data))
    analytic = {name: _analytic(name, counts, level) for name in points}

    def rescale(name: str) -> Callable[[float], stats.Interval | None]:
        return lambda k: _analytic(name, counts * k, level) or None

    return _assemble(
        points, replicates, analytic, len(data.facet), data.group_sizes, level, rescale
    )


def measure_quality(
    y: np.ndarray,
    pred: np.ndarray,
    score: np.ndarray | None,
    problem: str,
    strata: np.ndarray,
    resamples: int = stats.RESAMPLES,
    seed: int = stats.SEED,
    level: float = stats.LEVEL,
) -> dict[str, Measured]:
    """Model Monitor quality metrics with intervals; PROBLEM is "binary" or "regression"."""
    n = len(y)
    sizes = {"rows": n}
    if problem == "binary":
        y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
        points = quality.binary(y, pred, score)
        replicates = stats.bootstrap(
            strata, lambda w: quality.binary(y, pred, score, w), resamples, seed
        )
        tp, fp, fn, tn = quality.confusion(y, pred)[0]
        rates = {"accuracy": (tp + tn, n), "precision": (tp, tp + fp), "recall": (tp, tp + fn)}
        analytic: dict[str, Any] = {
            name: stats.wilson(k, total, level) for name, (k, total) in rates.items()
        }

        def rescale(name: str) -> Callable[[float], stats.Interval | None] | None:
            if name not in rates:
                return None
            k, total = rates[name]
            return lambda factor: stats.wilson(k * factor, total * factor, level)

    else:
        points = quality.regression(y, pred)
        replicates = stats.bootstrap(
            strata, lambda w: quality.regression(y, pred, w), resamples, seed
        )
        analytic = {}
        rescale = None
    undefined = "undefined on this split (an empty denominator or one label value)"
    tagged = {k: (None, undefined) if np.isnan(v) else (v, None) for k, v in points.items()}
    return _assemble(tagged, replicates, analytic, n, sizes, level, rescale)
