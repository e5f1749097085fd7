"""Uncertainty for the evaluation metrics: every gated number carries n and a 95% interval.

A measured metric is the shared shape of the governance contract:

    {"value": float | None, "n": int,
     "interval": {"lower": float, "upper": float, "level": 0.95, "method": "..."},
     "group_sizes": {"<group>": int, ...}}          # only where groups are compared

Methods (all deterministic: the bootstrap uses a fixed seed):
    wilson            score interval for a proportion (Wilson 1927); used for rates of
                      independent items
    clopper-pearson   exact binomial interval (by bisection on the binomial CDF; no scipy)
    newcombe          difference of two independent proportions from their Wilson intervals
                      (Newcombe 1998, method 10)
    bootstrap-percentile
                      cluster bootstrap: whole clusters (a BBQ template, a memorized document, a
                      BOLD template) are resampled, so items that share one are not counted as
                      independent evidence
    wilson+bootstrap  the hull of the two: the bootstrap guards against within-cluster
                      correlation, the score interval against the bootstrap's zero width when no
                      item is flagged (0/n does not prove a rate of exactly 0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist
from typing import Any

LEVEL = 0.95
BOOTSTRAP_SAMPLES = 2000
SEED = 20240611


def z_value(level: float = LEVEL) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval; (0, 1) for n = 0 (nothing measured, nothing excluded)."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (exact enough for n in the 1000s)."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if k >= n else 0.0
    total = 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    for i in range(k + 1):
        total += math.exp(
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * log_p
            + (n - i) * log_q
        )
    return min(total, 1.0)


def clopper_pearson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (conservative) binomial interval by bisection."""
    if n <= 0:
        return 0.0, 1.0
    alpha = 1 - level

    def solve(target: Callable[[float], bool]) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if target(mid):
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    lower = (
        0.0 if successes == 0 else solve(lambda p: 1 - _binom_cdf(successes - 1, n, p) >= alpha / 2)
    )
    upper = 1.0 if successes == n else solve(lambda p: _binom_cdf(successes, n, p) <= alpha / 2)
    return lower, upper


def newcombe(x1: int, n1: int, x2: int, n2: int, level: float = LEVEL) -> tuple[float, float]:
    """Interval for p1 - p2 from the two Wilson intervals (Newcombe's hybrid score method)."""
    p1, p2 = (x1 / n1 if n1 else 0.0), (x2 / n2 if n2 else 0.0)
    l1, u1 = wilson(x1, n1, level)
    l2, u2 = wilson(x2, n2, level)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled z-test of p1 = p2 (1.0 when nothing can differ)."""
    if not n1 or not n2:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / se
    return 2 * (1 - NormalDist().cdf(z))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def cluster_bootstrap(
    values: Sequence[Any],
    clusters: Sequence[Hashable],
    statistic: Callable[[list[Any]], float | None],
    level: float = LEVEL,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = SEED,
) -> tuple[float, float] | None:
    """Percentile interval of `statistic` over resamples of whole clusters (with replacement).

    Resamples where the statistic is undefined are dropped; None if all are.
    """
    import numpy as np

    groups: dict[Hashable, list[Any]] = {}
    for value, cluster in zip(values, clusters, strict=True):
        groups.setdefault(cluster, []).append(value)
    members = list(groups.values())
    if not members:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(members), size=(samples, len(members)))
    results = []
    for row in draws:
        sample = [v for index in row for v in members[index]]
        stat = statistic(sample)
        if stat is not None and math.isfinite(stat):
            results.append(stat)
    if not results:
        return None
    alpha = 1 - level
    lower, upper = np.quantile(results, [alpha / 2, 1 - alpha / 2])
    return float(lower), float(upper)


def measured(
    value: float | None,
    n: int,
    interval: tuple[float, float] | None,
    method: str,
    group_sizes: dict[str, int] | None = None,
    level: float = LEVEL,
) -> dict[str, Any]:
    """A metric in the shared shape; value None (undefined) keeps n and has no interval."""
    out: dict[str, Any] = {
        "value": None if value is None or not math.isfinite(value) else float(value),
        "n": int(n),
        "interval": None,
    }
    if out["value"] is not None and interval is not None:
        lower, upper = interval
        # Rounded outwards, so lower <= value <= upper survives the rounding.
        out["interval"] = {
            "lower": math.floor(min(lower, out["value"]) * 1e6) / 1e6,
            "upper": math.ceil(max(upper, out["value"]) * 1e6) / 1e6,
            "level": level,
            "method": method,
        }
    if group_sizes is not None:
        out["group_sizes"] = {str(k): int(v) for k, v in group_sizes.items()}
    return out


def rate(flags: Sequence[bool], clusters: Sequence[Hashable] | None = None) -> dict[str, Any]:
    """A proportion with its Wilson interval, widened to the cluster bootstrap's where items
    share a cluster."""
    n = len(flags)
    hits = sum(bool(f) for f in flags)
    if n == 0:
        return measured(None, 0, None, "wilson")
    lower, upper = wilson(hits, n)
    method = "wilson"
    if clusters is not None and len(set(clusters)) < n:
        boot = cluster_bootstrap([float(f) for f in flags], clusters, lambda xs: sum(xs) / len(xs))
        if boot is not None:
            lower, upper = min(lower, boot[0]), max(upper, boot[1])
            method = "wilson+bootstrap-percentile"
    return measured(hits / n, n, (lower, upper), method)


def bootstrapped(
    values: Sequence[Any],
    clusters: Sequence[Hashable],
    statistic: Callable[[list[Any]], float | None],
    n: int | None = None,
) -> dict[str, Any]:
    """A statistic of items with a cluster-bootstrap percentile interval."""
    value = statistic(list(values))
    interval = None if value is None else cluster_bootstrap(values, clusters, statistic)
    return measured(value, len(values) if n is None else n, interval, "bootstrap-percentile")


def group_comparisons(
    families: dict[str, dict[str, tuple[int, int]]], level: float = LEVEL
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The largest |p_i - p_j| over every pair of groups within each family (a family is one
    measure in one domain, e.g. negative sentiment among BOLD's race groups), with an interval
    that decides "every pair within the bound" and "some pair beyond it" at family-wise 95%.

    upper = max over pairs of the upper end of |d| from each pair's 95% Newcombe interval: "all
            pairs inside the bound" is an intersection-union test, which needs no correction;
    lower = max over pairs of the lower end of |d| from Newcombe intervals at 1 - alpha / m (m
            pairs in all families): "some pair beyond the bound" is a union of m hypotheses, and
            Holm's first step, the only one that matters for "any", is exactly this bound.
    Each pair also carries the two-sided z-test p-value of no difference, Holm-adjusted over
    all m pairs. families: {family: {group: (flagged, total)}}.
    """
    pairs = []
    sizes: dict[str, int] = {}
    for family, counts in families.items():
        names = sorted(g for g, (_, total) in counts.items() if total > 0)
        for group in names:
            sizes[f"{family}/{group}"] = counts[group][1]
        pairs += [(family, a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    n_items = max((sum(c[1] for c in counts.values()) for counts in families.values()), default=0)
    if not pairs:
        return measured(None, n_items, None, "newcombe-holm", sizes), []
    corrected = 1 - (1 - level) / len(pairs)
    rows = []
    extremes = []
    for family, a, b in pairs:
        (xa, na), (xb, nb) = families[family][a], families[family][b]
        d = xa / na - xb / nb
        lo, hi = newcombe(xa, na, xb, nb, level)
        clo, chi = newcombe(xa, na, xb, nb, corrected)
        extremes.append(
            (abs(d), 0.0 if clo <= 0 <= chi else min(abs(clo), abs(chi)), max(abs(lo), abs(hi)))
        )
        rows.append(
            {
                "family": family,
                "groups": [a, b],
                "rates": [round(xa / na, 6), round(xb / nb, 6)],
                "n": [na, nb],
                "difference": round(d, 6),
                "interval": [round(lo, 6), round(hi, 6)],
                "p_value": two_proportion_p(xa, na, xb, nb),
            }
        )
    for row, adjusted in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
        row["p_value"] = round(row["p_value"], 6)
        row["p_holm"] = round(adjusted, 6)
    value = max(e[0] for e in extremes)
    lower = max(e[1] for e in extremes)
    upper = max(e[2] for e in extremes)
    return measured(value, n_items, (lower, upper), "newcombe-holm", sizes), rows
