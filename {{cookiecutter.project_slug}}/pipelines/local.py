"""Run the model build on this machine, no AWS account needed, and write SageMaker-shaped reports.

    python -m pipelines.local [--bias 0.0] [--output-dir build/local] [--rows 2000] [--seed 42]
    make local BIAS=0.3

The same code as the pipeline's steps, in the same order:
    sample data -> preprocess.py -> train_local.py (schema.HYPERPARAMETERS) -> predict.py -> reports

Writes (OUT = --output-dir):
    OUT/data/raw.csv                             the generated input (with header)
    OUT/data/{train,validation,test}.csv         preprocess.py's splits (no header, label first)
    OUT/model/model.tar.gz                       `xgboost-model`, as the built-in algorithm
    OUT/predictions/predictions.csv              predict.py's output for the test split
    OUT/data/baseline.csv                        predict.py's data-quality baseline dataset: the
                                                 train split as the endpoint's capture records it
                                                 (model response, then features; no header)
    OUT/reports/data_bias/analysis.json          Clarify pre_training_bias_metrics (train split)
    OUT/reports/model_bias/analysis.json         Clarify post_training_bias_metrics (test split)
    OUT/reports/explainability/analysis.json     Clarify kernel_shap global SHAP values
    OUT/reports/model_quality/statistics.json    Model Monitor model-quality statistics
    OUT/baselines/data_quality/statistics.json   Model Monitor data-quality baseline of
    OUT/baselines/data_quality/constraints.json  data/baseline.csv, as the pipeline's DataQuality
                                                 step (DriftCheckBaselines.ModelDataQuality)
    OUT/evidence/manifest.json (+ evaluation/, clarify/)  the verification bundle (evidence.py):
                                                 the split, Clarify configs and their sha256

Everything is built in a scratch directory next to OUT and moved into place at the end, so a failed
or interrupted run leaves the previous OUT as it was and nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import pandas as pd

from pipelines import reports, sample_data
from pipelines.{{ cookiecutter.module_name }} import (
    evidence,
    predict,
    preprocess,
    schema,
    train_local,
)

logger = logging.getLogger("pipelines.local")

REPORT_PATHS = {
    "data_bias": Path("reports/data_bias/analysis.json"),
    "model_bias": Path("reports/model_bias/analysis.json"),
    "explainability": Path("reports/explainability/analysis.json"),
    "model_quality": Path("reports/model_quality/statistics.json"),
}
# The data-quality baseline a Model Monitor schedule on the endpoint compares captured requests to.
BASELINE_PATHS = {
    "statistics": Path("baselines/data_quality/statistics.json"),
    "constraints": Path("baselines/data_quality/constraints.json"),
}
EVIDENCE_DIR = Path("evidence")
# KernelExplainer's cost is rows explained x background rows x samples: small on purpose.
SHAP_BACKGROUND_ROWS = 20
SHAP_EXPLAIN_ROWS = 40
SHAP_SAMPLES = 256


def build(out: Path, rows: int, bias: float, seed: int, shap_rows: int = SHAP_EXPLAIN_ROWS) -> None:
    """Every step of the local build, writing into OUT (an empty scratch directory)."""
    data_dir = out / "data"
    data_dir.mkdir(parents=True)
    raw_csv = data_dir / "raw.csv"
    logger.info("1/5 generating %d credit applications (bias=%s, seed=%d)", rows, bias, seed)
    sample_data.generate(rows, bias, seed).to_csv(raw_csv, index=False)

    logger.info("2/5 preprocessing (preprocess.py, as the Preprocess step)")
    with tempfile.TemporaryDirectory(dir=out) as processing:
        splits = preprocess.run(str(raw_csv), Path(processing), seed)
        for name, path in splits.items():
            shutil.move(path, data_dir / f"{name}.csv")
    paths = {name: data_dir / f"{name}.csv" for name in preprocess.SPLITS}

    logger.info("3/5 training XGBoost with schema.HYPERPARAMETERS (as the Train step)")
    archive = train_local.train(paths["train"], paths["validation"], out / "model")

    logger.info("4/5 predicting the test split (predict.py, as the Predict step)")
    predictions_csv = predict.run(archive, paths["test"], out)
    table = pd.read_csv(predictions_csv)
    # The DataQuality step's input: the train split as the endpoint's data capture records it.
    baseline_csv = predict.write_baseline(archive, paths["train"], data_dir)

    logger.info("5/5 writing reports (smclarify bias metrics, SHAP, model quality)")
    train = pd.read_csv(paths["train"], header=None, names=schema.HEADERS)
    test = pd.read_csv(paths["test"], header=None, names=schema.HEADERS)
    reports.write_json(reports.data_bias_report(train), out / REPORT_PATHS["data_bias"])
    reports.write_json(
        reports.model_bias_report(test, table["prediction"]), out / REPORT_PATHS["model_bias"]
    )
    booster = predict.load_model(archive)
    background = train[schema.FEATURES].sample(
        n=min(SHAP_BACKGROUND_ROWS, len(train)), random_state=seed
    )
    explain = test[schema.FEATURES].head(shap_rows)
    reports.write_json(
        reports.explainability_report(
            lambda x: predict.predict_frame(booster, x),
            background,
            explain,
            n_samples=SHAP_SAMPLES,
            seed=seed,
        ),
        out / REPORT_PATHS["explainability"],
    )
    quality = reports.model_quality_report(table, seed)
    reports.write_json(quality, out / REPORT_PATHS["model_quality"])
    baseline = pd.read_csv(baseline_csv, header=None, dtype=str)  # types from the text
    statistics, constraints = reports.data_quality_baseline(baseline)
    reports.write_json(statistics, out / BASELINE_PATHS["statistics"])
    reports.write_json(constraints, out / BASELINE_PATHS["constraints"])
    # What the governance account needs to recompute the reports above with the model itself.
    evidence.write_bundle(train, test, archive, out / EVIDENCE_DIR)


def run(
    output_dir: Path,
    rows: int = 2000,
    bias: float = 0.0,
    seed: int = 42,
    shap_rows: int = SHAP_EXPLAIN_ROWS,
) -> Path:
    """Build into a scratch directory, then replace OUTPUT_DIR with it; returns OUTPUT_DIR."""
    output_dir = output_dir.resolve()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    logger.info("building in %s; it replaces %s when every step has succeeded", scratch, output_dir)
    try:
        build(scratch, rows, bias, seed, shap_rows)
        if output_dir.exists():
            shutil.rmtree(output_dir)
        scratch.rename(output_dir)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)
    return output_dir


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one `ERROR:` line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"ERROR: {message}. Run with --help for the options\n")


def _check_args(args: argparse.Namespace) -> str | None:
    """The first bad argument as a one-line message, or None."""
    if not 0.0 <= args.bias <= 1.0:
        return f"--bias: {args.bias} is outside [0, 1]. Use 0 for fair data, e.g. 0.3 for biased"
    if args.rows < 100:
        return f"--rows: {args.rows} is too few. Use at least 100 so every split has both labels"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description="Run the model build locally (no AWS).")
    parser.add_argument("--bias", type=float, default=0.0, help="0 fair ... 1 fully biased data")
    parser.add_argument("--output-dir", type=Path, default=Path("build/local"))
    parser.add_argument("--rows", type=int, default=2000, help="generated applications")
    parser.add_argument("--seed", type=int, default=42, help="seed for data, split and SHAP")
    args = parser.parse_args(argv)
    problem = _check_args(args)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # shap logs every explained row at INFO.
    logging.getLogger("shap").setLevel(logging.WARNING)
    started = time.monotonic()
    try:
        out = run(args.output_dir, args.rows, args.bias, args.seed)
    except (OSError, ValueError) as exc:
        print(f"ERROR: local build: {exc}", file=sys.stderr)
        return 1
    logger.info("done in %.1f s", time.monotonic() - started)
    print(f"Reports (bias={args.bias}) in {out / 'reports'}:")
    for path in REPORT_PATHS.values():
        print(f"  {out / path}")
    print(f"Headline: {headline(out)}")
    return 0


def headline(out: Path) -> str:
    """A few numbers to eyeball: data and model bias of the facet, and model quality."""
    parts = []
    for kind, section, names in (
        ("data_bias", "pre_training_bias_metrics", ("DPL",)),
        ("model_bias", "post_training_bias_metrics", ("DPPL", "DI")),
    ):
        document = json.loads((out / REPORT_PATHS[kind]).read_text())
        (group,) = document[section]["facets"][schema.FACET]
        values = {m["name"]: m["value"] for m in group["metrics"]}
        parts += [f"{name}={_number(values.get(name))}" for name in names]
    quality = json.loads((out / REPORT_PATHS["model_quality"]).read_text())
    if schema.PROBLEM_TYPE == schema.BINARY:
        block = quality["binary_classification_metrics"]
        parts += [f"{name}={_number(block[name]['value'])}" for name in ("auc", "accuracy")]
    else:
        block = quality["regression_metrics"]
        parts += [f"{name}={_number(block[name]['value'])}" for name in ("r2", "rmse")]
    return ", ".join(parts)


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
