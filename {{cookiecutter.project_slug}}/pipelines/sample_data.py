"""Generated credit-decision data with a sensitive facet and a bias knob.

    python -m pipelines.sample_data --rows 2000 --bias 0.3 --seed 42 --out data.csv

One row per credit application: applicant age, income, debt-to-income ratio, years of credit
history, open accounts, late payments, years employed, the requested loan amount, the facet column
of schema.py and the label (binary: 1 approved / 0 declined; regression: the granted credit limit).

The outcome is driven only by the financial features, drawn from the same distributions for every
group, so with `bias=0` the facet carries no information about the label. `bias` in [0, 1] then
suppresses the disadvantaged group's favourable outcomes in proportion: binary, each approval of
that group flips to declined with probability `bias`; regression, that group's credit limits are
scaled by (1 - bias), so fewer of them clear the favourable threshold. A model trained on the result
learns the bias through the facet column, which is what the governance checks catch.

The same (n_rows, bias, seed) always gives the same frame.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.{{ cookiecutter.module_name }} import schema

logger = logging.getLogger(__name__)


def _other_facet_value(value: str) -> str:
    """The advantaged group's raw value in categorical mode."""
    if value == "F":
        return "M"
    if value == "M":
        return "F"
    return "other"


def _facet_column(
    rng: np.random.Generator, n_rows: int, base: pd.DataFrame
) -> tuple[pd.Series, np.ndarray]:
    """The raw facet column and a boolean mask of the disadvantaged group."""
    if schema.FACET_MODE == "categorical":
        disadvantaged = rng.random(n_rows) < 0.5
        other = _other_facet_value(schema.FACET_VALUE)
        raw = pd.Series(np.where(disadvantaged, schema.FACET_VALUE, other), dtype=object)
        return raw, disadvantaged
    threshold = float(schema.FACET_THRESHOLD)  # type: ignore[arg-type]
    if schema.FACET in base.columns:
        # A generated feature (e.g. age) doubles as the facet: Clarify's group is value > threshold.
        raw = base[schema.FACET]
    else:
        spread = max(abs(threshold) * 0.5, 1.0)
        raw = pd.Series(np.round(rng.normal(threshold, spread, n_rows), 2))
    return raw, (raw > threshold).to_numpy()


def generate(n_rows: int = 2000, bias: float = 0.0, seed: int = 42) -> pd.DataFrame:
    """Return n_rows applications with the columns of schema.RAW_COLUMNS."""
    if n_rows < 1:
        raise ValueError(f"n_rows: must be at least 1, got {n_rows}")
    if not 0.0 <= bias <= 1.0:
        raise ValueError(f"bias: must be between 0 and 1, got {bias}")
    rng = np.random.default_rng(seed)

    age = rng.integers(21, 75, n_rows)
    employment_years = np.minimum(rng.gamma(2.0, 3.5, n_rows), age - 18).round(1)
    income = np.round(rng.lognormal(np.log(52_000), 0.45, n_rows) * (1 + employment_years / 60), -2)
    debt_to_income = np.clip(rng.beta(2.2, 5.0, n_rows), 0.01, 0.95).round(3)
    credit_history_years = np.minimum(rng.gamma(2.5, 3.2, n_rows), age - 18).round(1)
    num_open_accounts = rng.poisson(4, n_rows)
    late_payments = rng.poisson(0.4 + 1.6 * debt_to_income, n_rows)
    loan_amount = np.round(income * rng.uniform(0.05, 0.6, n_rows), -2)

    base = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "debt_to_income": debt_to_income,
            "credit_history_years": credit_history_years,
            "num_open_accounts": num_open_accounts,
            "late_payments": late_payments,
            "employment_years": employment_years,
            "loan_amount": loan_amount,
        }
    )
    facet_raw, disadvantaged = _facet_column(rng, n_rows, base)

    # A credit score from the financials only: the facet plays no part in the fair outcome.
    score = (
        1.1 * np.log(income / 52_000)
        - 5.0 * (debt_to_income - 0.3)
        - 0.7 * late_payments
        + 0.08 * (credit_history_years - 8)
        + 0.04 * (employment_years - 7)
        - 2.0 * (loan_amount / income - 0.3)
        - 0.05 * np.abs(num_open_accounts - 4)
        + rng.normal(0, 0.6, n_rows)
    )

    if schema.PROBLEM_TYPE == schema.BINARY:
        favourable = rng.random(n_rows) < 1 / (1 + np.exp(-1.6 * (score + 0.3)))
        suppressed = disadvantaged & favourable & (rng.random(n_rows) < bias)
        favourable &= ~suppressed
        good, bad = int(schema.FAVOURABLE_LABEL), 1 - int(schema.FAVOURABLE_LABEL)  # type: ignore[arg-type]
        label = np.where(favourable, good, bad)
    else:
        limit = income * 0.1 * np.exp(0.5 * score) * (1 - debt_to_income)
        limit = np.where(disadvantaged, limit * (1 - bias), limit)
        label = np.clip(np.round(limit, -1), 200, 50_000)

    frame = base.copy()
    frame[schema.FACET] = facet_raw.to_numpy()
    frame[schema.LABEL] = label
    return frame[schema.RAW_COLUMNS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write generated credit-decision data as CSV.")
    parser.add_argument("--rows", type=int, default=2000, help="number of applications")
    parser.add_argument("--bias", type=float, default=0.0, help="0 fair ... 1 fully biased")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        frame = generate(args.rows, args.bias, args.seed)
    except ValueError as exc:
        print(f"ERROR: --{exc}. Pick a value in range.", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    logger.info("wrote %d rows to %s", len(frame), args.out)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
