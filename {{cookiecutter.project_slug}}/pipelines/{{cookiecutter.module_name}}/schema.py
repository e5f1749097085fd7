"""One source of truth for the data layout, the bias configuration and the model's hyperparameters.

Everything that names a column, the label, the sensitive facet or a hyperparameter reads it from
here: the SageMaker pipeline (Clarify's BiasConfig and DataConfig headers, ModelTrainer's
hyperparameters, the ModelQuality check), the processing scripts (preprocess.py, predict.py) and
the local run (`make local`). The values were rendered from the cookiecutter answers when this repo
was baked; change them here and every consumer follows.

Files on disk:
  raw input CSV (with header)     RAW_COLUMNS, facet as raw values (e.g. "F"/"M")
  train/validation/test CSV       no header, HEADERS order: label first, then FEATURES (XGBoost's
                                  built-in CSV convention); the facet is encoded per FACET_MODE
  predictions CSV (with header)   PREDICTION_COLUMNS

Facet modes:
  "categorical"  FACET_VALUE is not a number: preprocess writes FACET as 1 for the disadvantaged
                 group (raw value == FACET_VALUE) and 0 otherwise; Clarify's
                 facet_values_or_threshold is [1].
  "threshold"    FACET_VALUE parses as a number: FACET stays numeric; rows with FACET > threshold
                 are the group Clarify measures (its facet interval is (threshold, max]).

This module is imported as `pipelines.<module>.schema` and, inside SageMaker processing containers
where only this folder is shipped, as a plain `schema` module next to the scripts; it depends on the
standard library only for that reason.
"""

from __future__ import annotations

import json
import math

# The cookiecutter answers, rendered as JSON inside raw strings so any legal answer stays verbatim.
PROBLEM_TYPE: str = json.loads(r'''{{ cookiecutter.problem_type | tojson }}''')
LABEL: str = json.loads(r'''{{ cookiecutter.label_column | tojson }}''')
POSITIVE_LABEL: str = str(json.loads(r'''{{ cookiecutter.positive_label | tojson }}'''))
FACET: str = json.loads(r'''{{ cookiecutter.facet_column | tojson }}''')
FACET_VALUE: str = str(json.loads(r'''{{ cookiecutter.facet_value | tojson }}'''))

BINARY = "binary_classification"
REGRESSION = "regression"
if PROBLEM_TYPE not in (BINARY, REGRESSION):
    raise ValueError(f"problem_type: {PROBLEM_TYPE!r} is unsupported. Use {BINARY} or {REGRESSION}")


def _as_number(text: str) -> float | None:
    """The answer as a finite number, or None when it is not one (then it is a category)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# The credit-application features the sample data generates and the model uses, besides the facet.
BASE_FEATURES: list[str] = [
    "age",
    "income",
    "debt_to_income",
    "credit_history_years",
    "num_open_accounts",
    "late_payments",
    "employment_years",
    "loan_amount",
]

FACET_THRESHOLD: float | None = _as_number(FACET_VALUE)
FACET_MODE: str = "categorical" if FACET_THRESHOLD is None else "threshold"

# The facet is a model input on purpose: a model that sees it can learn a biased labelling, and the
# post-training bias checks are there to catch exactly that.
FEATURES: list[str] = [name for name in BASE_FEATURES if name not in (LABEL, FACET)] + [FACET]
HEADERS: list[str] = [LABEL, *FEATURES]
RAW_COLUMNS: list[str] = [*FEATURES, LABEL]

if LABEL == FACET:
    raise ValueError(f"label_column and facet_column are both {LABEL!r}. Rename one of them")

if PROBLEM_TYPE == BINARY:
    # Labels are 1/0; POSITIVE_LABEL names the favourable one.
    LABEL_VALUES_OR_THRESHOLD: list[int | float] = [int(float(POSITIVE_LABEL))]
else:
    # Favourable means label > threshold (Clarify's interval (threshold, max]).
    LABEL_VALUES_OR_THRESHOLD = [float(POSITIVE_LABEL)]
FAVOURABLE_LABEL: int | None = LABEL_VALUES_OR_THRESHOLD[0] if PROBLEM_TYPE == BINARY else None

FACET_VALUES_OR_THRESHOLD: list[int | float] = [1] if FACET_THRESHOLD is None else [FACET_THRESHOLD]

# Column names of predictions.csv (predict.py writes it, the ModelQuality check and the model-bias
# check read it). `probability` is P(label == 1) from the binary:logistic objective.
PREDICTION_COLUMNS: list[str] = (
    ["label", "prediction", "probability"] if PROBLEM_TYPE == BINARY else ["label", "prediction"]
)
# A probability at or above this is predicted as label 1.
PROBABILITY_THRESHOLD: float = 0.5

# Hyperparameters of the SageMaker built-in XGBoost algorithm (strings, as its API takes them). The
# pipeline's ModelTrainer and train_local.py both use this dict, so both train the same model.
HYPERPARAMETERS: dict[str, str] = {
    "objective": "binary:logistic" if PROBLEM_TYPE == BINARY else "reg:squarederror",
    "eval_metric": "auc" if PROBLEM_TYPE == BINARY else "rmse",
    "num_round": "100",
    "max_depth": "3",
    "eta": "0.1",
    "subsample": "0.8",
    "colsample_bytree": "0.8",
    "min_child_weight": "5",
    "seed": "42",
}

# Built-in XGBoost framework version the pipeline trains with; predict.py runs in the same image.
XGBOOST_FRAMEWORK_VERSION = "1.7-1"
