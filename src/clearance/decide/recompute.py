"""Independent recomputation of Clarify's bias metrics from a labelled, predicted evaluation split.

Clarify (smclarify 0.5) computes each metric with pandas filters row by row. Here every metric
except FT is a function of a small table of counts, so one vectorised function serves both the
point estimate (counts of shape (2, 2, 2)) and all bootstrap resamples at once (shape (B, 2, 2, 2)):

    counts[..., d, y, p]   d: 0 advantaged (rest) / 1 the facet (Clarify's sensitive group)
                           y: observed label positive?   p: predicted label positive?

The definitions, including the edge cases, follow smclarify's source (bias/metrics/*.py):

- `divide(a, b)`: 0 when a == b == 0, +/-inf when only b == 0 (so DI, DCA, DCR and TE can be
  infinite; Clarify writes "Infinity"); a difference of two equal infinities is 0 (DCA, DCR, TE).
- A metric smclarify refuses (an empty facet or rest group; KL/JS/LP/TVD/KS with no label value
  present in both groups; CDD without a group variable or without both label values; GE when every
  prediction is a false negative) is NaN here and `None` with the reason in `point_metrics`.
- KL, JS, LP, TVD and KS use smclarify's `pdfs_aligned_nonzero`: label values missing from either
  group are dropped and the rest is NOT renormalised.
- CDD (CDDL, CDDPL) weighs each subgroup's D - A by the subgroup's size.
- FT fits scikit-learn's k-NN (k = 5, or 1 when the rest group has at most 9 rows) on the rest
  group's features and predicted labels, as Clarify does; `neighbours.counterfactual` returns
  exactly that k-NN's predictions, faster. FT's interval resamples the facet rows' flips with the
  full-sample neighbours held fixed (documented in docs/verification.md).

The facet and label masks are derived as Clarify derives them: a categorical facet (or label) is
positive when its value is one of the configured values; a numeric one when it is above the
threshold (Clarify's interval (threshold, max]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clearance.decide import neighbours

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = (
    "DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "FT", "GE"
)  # fmt: skip
# Why a metric is undefined, in smclarify's words where it has some.
EMPTY_GROUP = "the facet or the rest group is empty"
NO_COMMON = "no label value occurs in both groups (dataset may be too small)"
NO_GROUP = "no group variable is configured (CDD needs one, as Clarify's group_name)"
ONE_LABEL = "CDD needs both label values in the data"
ALL_FN = "all predicted labels are false negatives"
FT_FEATURES = "FT needs numeric features"

FT_NEIGHBOURS, FT_MIN_NEIGHBOURS, FT_SMALL = 5, 1, 9


def positive_mask(
    values: Sequence | np.ndarray, values_or_threshold: Sequence, threshold: bool
) -> np.ndarray:
    """Clarify's positive index: value > threshold (numeric column, THRESHOLD) or membership."""
    column = np.asarray(values)
    wanted = list(values_or_threshold)
    if threshold:
        if len(wanted) != 1:
            raise ValueError(f"values_or_threshold: {wanted} is not one threshold")
        return column.astype(np.float64) > float(wanted[0])
    return np.isin(
        column, np.asarray(wanted, dtype=column.dtype if column.dtype.kind in "iufb" else object)
    )


@dataclass(frozen=True)
class BiasData:
    """One facet's evaluation split as boolean masks (and optional extras)."""

    facet: np.ndarray  # True: the facet's (sensitive) group
    label: np.ndarray  # True: observed label is favourable
    predicted: np.ndarray | None = None  # True: predicted label is favourable
    group: np.ndarray | None = None  # group variable for CDDL/CDDPL (any hashable values)
    features: np.ndarray | None = None  # numeric feature matrix (no facet/label) for FT

    def __post_init__(self) -> None:
        n = len(self.facet)
        for name in ("label", "predicted", "group", "features"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name}: {len(value)} rows for {n} facet rows")

    @property
    def group_sizes(self) -> dict[str, int]:
        facet = int(np.count_nonzero(self.facet))
        return {"facet": facet, "rest": len(self.facet) - facet}


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """smclarify's divide, elementwise: 0/0 = 0, x/0 = +/-inf."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    zero = b == 0
    return np.where(zero, np.where(a == 0, 0.0, np.copysign(np.inf, a)), out)


def _diff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x - y, with inf - inf = 0 as smclarify sets it (both ends infinite in the same direction)."""
    with np.errstate(invalid="ignore"):
        out = x - y
    return np.where(np.isinf(x) & (x == y), 0.0, out)


def _guard(value: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.where(ok, value, np.nan)


def cell_codes(data: BiasData) -> np.ndarray:
    """Per-row cell index d*4 + y*2 + p (p = 0 when there are no predictions)."""
    predicted = data.predicted if data.predicted is not None else np.zeros(len(data.facet), bool)
    return data.facet.astype(np.int64) * 4 + data.label.astype(np.int64) * 2 + predicted


def counts_of(codes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Counts table (..., 2, 2, 2) from cell codes, optionally per weight row (B, rows)."""
    onehot = (codes[:, None] == np.arange(8)[None, :]).astype(np.float64)
    if weights is None:
        return onehot.sum(axis=0).reshape(2, 2, 2)
    return (weights @ onehot).reshape(-1, 2, 2, 2)


def pre_training(c: np.ndarray) -> dict[str, np.ndarray]:
    """CI, DPL, KL, JS, LP, TVD, KS from counts (..., 2, 2, 2); NaN where smclarify refuses."""
    n = c.sum(axis=(-1, -2))  # (..., 2): rows of rest, facet
    n_a, n_d = n[..., 0], n[..., 1]
    pos = c[..., 1, :].sum(axis=-1)  # (..., 2) positive labels per group
    ok = (n_a > 0) & (n_d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = pos / n
        neg_share = (n - pos) / n
        out = {
            "CI": _guard((n_a - n_d) / (n_a + n_d), ok),
            "DPL": _guard(q[..., 0] - q[..., 1], ok),
        }
        pa = np.stack([neg_share[..., 0], q[..., 0]], axis=-1)  # P(label value) in rest
        pd_ = np.stack([neg_share[..., 1], q[..., 1]], axis=-1)  # ... in the facet
        keep = (pa > 0) & (pd_ > 0) & ok[..., None]
        common = keep.any(axis=-1)
        mix = (pa + pd_) / 2
        kl = np.where(keep, pa * np.log(pa / pd_), 0.0).sum(axis=-1)
        js = 0.5 * (
            np.where(keep, pa * np.log(pa / mix), 0.0).sum(axis=-1)
            + np.where(keep, pd_ * np.log(pd_ / mix), 0.0).sum(axis=-1)
        )
        gap = np.where(keep, np.abs(pa - pd_), 0.0)
    out["KL"] = _guard(kl, common)
    out["JS"] = _guard(js, common)
    out["LP"] = _guard(np.sqrt((gap**2).sum(axis=-1)), common)
    out["TVD"] = _guard(0.5 * gap.sum(axis=-1), common)
    out["KS"] = _guard(gap.max(axis=-1), common)
    return out


def post_training(c: np.ndarray) -> dict[str, np.ndarray]:
    """DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, TE, GE from counts (..., 2, 2, 2)."""
    tp, fn = c[..., 1, 1], c[..., 1, 0]  # (..., 2) per group: [rest, facet]
    fp, tn = c[..., 0, 1], c[..., 0, 0]
    n = tp + fn + fp + tn
    ok = (n[..., 0] > 0) & (n[..., 1] > 0)
    pos, neg, pos_hat, neg_hat = tp + fn, fp + tn, tp + fp, fn + tn

    def a(x: np.ndarray) -> np.ndarray:
        return x[..., 0]

    def d(x: np.ndarray) -> np.ndarray:
        return x[..., 1]

    q_hat = _divide(pos_hat, n)
    ca, rr = _divide(pos, pos_hat), _divide(neg, neg_hat)
    recall, specificity = _divide(tp, tp + fn), _divide(tn, tn + fp)
    acceptance, rejection = _divide(tp, pos_hat), _divide(tn, neg_hat)
    accuracy, tau = _divide(tp + tn, n), _divide(fn, fp)
    out = {
        "DPPL": a(q_hat) - d(q_hat),
        "DI": _divide(d(q_hat), a(q_hat)),
        "DCA": _diff(a(ca), d(ca)),
        "DCR": _diff(d(rr), a(rr)),
        "RD": _diff(a(recall), d(recall)),
        "SD": _diff(d(specificity), a(specificity)),
        "DAR": _diff(a(acceptance), d(acceptance)),
        "DRR": _diff(d(rejection), a(rejection)),
        "AD": _diff(a(accuracy), d(accuracy)),
        "TE": _diff(d(tau), a(tau)),
    }
    out = {name: _guard(value, ok) for name, value in out.items()}
    out["GE"] = generalized_entropy(c)
    return out


def generalized_entropy(c: np.ndarray, alpha: float = 2.0) -> np.ndarray:
    """GE(alpha=2) over all rows: benefit b = predicted - label + 1 (0 for FN, 1 right, 2 FP)."""
    by_cell = c.sum(axis=-3)  # (..., y, p)
    fn, fp = by_cell[..., 1, 0], by_cell[..., 0, 1]
    right = by_cell[..., 0, 0] + by_cell[..., 1, 1]
    total = fn + fp + right
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (right + 2 * fp) / total
        terms = fn * (0.0**alpha - 1) + right * ((1 / mean) ** alpha - 1)
        terms = terms + fp * ((2 / mean) ** alpha - 1)
        value = terms / (total * alpha * (alpha - 1))
    return _guard(value, (total > 0) & (mean > 0))


def group_codes(group: np.ndarray) -> tuple[np.ndarray, int]:
    """Group variable as codes 0..G-1 (sorted unique values) and G."""
    _, codes = np.unique(np.asarray(group), return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1 if len(codes) else 0


def cdd_columns(
    facet: np.ndarray, outcome: np.ndarray, codes: np.ndarray, groups: int
) -> np.ndarray:
    """Indicator columns (rows, 4*G) for CDD's counts: [d, y, g] flattened."""
    cell = facet.astype(np.int64) * 2 * groups + outcome.astype(np.int64) * groups + codes
    return (cell[:, None] == np.arange(4 * groups)[None, :]).astype(np.float64)


def cdd(counts: np.ndarray) -> np.ndarray:
    """CDD from counts (..., 2, 2, G): sum_g n_g (D_g - A_g) / n, NaN without both outcomes."""
    positives = counts[..., :, 1, :]  # (..., 2, G)
    negatives = counts[..., :, 0, :]
    acc_all, rej_all = positives.sum(axis=-2), negatives.sum(axis=-2)  # (..., G)
    accepted = _share(positives[..., 1, :], acc_all)
    rejected = _share(negatives[..., 1, :], rej_all)
    size = acc_all + rej_all
    total = size.sum(axis=-1)
    ok = (acc_all.sum(axis=-1) > 0) & (rej_all.sum(axis=-1) > 0)
    value = _divide((size * (rejected - accepted)).sum(axis=-1), total)
    return _guard(value, ok)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / whole, 0.0)


def flips(data: BiasData) -> np.ndarray | None:
    """FT per row: +1 / -1 for a facet row whose model label beats / loses to its k-NN
    counterfactual from the rest group, 0 otherwise; None when FT is undefined."""
    if data.features is None or data.predicted is None:
        return None
    features = np.asarray(data.features)
    if features.dtype.kind not in "biuf":
        return None
    rest, facet = ~data.facet, data.facet
    if not rest.any() or not facet.any():
        return None
    k = FT_NEIGHBOURS if int(rest.sum()) > FT_SMALL else FT_MIN_NEIGHBOURS
    predicted = data.predicted.astype(bool)
    counterfactual, _ = neighbours.counterfactual(
        features[rest], predicted[rest], features[facet], k
    )
    out = np.zeros(len(data.facet), dtype=np.float64)
    out[facet] = predicted[facet].astype(np.int64) - counterfactual.astype(np.int64)
    return out


def point_metrics(
    data: BiasData, stage: str, flip: np.ndarray | None | bool = False
) -> dict[str, tuple[float | None, str | None]]:
    """Every metric of STAGE ("pre_training" | "post_training"): name -> (value, why undefined).

    FLIP: FT's per-row flips when the caller has them already (`flips(data)`, the costly k-NN).
    """
    label_side = stage == "pre_training"
    if not label_side and data.predicted is None:
        raise ValueError("predicted: post-training metrics need the model's predicted labels")
    c = counts_of(cell_codes(data))
    values = pre_training(c) if label_side else post_training(c)
    n_rest, n_facet = c.sum(axis=(-1, -2))
    empty = not (n_rest and n_facet)
    reasons: dict[str, str | None] = dict.fromkeys(values, EMPTY_GROUP)
    if not empty:
        reasons.update(dict.fromkeys(("KL", "JS", "LP", "TVD", "KS"), NO_COMMON))
    if "GE" in values:
        reasons["GE"] = ALL_FN if len(data.facet) else "the dataset is empty"
    name = "CDDL" if label_side else "CDDPL"
    outcome = data.label if label_side else data.predicted
    if data.group is None or not len(data.group):
        values[name], reasons[name] = np.float64(np.nan), NO_GROUP
    else:
        codes, groups = group_codes(data.group)
        table = cdd_columns(data.facet, outcome, codes, groups).sum(axis=0)
        values[name], reasons[name] = cdd(table.reshape(2, 2, groups)), ONE_LABEL
    if not label_side:
        flip = flips(data) if flip is False else flip
        n_facet_rows = int(data.facet.sum())
        values["FT"] = np.float64(np.nan if flip is None else flip.sum() / n_facet_rows)
        reasons["FT"] = FT_FEATURES if data.features is not None else "no features for FT"
        if flip is None and not (n_rest and n_facet):
            reasons["FT"] = EMPTY_GROUP
    result: dict[str, tuple[float | None, str | None]] = {}
    for key, value in values.items():
        number = float(value)
        result[key] = (None, reasons[key]) if np.isnan(number) else (number, None)
    return result
