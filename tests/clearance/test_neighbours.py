"""FT's fast k-NN gives exactly scikit-learn's (so smclarify's) counterfactuals, ties included.

The reference below is written out as smclarify 0.5's FT configures it (bias/metrics/
posttraining.py), independently of clearance.decide.neighbours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsClassifier

from clearance.decide import neighbours, recompute


def smclarify_knn(rest_x, rest_y, query_x, k) -> np.ndarray:
    knn = KNeighborsClassifier(
        n_neighbors=k,
        weights="uniform",
        algorithm="auto",
        leaf_size=30,
        p=2,
        metric="minkowski",
        metric_params=None,
        n_jobs=None,
    )
    knn.fit(np.array(rest_x), np.array(rest_y))
    return np.asarray(knn.predict(query_x), dtype=bool)


def features(kind: str, rows: int, width: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "continuous":
        return rng.normal(size=(rows, width))
    if kind == "integers":  # a small grid: most distances tie
        return rng.integers(0, 3, (rows, width)).astype(float)
    if kind == "rounded":
        return rng.normal(size=(rows, width)).round(1)
    if kind == "duplicated":
        return np.repeat(rng.normal(size=(rows // 3 + 1, width)), 3, axis=0)[:rows]
    # Large offset, tiny spacing: the brute-force |x|^2 - 2 x.y + |y|^2 rounds visibly here.
    return 1e7 + rng.integers(0, 5, (rows, width)) * 1e-3


KINDS = ["continuous", "integers", "rounded", "duplicated", "offset"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [1, 2, 8, 16])  # 16 features: scikit-learn uses brute force
@pytest.mark.parametrize("rest", [1, 3, 9, 10, 11, 12, 300])  # k = 1 up to 9, brute at 10-11
def test_counterfactual_is_scikit_learns(kind: str, width: int, rest: int) -> None:
    rng = np.random.default_rng(rest * 100 + width)
    x = features(kind, rest + 150, width, rng)
    y = rng.random(len(x)) < 0.5
    k = recompute.FT_NEIGHBOURS if rest > recompute.FT_SMALL else recompute.FT_MIN_NEIGHBOURS
    ours, asked = neighbours.counterfactual(x[:rest], y[:rest], x[rest:], k)
    assert np.array_equal(ours, smclarify_knn(x[:rest], y[:rest], x[rest:], k))
    assert 0 <= asked <= 150


def grid_case() -> tuple[np.ndarray, np.ndarray]:
    """3,000 rows on a 27-point grid: nearly every row has tied neighbours."""
    rng = np.random.default_rng(2)
    return rng.integers(0, 3, (3000, 3)).astype(float), rng.random(3000) < 0.5


def test_separated_rows_need_no_scikit_learn_and_ties_do() -> None:
    rng = np.random.default_rng(1)
    smooth = rng.normal(size=(3000, 8))
    y = rng.random(3000) < 0.5
    _, asked = neighbours.counterfactual(smooth[:2000], y[:2000], smooth[2000:], 5)
    assert asked == 0  # continuous features: every row is decided by the fast search
    grid, y = grid_case()
    ours, asked = neighbours.counterfactual(grid[:2000], y[:2000], grid[2000:], 5)
    assert asked > 500
    assert np.array_equal(ours, smclarify_knn(grid[:2000], y[:2000], grid[2000:], 5))


def test_without_the_tie_check_the_grid_would_disagree(monkeypatch) -> None:
    """The grid is discriminating: trusting the fast search on tied rows gives other answers."""
    grid, y = grid_case()
    monkeypatch.setattr(neighbours, "separated", lambda rest, query, *_: np.ones(len(query), bool))
    ours, asked = neighbours.counterfactual(grid[:2000], y[:2000], grid[2000:], 5)
    assert asked == 0
    assert not np.array_equal(ours, smclarify_knn(grid[:2000], y[:2000], grid[2000:], 5))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(
        st.tuples(st.integers(-2, 2), st.integers(-2, 2), st.booleans(), st.booleans()),
        min_size=2,
        max_size=80,
    ),
    scale=st.sampled_from([1.0, 0.1, 1e-6, 1e6]),
    offset=st.sampled_from([0.0, 1e6]),
)
def test_counterfactual_is_scikit_learns_on_any_grid(points, scale, offset) -> None:
    x = np.array([(a, b) for a, b, _, _ in points], dtype=float) * scale + offset
    y = np.array([label for _, _, label, _ in points])
    facet = np.array([side for _, _, _, side in points])
    if facet.all() or not facet.any():
        return
    k = recompute.FT_NEIGHBOURS if (~facet).sum() > recompute.FT_SMALL else 1
    ours, _ = neighbours.counterfactual(x[~facet], y[~facet], x[facet], k)
    assert np.array_equal(ours, smclarify_knn(x[~facet], y[~facet], x[facet], k))


def test_non_finite_features_are_refused_as_scikit_learn_refuses_them() -> None:
    x = np.array([[0.0], [1.0], [np.nan], [2.0]])
    with pytest.raises(ValueError):
        neighbours.counterfactual(x[:2], np.array([True, False]), x[2:], 1)


@pytest.mark.parametrize("kind", ["continuous", "rounded"])
def test_ft_point_value_is_smclarifys(kind: str) -> None:
    from smclarify.bias.metrics import posttraining

    rng = np.random.default_rng(5)
    x = features(kind, 2500, 4, rng)
    facet = rng.random(2500) < 0.35
    predicted = rng.random(2500) < 0.5 + 0.2 * (x[:, 0] > 0)
    data = recompute.BiasData(facet, predicted, predicted, features=x)
    theirs = posttraining.FT(pd.DataFrame(x), pd.Series(facet), pd.Series(predicted))
    ours = recompute.point_metrics(data, "post_training")["FT"][0]
    assert ours == theirs


def test_the_rounding_margin_is_needed(monkeypatch) -> None:
    """Large offsets, tiny spacing, brute force: without the margin one row comes out wrong."""
    rng = np.random.default_rng(3 * 100 + 1)
    x = features("offset", 3 + 150, 1, rng)
    y = rng.random(len(x)) < 0.5
    reference = smclarify_knn(x[:3], y[:3], x[3:], 1)
    assert np.array_equal(neighbours.counterfactual(x[:3], y[:3], x[3:], 1)[0], reference)
    monkeypatch.setattr(neighbours, "RTOL", 0.0)
    assert not np.array_equal(neighbours.counterfactual(x[:3], y[:3], x[3:], 1)[0], reference)
