"""Predict: score the test split with the trained model, for the quality and model-bias checks.

Runs as the pipeline's Predict step (a processing job in the built-in XGBoost image, with this
folder shipped next to it) and in `make local`:

    python predict.py --model <model.tar.gz | directory holding it> \
        --test-data <test.csv | directory holding it> [--output-dir /opt/ml/processing]

Input: model.tar.gz with the file `xgboost-model` (what the built-in algorithm and train_local.py
write) and the headerless, label-first test.csv from preprocess.py.
Output: OUTPUT_DIR/predictions/predictions.csv WITH a header, schema.PREDICTION_COLUMNS:
    binary       label,prediction,probability   probability = P(label == 1); prediction is 1 when
                                                probability >= schema.PROBABILITY_THRESHOLD, else 0
    regression   label,prediction
Rows keep test.csv's order, so row i of predictions.csv scores row i of test.csv (the model-bias
check joins them by position).

With --baseline-dir (and --train-data): BASELINE_DIR/baseline.csv, NO header, the training split as
the endpoint's data capture will record it: the model's response first (what the endpoint returns:
P(label == 1) for binary, the predicted value for regression), then schema.FEATURES in request
order. Model Monitor puts captured output columns at the START of captured CSV input, so its
data-quality baseline of this file (columns `_c0` = response, `_c1`.. = features) lines up with what
the endpoint's monitoring schedule analyses.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

try:
    from . import schema
except ImportError:  # run as a script: SageMaker ships this folder, schema.py sits next to us
    import schema  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"
# The data-quality baseline dataset (see the module docstring).
BASELINE_FILE = "baseline.csv"
BASELINE_RESPONSE_COLUMN = "response"


def _single_file(path: Path, pattern: str) -> Path:
    """PATH itself, or the one file matching PATTERN inside the directory PATH."""
    if path.is_file():
        return path
    matches = sorted(path.glob(pattern)) if path.is_dir() else []
    if len(matches) != 1:
        raise FileNotFoundError(f"{path}: expected one {pattern}, found {len(matches)}")
    return matches[0]


def load_model(model: Path) -> xgb.Booster:
    """Load `xgboost-model` from model.tar.gz (or a directory holding the archive)."""
    archive = _single_file(model, "model.tar.gz")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            member = tar.getmember(MODEL_FILE)
            extracted = tar.extractfile(member)
            if extracted is None:
                raise FileNotFoundError(f"{archive}: {MODEL_FILE} is not a regular file")
            raw = extracted.read()
        booster = xgb.Booster()
        try:
            # From bytes: XGBoost detects JSON/UBJSON/binary itself (a file name without extension
            # makes it guess and warn).
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError:
            # Older built-in algorithm versions pickled the Booster. Only our own training job's
            # artifact reaches this line.
            local = Path(tmp) / MODEL_FILE
            local.write_bytes(raw)
            with local.open("rb") as handle:
                booster = pickle.load(handle)  # noqa: S301
    return booster


def read_test(test_data: Path) -> pd.DataFrame:
    """The headerless, label-first test split."""
    frame = pd.read_csv(_single_file(test_data, "*.csv"), header=None)
    if frame.shape[1] != len(schema.HEADERS):
        raise ValueError(
            f"{test_data}: {frame.shape[1]} columns, expected {len(schema.HEADERS)} "
            f"({', '.join(schema.HEADERS)}). Re-run preprocess.py"
        )
    frame.columns = schema.HEADERS
    return frame


def predict_frame(booster: xgb.Booster, features: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Raw model output: P(label == 1) for binary, the predicted value for regression."""
    values = np.asarray(features, dtype="float64")
    return booster.predict(xgb.DMatrix(values))


def predictions(booster: xgb.Booster, test: pd.DataFrame) -> pd.DataFrame:
    """The predictions table for a test frame in schema.HEADERS order."""
    output = predict_frame(booster, test[schema.FEATURES])
    if schema.PROBLEM_TYPE == schema.BINARY:
        return pd.DataFrame(
            {
                "label": test[schema.LABEL].astype("int64"),
                "prediction": (output >= schema.PROBABILITY_THRESHOLD).astype("int64"),
                "probability": output.astype("float64"),
            }
        )
    return pd.DataFrame({"label": test[schema.LABEL].astype("float64"), "prediction": output})


def run(model: Path, test_data: Path, output_dir: Path) -> Path:
    """Score test_data and write OUTPUT_DIR/predictions/predictions.csv; returns its path."""
    table = predictions(load_model(model), read_test(test_data))
    path = output_dir / "predictions" / "predictions.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table[schema.PREDICTION_COLUMNS].to_csv(path, index=False)
    logger.info("wrote %s (%d rows)", path, len(table))
    return path


def baseline_rows(booster: xgb.Booster, data: pd.DataFrame) -> pd.DataFrame:
    """Rows as the endpoint's data capture records them: the model's response, then the features."""
    features = data[schema.FEATURES]
    rows = features.astype("float64").copy()
    rows.insert(0, BASELINE_RESPONSE_COLUMN, predict_frame(booster, features).astype("float64"))
    return rows


def write_baseline(model: Path, train_data: Path, baseline_dir: Path) -> Path:
    """Write BASELINE_DIR/baseline.csv (no header), the data-quality baseline data; its path."""
    rows = baseline_rows(load_model(model), read_test(train_data))
    path = baseline_dir / BASELINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, header=False, index=False)
    logger.info("wrote %s (%d rows)", path, len(rows))
    return path


def write_evidence(model: Path, test_data: Path, train_data: Path, evidence_dir: Path) -> Path:
    """The verification bundle (evidence.py) for this model and these splits; the manifest path."""
    try:
        from . import evidence
    except ImportError:  # run as a script: evidence.py is shipped beside schema.py
        import evidence  # type: ignore[no-redef]

    archive = _single_file(model, "model.tar.gz")
    return evidence.write_bundle(read_test(train_data), read_test(test_data), archive, evidence_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the test split with the trained model.")
    parser.add_argument("--model", type=Path, required=True, help="model.tar.gz or its directory")
    parser.add_argument("--test-data", type=Path, required=True, help="test.csv or its directory")
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing"))
    parser.add_argument("--train-data", type=Path, default=None, help="train.csv or its directory")
    parser.add_argument(
        "--evidence-dir", type=Path, default=None, help="write the verification bundle here"
    )
    parser.add_argument(
        "--baseline-dir", type=Path, default=None, help="write the data-quality baseline data here"
    )
    args = parser.parse_args(argv)
    try:
        for option in ("evidence_dir", "baseline_dir"):
            if getattr(args, option) is not None and args.train_data is None:
                flag = "--" + option.replace("_", "-")
                raise ValueError(f"{flag} needs --train-data (the training split)")
        run(args.model, args.test_data, args.output_dir)
        if args.evidence_dir is not None:
            write_evidence(args.model, args.test_data, args.train_data, args.evidence_dir)
        if args.baseline_dir is not None:
            write_baseline(args.model, args.train_data, args.baseline_dir)
    except (OSError, KeyError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
