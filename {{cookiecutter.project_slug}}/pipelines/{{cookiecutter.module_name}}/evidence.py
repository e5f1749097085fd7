"""The verification bundle: what the governance account needs to recompute this build's reports.

Written beside the reports by `make local` (OUT/evidence/) and registered with the model package, so
the central approval can score the split with the registered model itself and recompute every bias
and quality metric instead of trusting the reports (the "trust but verify" step):

    evidence/manifest.json          columns, configuration and the sha256 + size of every file below
    evidence/evaluation/test.csv    the split the model was evaluated on: label, then
                                    schema.FEATURES (the facet among them), WITH a header
    evidence/evaluation/train.csv   label and facet of the training split (pre-training bias)
    evidence/clarify/data_bias.json     the Clarify analysis configuration of the DataBias check
    evidence/clarify/model_bias.json    ... of the ModelBias check

The manifest also pins the model artifact's sha256, so the governance account refuses a bundle
whose model changed after the reports were computed. Standard library and pandas only: the file
runs in the processing images too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

try:
    from . import schema
except ImportError:  # run as a script: SageMaker ships this folder, schema.py sits next to us
    import schema  # type: ignore[no-redef]

MANIFEST = "manifest.json"
TEST = "evaluation/test.csv"
TRAIN = "evaluation/train.csv"
CLARIFY = {"data_bias": "clarify/data_bias.json", "model_bias": "clarify/model_bias.json"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clarify_config(methods: dict[str, Any]) -> dict[str, Any]:
    """Clarify's analysis configuration (the keys the checks run with) for METHODS."""
    return {
        "dataset_type": "text/csv",
        "headers": list(schema.HEADERS),
        "label": schema.LABEL,
        "label_values_or_threshold": list(schema.LABEL_VALUES_OR_THRESHOLD),
        "facet": [
            {
                "name_or_index": schema.FACET,
                "value_or_threshold": list(schema.FACET_VALUES_OR_THRESHOLD),
            }
        ],
        "probability_threshold": schema.PROBABILITY_THRESHOLD,
        "methods": methods,
    }


def manifest(files: dict[str, Path], model_archive: Path) -> dict[str, Any]:
    binary = schema.PROBLEM_TYPE == schema.BINARY
    return {
        "version": 1,
        "problem_type": schema.PROBLEM_TYPE,
        "label": {
            "name": schema.LABEL,
            "values_or_threshold": list(schema.LABEL_VALUES_OR_THRESHOLD),
            "threshold": not binary,
        },
        "facet": {
            "name": schema.FACET,
            "values_or_threshold": list(schema.FACET_VALUES_OR_THRESHOLD),
            "threshold": schema.FACET_MODE == "threshold",
        },
        "features": list(schema.FEATURES),
        "probability_threshold": schema.PROBABILITY_THRESHOLD,
        "splits": {"pre_training": TRAIN, "post_training": TEST},
        "files": {
            name: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
            for name, path in sorted(files.items())
        },
        "model": {"sha256": sha256_file(model_archive)},
    }


def write_bundle(train: pd.DataFrame, test: pd.DataFrame, model_archive: Path, out: Path) -> Path:
    """Write the bundle for TRAIN/TEST (schema.HEADERS order) and the model into OUT; returns the
    manifest's path."""
    files = {TEST: out / TEST, TRAIN: out / TRAIN}
    files[TEST].parent.mkdir(parents=True, exist_ok=True)
    test[schema.HEADERS].to_csv(files[TEST], index=False)
    train[[schema.LABEL, schema.FACET]].to_csv(files[TRAIN], index=False)
    methods = {
        "data_bias": {"pre_training_bias": {"methods": "all"}},
        "model_bias": {"post_training_bias": {"methods": "all"}},
    }
    for kind, relative in CLARIFY.items():
        files[relative] = out / relative
        files[relative].parent.mkdir(parents=True, exist_ok=True)
        files[relative].write_text(json.dumps(clarify_config(methods[kind]), indent=2) + "\n")
    path = out / MANIFEST
    path.write_text(json.dumps(manifest(files, model_archive), indent=2, sort_keys=True) + "\n")
    return path
