"""Global SHAP, recomputed exactly on a sample: what Clarify's Kernel SHAP estimates.

Clarify's `kernel_shap` (and the template's local build, with shap's KernelExplainer) estimates
interventional Shapley values: a feature left out of a coalition takes its values from baseline
rows, and the model's output is averaged over them. With M features there are only 2^M coalitions,
so for the template's 9 features the values can be computed exactly (512 coalitions x baseline
rows x explained rows model calls, one batched prediction) instead of sampled. The global value is
Clarify's default aggregation, mean |SHAP| per feature; its interval bootstraps the explained rows.

Governance cannot reuse the team's baseline and explained rows (the bundle carries the evaluation
split, not the team's sample), so it draws its own from the split with a fixed seed: the two
estimates differ by sampling as well as by Kernel SHAP's own noise, hence the loose comparison
tolerance (SHAP_TOLERANCE, docs/verification.md). Above MAX_FEATURES features the exact sum is
too large and the explainability report is left unverified (said in the check's reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

MAX_FEATURES = 12
EXPLAIN_ROWS = 40
BASELINE_ROWS = 20


def shapley_values(
    predict: Callable[[np.ndarray], np.ndarray], explain: np.ndarray, baseline: np.ndarray
) -> np.ndarray:
    """Exact interventional Shapley values, shape (rows, features)."""
    rows, m = explain.shape
    if m > MAX_FEATURES:
        raise ValueError(f"{m} features: exact Shapley values stop at {MAX_FEATURES}")
    subsets = np.arange(2**m)
    member = ((subsets[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)  # (2^m, m)
    # inputs[r, s, b, j] = explain[r, j] if j in s else baseline[b, j]
    inputs = np.where(member[None, :, None, :], explain[:, None, None, :], baseline[None, None])
    outputs = predict(inputs.reshape(-1, m)).reshape(rows, 2**m, len(baseline)).mean(axis=2)
    sizes = member.sum(axis=1)
    weight = np.array(
        [math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m) for k in range(m)]
    )
    values = np.zeros((rows, m))
    for j in range(m):
        without = subsets[~member[:, j]]
        gain = outputs[:, without | (1 << j)] - outputs[:, without]
        values[:, j] = gain @ weight[sizes[without]]
    return values


def global_shap(
    predict: Callable[[np.ndarray], np.ndarray],
    data: np.ndarray,
    seed: int,
    explain_rows: int = EXPLAIN_ROWS,
    baseline_rows: int = BASELINE_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean |SHAP| per feature, per-row |SHAP| (rows, features)) on a seeded sample of DATA."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    explain = data[order[:explain_rows]]
    baseline = data[order[explain_rows : explain_rows + baseline_rows]]
    if len(baseline) == 0:
        baseline = explain
    magnitudes = np.abs(shapley_values(predict, explain, baseline))
    return magnitudes.mean(axis=0), magnitudes
