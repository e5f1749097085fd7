"""Train the model locally, the way the pipeline's Train step (built-in XGBoost algorithm) does.

    python -m pipelines.<module>.train_local --train train.csv --validation validation.csv \
        --model-dir build/local/model

Input: the headerless, label-first CSVs preprocess.py writes.
Hyperparameters: schema.HYPERPARAMETERS, the same dict the pipeline's ModelTrainer sends to the
built-in algorithm, so both train the same model (`num_round` is the number of boosting rounds; the
rest are XGBoost parameters).
Output: MODEL_DIR/model.tar.gz holding one file, `xgboost-model`, as the built-in algorithm
writes it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
import xgboost as xgb

from . import schema

logger = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"


def load_split(path: Path) -> xgb.DMatrix:
    """A headerless, label-first CSV as a DMatrix named with schema.FEATURES."""
    frame = pd.read_csv(path, header=None)
    if frame.shape[1] != len(schema.HEADERS):
        raise ValueError(
            f"{path}: {frame.shape[1]} columns, expected {len(schema.HEADERS)} "
            f"({', '.join(schema.HEADERS)}). Re-run preprocess.py"
        )
    return xgb.DMatrix(frame.iloc[:, 1:].to_numpy(), label=frame.iloc[:, 0].to_numpy())


def train(train_csv: Path, validation_csv: Path, model_dir: Path) -> Path:
    """Train with schema.HYPERPARAMETERS and write MODEL_DIR/model.tar.gz; returns its path."""
    params = {k: v for k, v in schema.HYPERPARAMETERS.items() if k != "num_round"}
    rounds = int(schema.HYPERPARAMETERS["num_round"])
    dtrain, dvalidation = load_split(train_csv), load_split(validation_csv)
    evals_result: dict = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        evals_result=evals_result,
        verbose_eval=False,
    )
    metric = schema.HYPERPARAMETERS["eval_metric"]
    logger.info(
        "trained %d rounds: train-%s %.4f, validation-%s %.4f",
        rounds,
        metric,
        evals_result["train"][metric][-1],
        metric,
        evals_result["validation"][metric][-1],
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    archive = model_dir / "model.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        # The built-in algorithm's file name has no extension; write UBJSON bytes explicitly
        # (save_model() would have to guess the format from the missing extension).
        model_file = Path(tmp) / MODEL_FILE
        model_file.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(model_file, arcname=MODEL_FILE)
    logger.info("wrote %s", archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the XGBoost model locally.")
    parser.add_argument("--train", type=Path, required=True, help="train.csv from preprocess.py")
    parser.add_argument("--validation", type=Path, required=True, help="validation.csv")
    parser.add_argument("--model-dir", type=Path, required=True, help="where model.tar.gz goes")
    args = parser.parse_args(argv)
    try:
        train(args.train, args.validation, args.model_dir)
    except (OSError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
