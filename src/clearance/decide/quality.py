"""Model quality metrics as SageMaker Model Monitor reports them, for one split or many resamples.

Binary (Model Monitor `binary_classification_metrics`): accuracy, precision, recall, f1, auc.
Regression (`regression_metrics`): mse, rmse, mae, r2. Definitions as Model Monitor and the team
template (scikit-learn) compute them: precision and recall are undefined (NaN) with an empty
denominator, f1 is 0 there (scikit-learn's zero_division=0), auc is the Mann-Whitney statistic with
ties counted one half (scikit-learn's roc_auc_score, NaN unless both labels occur), and r2 of a
constant label is 1 for a perfect fit and 0 otherwise (scikit-learn's force_finite).

Every function takes optional bootstrap weights (B, rows) from `stats.resample_weights` and then
returns one value per resample; without weights it returns plain floats. AUC under weights sorts the
scores once and sums tie groups with `np.add.reduceat`, so B resamples cost B weighted cumulative
sums, not B sorts.
"""

from __future__ import annotations

import math

import numpy as np

BINARY = ("accuracy", "precision", "recall", "f1", "auc")
REGRESSION = ("mse", "rmse", "mae", "r2")


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    return np.ones((1, n)) if weights is None else np.asarray(weights, dtype=np.float64)


def _ratio(a: np.ndarray, b: np.ndarray, empty: float = math.nan) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, empty)


def _unwrap(values: dict[str, np.ndarray], weights: np.ndarray | None) -> dict:
    if weights is None:
        return {name: float(value[0]) for name, value in values.items()}
    return values


def confusion(y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(B, 4) weighted counts [tp, fp, fn, tn] (B = 1 without weights)."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    cells = np.stack([y & pred, ~y & pred, y & ~pred, ~y & ~pred], axis=1).astype(np.float64)
    return _weights(len(y), weights) @ cells


def auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(B,) AUC: P(score of a positive > score of a negative) + half the ties."""
    y = np.asarray(y, dtype=bool)
    w = _weights(len(y), weights)
    if len(y) == 0:
        return np.full(w.shape[0], np.nan)
    order = np.argsort(np.asarray(score, dtype=np.float64), kind="stable")
    sorted_score = np.asarray(score, dtype=np.float64)[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_score) != 0) + 1])
    w_sorted = w[:, order]
    positives = np.add.reduceat(w_sorted * y[order], starts, axis=1)
    negatives = np.add.reduceat(w_sorted * ~y[order], starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    wins = (positives * (below + 0.5 * negatives)).sum(axis=1)
    return _ratio(wins, positives.sum(axis=1) * negatives.sum(axis=1))


def binary(
    y: np.ndarray, pred: np.ndarray, score: np.ndarray | None, weights: np.ndarray | None = None
) -> dict:
    """accuracy, precision, recall, f1 and (with SCORE) auc."""
    tp, fp, fn, tn = confusion(y, pred, weights).T
    values = {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, empty=0.0),
    }
    if score is not None:
        values["auc"] = auc(y, score, weights)
    return _unwrap(values, weights)


def regression(y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """mse, rmse, mae, r2 (weighted sums, so a resample is one matrix product)."""
    y = np.asarray(y, dtype=np.float64)
    error = np.asarray(pred, dtype=np.float64) - y
    w = _weights(len(y), weights)
    if len(y) == 0:
        nan = np.full(w.shape[0], np.nan)
        return _unwrap(dict.fromkeys(REGRESSION, nan), weights)
    # Centre y on its mean first so the sum of squares does not lose digits on large labels.
    centred = y - y.mean()
    sums = w @ np.stack([np.ones_like(y), error**2, np.abs(error), centred, centred**2], axis=1)
    n, sse, sae, s1, s2 = sums.T
    mse = _ratio(sse, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = s2 - s1 * s1 / n
    # Relative tolerance: a constant label leaves float dust in TOTAL.
    constant = total <= 1e-12 * np.maximum(s2, 1.0)
    r2 = np.where(constant, np.where(sse == 0, 1.0, 0.0), 1 - _ratio(sse, total))
    values = {"mse": mse, "rmse": np.sqrt(mse), "mae": _ratio(sae, n), "r2": r2}
    if len(y) < 2 and weights is None:
        values["r2"] = np.array([np.nan])
    return _unwrap(values, weights)
