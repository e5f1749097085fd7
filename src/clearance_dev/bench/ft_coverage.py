"""How often FT's interval covers FT's expectation: a Monte Carlo check (figures, never asserted).

    python -m clearance_dev.bench.ft_coverage [--rows 2000] [--samples 500] [--truth 2000]
                                              [--refit-samples 0] [--refit-resamples 200]

A population with two numeric features, a facet shifted by 0.5 in both, and a noisy model that
favours the facet less (`population`). THETA, FT's expectation at ROWS rows, is the mean FT of
TRUTH independent samples. Then, over SAMPLES fresh samples, the share whose 95 % FT interval
(`measure.measure_bias`: full-sample neighbours held fixed, facet flips resampled) contains THETA.
With --refit-samples N, the same for N samples with the naive bootstrap that searches the
neighbours again within every resample (REFIT_RESAMPLES resamples each; slow).
docs/verification.md quotes the figures.
"""

from __future__ import annotations

import argparse

import numpy as np

from clearance.decide import measure, recompute


def population(rng: np.random.Generator, rows: int, gap: float = 0.3) -> recompute.BiasData:
    facet = rng.random(rows) < 0.3
    x = rng.normal(size=(rows, 2)) + 0.5 * facet[:, None]
    predicted = x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.7, rows) - gap * facet > 0
    return recompute.BiasData(facet, predicted, predicted, features=x)


def ft(data: recompute.BiasData) -> float:
    flips = recompute.flips(data)
    assert flips is not None
    return float(flips.sum() / data.facet.sum())


def refit_interval(
    data: recompute.BiasData, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile interval of FT re-estimated (neighbours searched again) on each resample."""
    members = [np.flatnonzero(~data.facet), np.flatnonzero(data.facet)]
    values = []
    for _ in range(resamples):
        rows = np.concatenate([m[rng.integers(0, len(m), len(m))] for m in members])
        values.append(
            ft(
                recompute.BiasData(
                    data.facet[rows],
                    data.label[rows],
                    data.predicted[rows],
                    features=data.features[rows],
                )
            )
        )
    lower, upper = np.quantile(values, [0.025, 0.975])
    return float(lower), float(upper)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--truth", type=int, default=2000)
    parser.add_argument("--refit-samples", type=int, default=0)
    parser.add_argument("--refit-resamples", type=int, default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    truths = [ft(population(rng, args.rows)) for _ in range(args.truth)]
    theta, spread = float(np.mean(truths)), float(np.std(truths))
    print(
        f"rows {args.rows}: theta {theta:.4f} (+/- {spread / np.sqrt(args.truth):.4f}), FT's "
        f"sampling sd {spread:.4f}, so a 95 % interval about {2 * 1.96 * spread:.4f} wide"
    )
    covered, widths = 0, []
    for seed in range(args.samples):
        measured = measure.measure_bias(population(rng, args.rows), "post_training", seed=seed)
        lower, upper = measured["FT"].interval.lower, measured["FT"].interval.upper
        covered += lower <= theta <= upper
        widths.append(upper - lower)
    print(
        f"  full-sample neighbours: covers theta in {covered / args.samples:.1%} of "
        f"{args.samples} samples, mean width {np.mean(widths):.4f}"
    )
    if args.refit_samples:
        covered, widths = 0, []
        for _ in range(args.refit_samples):
            lower, upper = refit_interval(population(rng, args.rows), args.refit_resamples, rng)
            covered += lower <= theta <= upper
            widths.append(upper - lower)
        print(
            f"  neighbours searched per resample: covers theta in "
            f"{covered / args.refit_samples:.1%} of {args.refit_samples} samples, mean width "
            f"{np.mean(widths):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
