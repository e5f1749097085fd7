"""Preprocess: validate the raw CSV, encode the facet, split into train/validation/test.

Runs unchanged as the pipeline's Preprocess step (SageMaker scikit-learn processing image, with
this folder shipped next to it) and in `make local`.

    python preprocess.py --input-data <file.csv | directory | s3://bucket/key.csv> \
        [--output-dir /opt/ml/processing] [--seed 42]

Input: a CSV with a header holding schema.RAW_COLUMNS (extra columns are ignored); a directory
means every *.csv in it, concatenated. The facet column holds raw values (e.g. "F"/"M") in
categorical mode, numbers in threshold mode (see schema.py).

Output (numeric, NO header, label FIRST, then schema.FEATURES: the built-in XGBoost algorithm's CSV
convention; Clarify reads these files with headers=schema.HEADERS):
    OUTPUT_DIR/train/train.csv             70 % of the rows
    OUTPUT_DIR/validation/validation.csv   15 %
    OUTPUT_DIR/test/test.csv               15 %

Rows with an empty cell in a used column are dropped (and counted in the log). A missing column,
a non-numeric feature, a label outside the problem type's range or too few rows stop the step with
one `ERROR: <field>: <problem>. <fix>` line and exit code 1, before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from . import schema
except ImportError:  # run as a script: SageMaker ships this folder, schema.py sits next to us
    import schema  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

# Only an empty cell is missing: pandas' default would also read "NA", "null", "nan"... as missing,
# and "NA" is a legitimate facet value (Namibia, "not applicable").
CSV_OPTIONS: dict = {"keep_default_na": False, "na_values": [""]}

SPLITS: dict[str, float] = {"train": 0.70, "validation": 0.15, "test": 0.15}
# Fewer rows than this cannot give every split both label classes with any reliability.
MIN_ROWS = 20


class PreprocessError(ValueError):
    """Bad input data; str() is the one-line message for the user."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")


def read_input(input_data: str) -> pd.DataFrame:
    """Read the raw CSV from a file, a directory of CSV files or an s3:// URI."""
    if input_data.startswith("s3://"):
        return _read_s3(input_data)
    path = Path(input_data)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise PreprocessError("--input-data", f"no *.csv in {path}", "Point it at a CSV file")
        return pd.concat([pd.read_csv(f, **CSV_OPTIONS) for f in files], ignore_index=True)
    if not path.is_file():
        raise PreprocessError("--input-data", f"{path} does not exist", "Point it at a CSV file")
    return pd.read_csv(path, **CSV_OPTIONS)


def _read_s3(uri: str) -> pd.DataFrame:
    import boto3  # only needed for S3 input; present in the SageMaker images

    bucket, _, key = uri[len("s3://") :].partition("/")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "input.csv"
        boto3.resource("s3").Bucket(bucket).download_file(key, str(local))
        return pd.read_csv(local, **CSV_OPTIONS)


def encode_facet(raw: pd.Series) -> pd.Series:
    """Categorical: 1 for the disadvantaged group (== FACET_VALUE), else 0; threshold: as is."""
    if schema.FACET_MODE == "categorical":
        # Compare as text: a CSV reader may have parsed "1"/"0"-like facet values as numbers.
        return (raw.astype(str).str.strip() == schema.FACET_VALUE.strip()).astype("int64")
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.isna().any():
        raise PreprocessError(
            schema.FACET,
            f"threshold mode needs numbers, found {raw[numeric.isna()].iloc[0]!r}",
            "Fix the data or set facet_value in schema.py to a category",
        )
    return numeric.astype("float64")


def transform(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw rows -> model rows in schema.HEADERS order (label first), validated, NA rows dropped."""
    missing = [c for c in schema.RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise PreprocessError(
            "--input-data",
            f"missing column(s) {', '.join(missing)}",
            f"The CSV header must include {', '.join(schema.RAW_COLUMNS)}",
        )
    data = raw[schema.RAW_COLUMNS].copy()
    before = len(data)
    data = data.dropna()
    if len(data) < before:
        logger.warning("dropped %d of %d rows with missing values", before - len(data), before)
    if len(data) < MIN_ROWS:
        raise PreprocessError(
            "--input-data", f"{len(data)} usable rows", f"Provide at least {MIN_ROWS} complete rows"
        )

    data[schema.FACET] = encode_facet(data[schema.FACET])
    for column in schema.FEATURES:
        if column == schema.FACET:
            continue
        numeric = pd.to_numeric(data[column], errors="coerce")
        if numeric.isna().any():
            raise PreprocessError(
                column,
                f"non-numeric value {data[column][numeric.isna()].iloc[0]!r}",
                "Every feature must be a number",
            )
        data[column] = numeric.astype("float64")

    label = pd.to_numeric(data[schema.LABEL], errors="coerce")
    if schema.PROBLEM_TYPE == schema.BINARY:
        if label.isna().any() or not label.isin([0, 1]).all():
            bad = data[schema.LABEL][label.isna() | ~label.isin([0, 1])].iloc[0]
            raise PreprocessError(
                schema.LABEL, f"binary labels must be 0 or 1, found {bad!r}", "Encode it as 1/0"
            )
        data[schema.LABEL] = label.astype("int64")
    else:
        if label.isna().any():
            bad = data[schema.LABEL][label.isna()].iloc[0]
            raise PreprocessError(schema.LABEL, f"non-numeric label {bad!r}", "Use numbers")
        data[schema.LABEL] = label.astype("float64")
    return data[schema.HEADERS].reset_index(drop=True)


def split(data: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """Shuffle deterministically and cut into schema-ordered train/validation/test frames."""
    order = np.random.default_rng(seed).permutation(len(data))
    shuffled = data.iloc[order].reset_index(drop=True)
    n_train = int(round(len(data) * SPLITS["train"]))
    n_validation = int(round(len(data) * SPLITS["validation"]))
    return {
        "train": shuffled.iloc[:n_train],
        "validation": shuffled.iloc[n_train : n_train + n_validation],
        "test": shuffled.iloc[n_train + n_validation :],
    }


def write_splits(parts: dict[str, pd.DataFrame], output_dir: Path) -> dict[str, Path]:
    """Write OUTPUT_DIR/<split>/<split>.csv without header or index; return the paths."""
    paths = {}
    for name, frame in parts.items():
        path = output_dir / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, header=False, index=False)
        paths[name] = path
        logger.info("wrote %s (%d rows)", path, len(frame))
    return paths


def run(input_data: str, output_dir: Path, seed: int = 42) -> dict[str, Path]:
    """Read, validate, transform, split and write; returns {split: path}."""
    data = transform(read_input(input_data))
    return write_splits(split(data, seed), output_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-data", required=True, help="CSV file, CSV directory or s3:// URI")
    parser.add_argument("--output-dir", default="/opt/ml/processing", type=Path)
    parser.add_argument("--seed", default=42, type=int, help="shuffle seed for the split")
    args = parser.parse_args(argv)
    try:
        run(args.input_data, args.output_dir, args.seed)
    except PreprocessError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
