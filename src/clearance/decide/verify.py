"""Verify a package: score its split with the registered model, recompute, compare with the reports.

The governance side never takes the team's predictions: `score` loads the registered artifact
(the built-in XGBoost `xgboost-model` inside model.tar.gz, read from bytes in JSON, UBJSON or
binary form; a pickled model is refused, since unpickling team bytes would run team code in the
governance account) and predicts the bundle's evaluation split. `recompute` then measures every
Clarify bias metric (pre-training on the training split's label and facet, post-training on the
evaluation split with the governance predictions) and the Model Monitor quality metrics, each with
its 95 % interval and group sizes (`clearance.decide.measure`).

`compare` states the tolerance: a reported value passes when |reported - recomputed| <= TOLERANCE
(1e-4), or, for the scale-dependent regression errors (mse, rmse, mae), 1e-6 relative. 1e-4 is
far above floating-point noise (the recomputation matches smclarify to 1e-15) and below the
smallest change one row makes to any proportion-based metric on a group of up to 10,000 rows, so a
report edited by hand, or computed from other predictions, fails with both numbers in its reason.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clearance.decide import measure, recompute
from clearance.decide.bundle import Bundle, BundleError, masks
from clearance.decide.compare import TOLERANCE, compare

__all__ = ["TOLERANCE", "Verification", "compare", "explain", "load_booster", "recompute_all"]

MODEL_FILE = "xgboost-model"
MAX_MODEL_BYTES = 1024 * 1024 * 1024
PRE, POST, QUALITY = "bias_pre_training", "bias_post_training", "model_quality"


def load_booster(model_archive: Path) -> Any:
    """The XGBoost booster in MODEL_ARCHIVE, read from bytes only (never unpickled)."""
    import xgboost as xgb

    fix = "Register a model.tar.gz holding the built-in XGBoost `xgboost-model` (JSON or UBJSON)"
    try:
        with tarfile.open(model_archive) as tar:
            member = tar.getmember(MODEL_FILE)
            if not member.isfile() or member.size > MAX_MODEL_BYTES:
                raise BundleError("model", f"{MODEL_FILE} is not a regular file under 1 GiB", fix)
            handle = tar.extractfile(member)
            raw = handle.read() if handle is not None else b""
    except (OSError, KeyError, tarfile.TarError) as exc:
        raise BundleError("model", f"cannot read {MODEL_FILE} ({exc})", fix) from None
    if raw[:1] == b"\x80":  # pickle protocol 2+: refused, see the module docstring
        raise BundleError("model", "the artifact is a pickled model, which is never loaded", fix)
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as exc:
        raise BundleError("model", f"not an XGBoost model ({str(exc)[:120]})", fix) from None
    return booster


def score(model_archive: Path, features: np.ndarray) -> np.ndarray:
    """Raw model output for FEATURES (model input order): P(label == 1), or the predicted value."""
    import xgboost as xgb

    booster = load_booster(model_archive)
    values = np.asarray(features, dtype=np.float64)
    expected = booster.num_features()
    if values.shape[1] != expected:
        raise BundleError(
            "manifest.features",
            f"{values.shape[1]} features but the model takes {expected}",
            "List the model's input columns in order",
        )
    return np.asarray(booster.predict(xgb.DMatrix(values)), dtype=np.float64)


@dataclass(frozen=True)
class Verification:
    """Recomputed metrics by report kind and metric name, and what they were computed from."""

    bundle: dict[str, Any]
    metrics: dict[str, dict[str, measure.Measured]] = field(default_factory=dict)

    def get(self, kind: str, metric: str) -> measure.Measured | None:
        return self.metrics.get(kind, {}).get(metric)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": dict(self.bundle),
            "metrics": {
                kind: {name: m.to_json() for name, m in sorted(values.items())}
                for kind, values in self.metrics.items()
            },
        }


def recompute_all(
    bundle: Bundle, scores: np.ndarray, resamples: int = 1000, seed: int | None = None
) -> Verification:
    """Every bias and quality metric from the bundle's splits and the governance's SCORES."""
    options: dict[str, Any] = {"resamples": resamples}
    if seed is not None:
        options["seed"] = seed
    test = bundle.test
    if len(scores) != len(test):
        raise BundleError("model", f"{len(scores)} predictions for {len(test)} rows", "Re-run")
    facet_train, label_train = masks(bundle, bundle.train)
    pre = recompute.BiasData(facet_train, label_train)
    facet, label = masks(bundle, test)
    binary = bundle.problem_type == "binary_classification"
    if binary:
        predicted_label = (scores >= bundle.probability_threshold).astype(np.int64)
        predicted = recompute.positive_mask(
            predicted_label, bundle.label.values_or_threshold, False
        )
    else:
        predicted = recompute.positive_mask(scores, bundle.label.values_or_threshold, True)
    others = [name for name in bundle.features if name != bundle.facet.name]
    post = recompute.BiasData(
        facet, label, predicted, features=test[others].to_numpy(dtype=np.float64)
    )
    metrics = {
        PRE: measure.measure_bias(pre, "pre_training", **options),
        POST: measure.measure_bias(post, "post_training", **options),
    }
    actual = test[bundle.label.name].to_numpy()
    if binary:
        # Model Monitor's binary metrics take label 1 as the positive class.
        metrics[QUALITY] = measure.measure_quality(
            actual.astype(np.float64) == 1, predicted_label == 1, scores, "binary", facet, **options
        )
    else:
        metrics[QUALITY] = measure.measure_quality(
            actual.astype(np.float64), scores, None, "regression", facet, **options
        )
    return Verification(bundle=bundle.summary(), metrics=metrics)


def explain(
    bundle: Bundle, model_archive: Path, resamples: int = 1000, seed: int = 0
) -> dict[str, measure.Measured]:
    """Global SHAP (mean |SHAP|) per feature, exact on a seeded sample of the split, with a
    bootstrap interval over the explained rows; {} when the model has too many features."""
    import xgboost as xgb

    from clearance.decide import shapley, stats

    features = list(bundle.features)
    if len(features) > shapley.MAX_FEATURES:
        return {}
    booster = load_booster(model_archive)

    def predict(values: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(xgb.DMatrix(values)), dtype=np.float64)

    data = bundle.test[features].to_numpy(dtype=np.float64)
    means, rows = shapley.global_shap(predict, data, seed)
    replicates = stats.bootstrap(
        np.zeros(len(rows)), lambda w: {"shap": w @ rows / len(rows)}, resamples, seed
    )["shap"]
    out = {}
    for index, name in enumerate(features):
        interval = stats.percentile_interval(replicates[:, index])
        out[name] = measure.Measured(
            name, float(means[index]), len(rows), interval, {"rows": len(rows)}
        )
    return out
