"""Report writers for the local run, in the exact shapes SageMaker writes them.

    data_bias_report       Clarify analysis.json, `pre_training_bias_metrics` (smclarify, the
                           library behind Clarify's bias analysis): CDDL, CI, DPL, JS, KL, KS,
                           LP, TVD
    model_bias_report      Clarify analysis.json, `post_training_bias_metrics`: AD, CDDPL, DAR, DCA,
                           DCR, DI, DPPL, DRR, FT, RD, TE
    explainability_report  Clarify analysis.json, `explanations.kernel_shap.label0`: global SHAP
                           values (mean |SHAP| per feature, Clarify's default aggregation) and the
                           expected value, computed with shap's KernelExplainer
    model_quality_report   Model Monitor statistics.json, `binary_classification_metrics` or
                           `regression_metrics`, each metric {value, standard_deviation}
    data_quality_baseline  Model Monitor data-quality statistics.json and constraints.json of
                           predict.py's baseline dataset (the model's response, then its inputs:
                           the DriftCheckBaselines a data-quality schedule on the endpoint compares
                           captured requests and responses against)

A metric smclarify cannot compute keeps Clarify's form `{"name", "description", "value": null,
"error": "..."}` (CDDL/CDDPL always do: they need a group variable this run does not configure, as
in Clarify without `group_name`). Infinite values become the strings "Infinity"/"-Infinity" as
smclarify writes them; NaN becomes null, so every file is strict JSON and a reader that fails
closed sees a missing value rather than a parse error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from pipelines.{{ cookiecutter.module_name }} import schema

logger = logging.getLogger(__name__)

CLARIFY_VERSION = "1.0"
PRE_TRAINING_METRICS = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST_TRAINING_METRICS = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE"]
PREDICTED_LABEL = "predicted_label"
# Model Monitor: "standard deviation is provided only when at least 200 samples are available; it
# is computed by randomly sampling 80% of the data five times" (AWS docs, model quality metrics).
STD_MIN_ROWS = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
# Points kept on the ROC and precision-recall curves, so the file stays small.
CURVE_POINTS = 101


@contextlib.contextmanager
def _quiet_smclarify() -> Iterator[None]:
    """smclarify logs a full traceback for the expected CDDL/CDDPL error; keep the run readable."""
    lib = logging.getLogger("smclarify")
    level = lib.level
    lib.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        lib.setLevel(level)


def _label_series(values: pd.Series) -> pd.Series:
    """Label (or predicted label) typed so smclarify classifies it as intended.

    smclarify guesses categorical vs continuous from the data (an integer column with more than 5 %
    distinct values counts as continuous): on a small test split a 0/1 label would be read as a
    number. Binary labels are cast to category, regression labels to float.
    """
    if schema.PROBLEM_TYPE == schema.BINARY:
        return values.astype("int64").astype("category")
    return values.astype("float64")


def _bias_frame(data: pd.DataFrame) -> pd.DataFrame:
    """Features and label for smclarify, facet typed for the facet mode."""
    frame = data[schema.HEADERS].copy()
    # smclarify 0.5 breaks on pandas 3 string dtypes: keep any text column as plain object.
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]) and frame[column].dtype != object:
            frame[column] = frame[column].astype(object)
    if schema.FACET_MODE == "categorical":
        frame[schema.FACET] = frame[schema.FACET].astype("int64").astype("category")
    else:
        frame[schema.FACET] = frame[schema.FACET].astype("float64")
    frame[schema.LABEL] = _label_series(frame[schema.LABEL])
    return frame


def _bias_section(
    data: pd.DataFrame, stage: str, metric_names: list[str], predicted: pd.Series | None = None
) -> dict[str, Any]:
    from smclarify.bias.report import (
        FacetColumn,
        LabelColumn,
        StageType,
        bias_report,
        label_value_or_threshold,
    )

    frame = _bias_frame(data)
    label_values = list(schema.LABEL_VALUES_OR_THRESHOLD)
    label = LabelColumn(schema.LABEL, frame[schema.LABEL], list(label_values))
    facet = FacetColumn(schema.FACET, list(schema.FACET_VALUES_OR_THRESHOLD))
    kwargs: dict[str, Any] = {}
    if predicted is not None:
        series = _label_series(pd.Series(np.asarray(predicted), index=frame.index))
        kwargs["predicted_label_column"] = LabelColumn(PREDICTED_LABEL, series, list(label_values))
    with _quiet_smclarify():
        facets = bias_report(
            frame,
            facet,
            label,
            StageType(stage),
            metrics=list(metric_names),
            **kwargs,
        )
        threshold = label_value_or_threshold(frame[schema.LABEL], list(label_values))
    return {
        "label": schema.LABEL,
        "facets": {schema.FACET: _strict(facets)},
        "label_value_or_threshold": threshold,
    }


def data_bias_report(data: pd.DataFrame) -> dict[str, Any]:
    """Clarify pre-training bias analysis of a frame in schema.HEADERS order (the training data)."""
    section = _bias_section(data, "pre_training", PRE_TRAINING_METRICS)
    return {"version": CLARIFY_VERSION, "pre_training_bias_metrics": section}


def model_bias_report(data: pd.DataFrame, predicted: pd.Series | np.ndarray) -> dict[str, Any]:
    """Clarify post-training bias analysis: DATA (schema.HEADERS order) with the model's labels."""
    if len(predicted) != len(data):
        raise ValueError(f"predictions: {len(predicted)} rows for {len(data)} data rows")
    section = _bias_section(data, "post_training", POST_TRAINING_METRICS, pd.Series(predicted))
    return {"version": CLARIFY_VERSION, "post_training_bias_metrics": section}


def explainability_report(
    predict: Callable[[np.ndarray], np.ndarray],
    background: pd.DataFrame,
    explain: pd.DataFrame,
    n_samples: int = 256,
    seed: int = 42,
) -> dict[str, Any]:
    """Clarify's kernel_shap section: mean |SHAP| per feature over EXPLAIN and the expected value.

    predict maps a feature matrix (schema.FEATURES order) to the model output Clarify explains:
    P(label == 1) for binary, the predicted value for regression. BACKGROUND plays Clarify's
    baseline (keep it small: KernelExplainer's cost grows with its rows).
    """
    import shap

    features = list(explain.columns)
    rng = np.random.default_rng(seed)
    # shap draws its coalition samples from numpy's global generator; seed it for repeatable files.
    np.random.seed(int(rng.integers(0, 2**31 - 1)))
    explainer = shap.KernelExplainer(
        lambda x: predict(np.asarray(x, dtype="float64")),
        background.to_numpy(dtype="float64"),
    )
    values = np.asarray(
        explainer.shap_values(explain.to_numpy(dtype="float64"), nsamples=n_samples, silent=True)
    )
    if values.ndim == 3:  # some shap versions add an output axis even for one output
        values = values[..., 0]
    global_values = np.abs(values).mean(axis=0)
    expected = np.asarray(explainer.expected_value, dtype="float64").reshape(-1)[0]
    return {
        "version": CLARIFY_VERSION,
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "global_shap_values": {
                        name: _finite_or_none(v)
                        for name, v in zip(features, global_values, strict=True)
                    },
                    "expected_value": _finite_or_none(expected),
                }
            }
        },
    }


def model_quality_report(predictions: pd.DataFrame, seed: int = 42) -> dict[str, Any]:
    """Model Monitor statistics.json from predict.py's table (schema.PREDICTION_COLUMNS)."""
    if schema.PROBLEM_TYPE == schema.BINARY:
        key, section = "binary_classification_metrics", _binary_metrics(predictions, seed)
    else:
        key, section = "regression_metrics", _regression_metrics(predictions, seed)
    return {"version": 0.0, "dataset": {"item_count": int(len(predictions))}, key: section}


def data_quality_baseline(rows: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model Monitor's data-quality (statistics.json, constraints.json) of a header-less CSV table.

    Columns are named `_c0`, `_c1`, ... by position, as Model Monitor names the columns of a CSV
    without header. For predict.py's baseline dataset `_c0` is the model's response and `_c1`.. are
    schema.FEATURES: the endpoint receives header-less CSV rows, and Model Monitor puts the captured
    response at the START of each captured row, so the baseline and the captured data line up. No
    KLL sketches: the distribution comparison needs Model Monitor's own baselining job (the
    pipeline's DataQuality step); completeness, type and non-negativity constraints are checked
    without it.

    Types are inferred from the text, as Model Monitor's analyzer (Deequ) does: "35" is Integral,
    "35.0" Fractional. Read the CSV with dtype=str to keep the file's own text.
    """
    columns = []
    constraints = []
    for index, name in enumerate(rows.columns):
        values = pd.to_numeric(rows[name], errors="coerce")
        present = values.dropna()
        text = rows[name].dropna().astype(str).str.strip()
        integral = bool(len(text)) and bool(text.map(_INTEGRAL_TEXT.fullmatch).notna().all())
        kind = "Integral" if integral else "Fractional"
        column = f"_c{index}"
        columns.append(
            {
                "name": column,
                "inferred_type": kind,
                "numerical_statistics": {
                    "common": {
                        "num_present": int(len(present)),
                        "num_missing": int(values.isna().sum()),
                    },
                    "mean": float(present.mean()),
                    "sum": float(present.sum()),
                    "std_dev": float(present.std(ddof=0)),
                    "min": float(present.min()),
                    "max": float(present.max()),
                },
            }
        )
        constraints.append(
            {
                "name": column,
                "inferred_type": kind,
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": bool((present >= 0).all())},
            }
        )
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": int(len(rows))},
        "features": columns,
    }
    document = {
        "version": 0.0,
        "features": constraints,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Disabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
            },
        },
    }
    return statistics, document


# Deequ's DataType analyzer: an optional sign, then digits (Integral) or a decimal (Fractional).
_INTEGRAL_TEXT = re.compile(r"[-+]? ?\d+")


def _binary_scalars(y: np.ndarray, pred: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    tp = float(np.sum((y == 1) & (pred == 1)))
    tn = float(np.sum((y == 0) & (pred == 0)))
    fp = float(np.sum((y == 0) & (pred == 1)))
    fn = float(np.sum((y == 1) & (pred == 0)))
    # Model Monitor's "best constant classifier" always predicts the positive class (its sample
    # output: precision = prevalence, recall = 1, accuracy = prevalence).
    const = np.ones_like(y)
    values = {
        "accuracy": (tp + tn) / len(y),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "true_positive_rate": _ratio(tp, tp + fn),
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
        "f0_5": skm.fbeta_score(y, pred, beta=0.5, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "f2": skm.fbeta_score(y, pred, beta=2.0, zero_division=0),
        "auc": skm.roc_auc_score(y, prob) if len(np.unique(y)) == 2 else math.nan,
        "accuracy_best_constant_classifier": float(np.mean(y == const)),
        "precision_best_constant_classifier": skm.precision_score(y, const, zero_division=0),
        "recall_best_constant_classifier": skm.recall_score(y, const, zero_division=0),
        "f0_5_best_constant_classifier": skm.fbeta_score(y, const, beta=0.5, zero_division=0),
        "f1_best_constant_classifier": skm.f1_score(y, const, zero_division=0),
        "f2_best_constant_classifier": skm.fbeta_score(y, const, beta=2.0, zero_division=0),
    }
    return {name: float(value) for name, value in values.items()}


def _binary_metrics(predictions: pd.DataFrame, seed: int) -> dict[str, Any]:
    y = predictions["label"].to_numpy(dtype="int64")
    pred = predictions["prediction"].to_numpy(dtype="int64")
    prob = predictions["probability"].to_numpy(dtype="float64")
    values = _binary_scalars(y, pred, prob)
    stds = _bootstrap_std(len(y), seed, lambda idx: _binary_scalars(y[idx], pred[idx], prob[idx]))
    section: dict[str, Any] = {
        name: {"value": _finite_or_none(value), "standard_deviation": stds.get(name, "NaN")}
        for name, value in values.items()
    }
    # Outer key: actual label, inner key: predicted label (the reference file's orientation).
    section["confusion_matrix"] = {
        str(actual): {str(p): int(np.sum((y == actual) & (pred == p))) for p in (0, 1)}
        for actual in (0, 1)
    }
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = skm.roc_curve(y, prob)
        precisions, recalls, _ = skm.precision_recall_curve(y, prob)
        section["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": _thin(fpr),
            "true_positive_rates": _thin(tpr),
        }
        section["precision_recall_curve"] = {
            "precisions": _thin(precisions[::-1]),
            "recalls": _thin(recalls[::-1]),
        }
    return dict(sorted(section.items()))


def _regression_scalars(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    mse = float(skm.mean_squared_error(y, pred))
    r2 = float(skm.r2_score(y, pred)) if len(y) > 1 else math.nan
    return {
        "mae": float(skm.mean_absolute_error(y, pred)),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": r2,
    }


def _regression_metrics(predictions: pd.DataFrame, seed: int) -> dict[str, Any]:
    y = predictions["label"].to_numpy(dtype="float64")
    pred = predictions["prediction"].to_numpy(dtype="float64")
    values = _regression_scalars(y, pred)
    stds = _bootstrap_std(len(y), seed, lambda idx: _regression_scalars(y[idx], pred[idx]))
    return {
        name: {"value": _finite_or_none(value), "standard_deviation": stds.get(name, "NaN")}
        for name, value in values.items()
    }


def _bootstrap_std(
    n_rows: int, seed: int, compute: Callable[[np.ndarray], dict[str, float]]
) -> dict[str, float | str]:
    """Model Monitor's standard deviation: five 80 % samples, or "NaN" below 200 rows."""
    if n_rows < STD_MIN_ROWS:
        return {}
    rng = np.random.default_rng(seed)
    size = int(n_rows * STD_FRACTION)
    runs = [compute(rng.choice(n_rows, size=size, replace=False)) for _ in range(STD_SAMPLES)]
    result: dict[str, float | str] = {}
    for name in runs[0]:
        sample = np.array([run[name] for run in runs], dtype="float64")
        std = float(np.std(sample, ddof=1)) if np.all(np.isfinite(sample)) else math.nan
        result[name] = std if math.isfinite(std) else "NaN"
    return result


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def _thin(values: np.ndarray) -> list[float]:
    """At most CURVE_POINTS evenly spaced points of a curve, ends included."""
    if len(values) > CURVE_POINTS:
        values = values[np.linspace(0, len(values) - 1, CURVE_POINTS).round().astype(int)]
    return [float(v) for v in values]


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _strict(document: Any) -> Any:
    """NaN -> None everywhere (smclarify already turns infinities into strings)."""
    if isinstance(document, dict):
        return {key: _strict(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_strict(value) for value in document]
    if isinstance(document, float) and math.isnan(document):
        return None
    if isinstance(document, np.generic):
        return _strict(document.item())
    return document


def write_json(document: dict[str, Any], path: Path) -> Path:
    """Write strict JSON (no NaN tokens), indented like Clarify's files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_strict(document), indent=4, allow_nan=False) + "\n")
    logger.info("wrote %s", path)
    return path
