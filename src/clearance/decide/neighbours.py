"""FT's k-nearest-neighbour counterfactuals: scikit-learn's answer, computed fast.

smclarify's FT fits `KNeighborsClassifier(n_neighbors=k, weights="uniform", algorithm="auto",
leaf_size=30, p=2)` on the rest group's features and predicted labels and predicts every facet
row. A uniform vote depends only on WHICH k rest rows are nearest (ties in the vote go to the
smallest class, False), so any exact search that finds the same k rows gives the same answer:

1. scipy's cKDTree (an exact search, `WORKERS` threads) finds the k + 1 nearest rest rows of every
   facet row; the query rows are visited in the tree's own spatial order (cache locality);
2. the squared distances to those k + 1 rows are recomputed in float64. Where the k-th and the
   (k+1)-th are further apart than any rounding could bridge (`separated`: far above the error of
   a direct sum of squares, of scikit-learn's k-d tree, and of its brute-force |x|^2 - 2 x.y +
   |y|^2 expansion), every exact search returns the same k rows, and the vote is computed here;
3. the other rows (exact or near ties: duplicated rows, integer or rounded features) are predicted
   by scikit-learn itself, configured as smclarify configures it: only those rows when it picked a
   tree (a tree query is per row, so a subset gets the same neighbours), every facet row when it
   picked brute force (then its whole answer is used, as smclarify would get it).

Above MAX_TREE_FEATURES features (where scikit-learn uses brute force) and with non-finite
features (it raises, as it does for smclarify) scikit-learn answers every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Above this many features scikit-learn itself answers (brute force over BLAS): a k-d tree no
# longer prunes (cKDTree took 6x scikit-learn's CPU at 16 features), and it is smclarify's path.
MAX_TREE_FEATURES = 15
WORKERS = 2  # the machine budget the bench states (2 cores); results do not depend on it
# Rows whose k-th and (k+1)-th squared distances are closer than RTOL * (m + 3) * (|x|^2 + d_k+1)
# (m features) are left to scikit-learn. Any method rounds one squared distance by less than
# (m + 3) * 2**-52 * (|x|^2 + |y|^2) <= 3 (m + 3) 2**-52 (|x|^2 + d), as |y|^2 <= 2 |x|^2 + 2 d
# (brute force's expansion is the worst; a direct sum of squares is within 2**-52 m d), so the
# margin 2**10 * 2**-52 leaves a factor of about 170 over the two distances compared.
RTOL = 2.0**-42


def fitted(rest_x: np.ndarray, rest_y: np.ndarray, k: int) -> Any:
    """smclarify's own k-NN (the reference), fitted on the rest group."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(
        n_neighbors=k, weights="uniform", algorithm="auto", leaf_size=30, p=2
    )
    return knn.fit(rest_x, rest_y)


def _candidates(rest_x: np.ndarray, query_x: np.ndarray, want: int) -> np.ndarray:
    """Indices (queries, WANT) of the WANT nearest rest rows (cKDTree, exact), query order kept."""
    from scipy.spatial import cKDTree

    tree = cKDTree(rest_x, leafsize=16, balanced_tree=False)
    # Rebuilding on the tree-ordered rows puts neighbours next to each other in memory.
    order = tree.indices
    tree = cKDTree(rest_x[order], leafsize=16, balanced_tree=False)
    visit = cKDTree(query_x, leafsize=16, balanced_tree=False).indices
    _, found = tree.query(query_x[visit], k=want, workers=WORKERS)
    found = np.asarray(found).reshape(len(visit), want)
    out = np.empty_like(found)
    out[visit] = order[found]
    return out


def separated(rest_x: np.ndarray, query_x: np.ndarray, found: np.ndarray, k: int) -> np.ndarray:
    """True where the k nearest of FOUND (k + 1 candidates per query) are beyond any rounding."""
    if found.shape[1] <= k:  # every rest row is a neighbour: nothing to choose
        return np.ones(len(query_x), dtype=bool)
    squared = np.empty(found.shape, dtype=np.float64)
    for j in range(found.shape[1]):  # k + 1 <= 6 columns; rows stay vectorised
        gap = query_x - rest_x[found[:, j]]
        squared[:, j] = np.einsum("ij,ij->i", gap, gap)
    inner, outer = squared[:, :k].max(axis=1), squared[:, k]
    scale = np.einsum("ij,ij->i", query_x, query_x) + outer
    return outer - inner > RTOL * (query_x.shape[1] + 3) * scale


def counterfactual(
    rest_x: np.ndarray, rest_y: np.ndarray, query_x: np.ndarray, k: int
) -> tuple[np.ndarray, int]:
    """scikit-learn's k-NN prediction for every QUERY_X row, and how many rows it had to answer.

    REST_X, QUERY_X: float64 feature rows; REST_Y: the rest rows' (boolean) labels.
    """
    rest_x = np.ascontiguousarray(rest_x, dtype=np.float64)
    query_x = np.ascontiguousarray(query_x, dtype=np.float64)
    rest_y = np.asarray(rest_y, dtype=bool)
    finite = np.isfinite(rest_x).all() and np.isfinite(query_x).all()
    if not finite or query_x.shape[1] > MAX_TREE_FEATURES:
        return fitted(rest_x, rest_y, k).predict(query_x).astype(bool), len(query_x)
    want = min(k + 1, len(rest_x))
    found = _candidates(rest_x, query_x, want)
    votes = rest_y[found[:, :k]].sum(axis=1, dtype=np.int64)
    out = 2 * votes > k  # a tie in the vote goes to the smallest class, False
    unsure = np.flatnonzero(~separated(rest_x, query_x, found, k))
    if len(unsure):
        knn = fitted(rest_x, rest_y, k)
        if knn._fit_method == "brute":  # one batch, exactly as smclarify runs it
            return knn.predict(query_x).astype(bool), len(query_x)
        out[unsure] = knn.predict(query_x[unsure]).astype(bool)
    return out, len(unsure)
