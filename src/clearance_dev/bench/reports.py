"""The bench's inputs: realistic report documents (fair and biased) and the default policy."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from clearance.contract.reports import TABULAR_KINDS, primary_slot
from clearance.contract.status import APPROVED, REJECTED
from clearance.policy import DEFAULT_POLICY_PATH, load_policy

LOGGER = logging.getLogger("clearance_dev.bench")

GROUP = "bench-models"
BUCKET = "clearance-bench-reports"
PIPELINE_NAME = "clearance-approval"
THROUGHPUT_SECONDS = 3.0
# Metric values observed in `make local` builds of the default project (ROWS=2000, SEED=42,
# BIAS=0.0 and BIAS=0.5): the demo's fair and biased models.
PRE_TRAINING = {
    "fair": {"CI": -0.013, "DPL": -0.007, "JS": 0.0, "KL": 0.0, "KS": 0.007, "LP": 0.01,
             "TVD": 0.007},
    "biased": {"CI": -0.013, "DPL": 0.22, "JS": 0.028, "KL": 0.119, "KS": 0.22, "LP": 0.311,
               "TVD": 0.22},
}  # fmt: skip
POST_TRAINING = {
    "fair": {"AD": -0.085, "DAR": -0.167, "DCA": -0.148, "DCR": -0.077, "DI": 0.94,
             "DPPL": 0.023, "DRR": 0.037, "FT": 0.095, "RD": -0.066, "TE": 0.939},
    "biased": {"AD": -0.11, "DAR": 0.244, "DCA": -0.869, "DCR": 0.008, "DI": 0.255,
               "DPPL": 0.256, "DRR": 0.13, "FT": -0.139, "RD": 0.344, "TE": 1.226},
}  # fmt: skip
QUALITY = {
    "fair": {"accuracy": 0.72, "auc": 0.825, "f0_5": 0.681, "f1": 0.65, "f2": 0.622,
             "false_negative_rate": 0.395, "false_positive_rate": 0.193, "precision": 0.703,
             "recall": 0.605, "true_negative_rate": 0.807, "true_positive_rate": 0.605},
    "biased": {"accuracy": 0.743, "auc": 0.8, "f0_5": 0.575, "f1": 0.522, "f2": 0.477,
               "false_negative_rate": 0.548, "false_positive_rate": 0.126, "precision": 0.618,
               "recall": 0.452, "true_negative_rate": 0.874, "true_positive_rate": 0.452},
}  # fmt: skip
SHAP = {
    "fair": {"age": 0.0161, "income": 0.1208, "debt_to_income": 0.1887,
             "credit_history_years": 0.0651, "num_open_accounts": 0.0114,
             "late_payments": 0.1392, "employment_years": 0.0266, "loan_amount": 0.0641,
             "gender": 0.0058},
    "biased": {"age": 0.0168, "income": 0.0965, "debt_to_income": 0.1259,
               "credit_history_years": 0.0518, "num_open_accounts": 0.0108,
               "late_payments": 0.0946, "employment_years": 0.0342, "loan_amount": 0.0705,
               "gender": 0.0801},
}  # fmt: skip
EXPECTED = {"fair": APPROVED, "biased": REJECTED}
SLOTS = {kind: primary_slot(kind) for kind in TABULAR_KINDS}


# ------------------------------------------------------------------------------ realistic reports


def _bias_doc(section: str, metrics: Mapping[str, float], null_metric: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "name": null_metric,
            "description": f"Conditional Demographic Disparity ({null_metric})",
            "value": None,
            "error": "Group variable is empty or not provided",
        }
    ]
    entries += [{"name": k, "description": k, "value": v} for k, v in metrics.items()]
    entries.sort(key=lambda e: e["name"])
    return {
        "version": "1.0",
        section: {
            "label": "approved",
            "facets": {"gender": [{"value_or_threshold": "1", "metrics": entries}]},
            "label_value_or_threshold": "1",
        },
    }


def _quality_doc(values: Mapping[str, float]) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        name: {"value": value, "standard_deviation": 0.017} for name, value in values.items()
    }
    for name in ("accuracy", "f0_5", "f1", "f2", "precision", "recall"):
        metrics[f"{name}_best_constant_classifier"] = {"value": 0.43, "standard_deviation": 0.016}
    metrics["confusion_matrix"] = {"0": {"0": 139, "1": 31}, "1": {"0": 53, "1": 77}}
    points = 100
    metrics["receiver_operating_characteristic_curve"] = {
        "false_positive_rates": [i / points for i in range(points + 1)],
        "true_positive_rates": [min(1.0, math.sqrt(i / points)) for i in range(points + 1)],
    }
    metrics["precision_recall_curve"] = {
        "precisions": [1.0 - 0.4 * i / points for i in range(points + 1)],
        "recalls": [i / points for i in range(points + 1)],
    }
    return {
        "version": 0.0,
        "dataset": {"item_count": 300, "evaluation_time": "2026-01-01T00:00:00.000Z"},
        "binary_classification_metrics": metrics,
    }


def realistic_reports(kind: str) -> dict[str, bytes]:
    """Report bytes by kind, shaped and sized like a `make local` build ('fair' or 'biased')."""
    shap = dict(SHAP[kind])
    docs = {
        "bias_pre_training": _bias_doc("pre_training_bias_metrics", PRE_TRAINING[kind], "CDDL"),
        "bias_post_training": _bias_doc("post_training_bias_metrics", POST_TRAINING[kind], "CDDPL"),
        "explainability": {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.54}}
            },
        },
        "model_quality": _quality_doc(QUALITY[kind]),
    }
    return {k: json.dumps(v, indent=4).encode() for k, v in docs.items()}


def default_policy() -> Any:
    """The default policy with every rule deciding on the reported value (decide_on: point).

    Figures (a) to (c) measure the reports-only path (Evaluate and Update, no evidence bundle);
    the default policy decides its bias rules on recomputed intervals, which such packages do not
    have, so every one would be inconclusive. The verified path has its own figures (e).
    """
    from dataclasses import replace

    policy = load_policy(DEFAULT_POLICY_PATH)
    return replace(policy, rules=tuple(replace(rule, decide_on=None) for rule in policy.rules))
