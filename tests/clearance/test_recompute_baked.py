"""On the baked team repo's own `make local` output, the recomputation reproduces its reports.

The baked build writes Clarify's bias reports with smclarify (pre-training on the train split,
post-training on the test split with predict.py's labels) and Model Monitor's quality statistics
with scikit-learn; this recomputes every reported metric from the split files alone.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from clearance.decide import quality, recompute

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-9
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["binary_classification", "regression"])
def local_build(request: pytest.FixtureRequest, cookies_session: Any) -> tuple[Path, dict]:
    result = cookies_session.bake(extra_context={"problem_type": request.param}, template=str(REPO))
    assert result.exception is None, result.exception
    project = Path(result.project_path)
    out = project / "build" / "local"
    completed = subprocess.run(
        [sys.executable, "-m", "pipelines.local", "--bias", "0.3", "--output-dir", str(out)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    schema = json.loads(
        subprocess.run(
            [sys.executable, "-c", _SCHEMA_DUMP],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return out, schema


_SCHEMA_DUMP = """
import json, pkgutil, importlib, pipelines
(module,) = [m.name for m in pkgutil.iter_modules(pipelines.__path__) if m.ispkg]
s = importlib.import_module(f"pipelines.{module}.schema")
print(json.dumps({k: getattr(s, k) for k in ("HEADERS", "FEATURES", "FACET", "LABEL",
    "FACET_MODE", "FACET_VALUES_OR_THRESHOLD", "LABEL_VALUES_OR_THRESHOLD", "PROBLEM_TYPE")}))
"""


def _reported(path: Path, section: str) -> dict[str, float | None]:
    document = json.loads(path.read_text())[section]
    (group,) = next(iter(document["facets"].values()))
    values = {}
    for metric in group["metrics"]:
        value = metric.get("value")
        if isinstance(value, str):
            value = {"Infinity": math.inf, "-Infinity": -math.inf}[value]
        values[metric["name"]] = value
    return values


def _data(split: pd.DataFrame, schema: dict, predicted: np.ndarray | None) -> recompute.BiasData:
    threshold_facet = schema["FACET_MODE"] == "threshold"
    threshold_label = schema["PROBLEM_TYPE"] == "regression"
    values = schema["LABEL_VALUES_OR_THRESHOLD"]
    return recompute.BiasData(
        facet=recompute.positive_mask(
            split[schema["FACET"]].to_numpy(), schema["FACET_VALUES_OR_THRESHOLD"], threshold_facet
        ),
        label=recompute.positive_mask(split[schema["LABEL"]].to_numpy(), values, threshold_label),
        predicted=None
        if predicted is None
        else recompute.positive_mask(predicted, values, threshold_label),
        features=split[[f for f in schema["FEATURES"] if f != schema["FACET"]]].to_numpy(float),
    )


def test_recomputation_reproduces_the_baked_builds_reports(
    local_build, capsys: pytest.CaptureFixture
) -> None:
    out, schema = local_build
    diffs: dict[str, float] = {}
    names = schema["HEADERS"]
    train = pd.read_csv(out / "data" / "train.csv", header=None, names=names)
    test = pd.read_csv(out / "data" / "test.csv", header=None, names=names)
    table = pd.read_csv(out / "predictions" / "predictions.csv")
    reports = out / "reports"
    compared = 0
    for split, stage, path, predicted in (
        (train, "pre_training", reports / "data_bias" / "analysis.json", None),
        (test, "post_training", reports / "model_bias" / "analysis.json", table["prediction"]),
    ):
        reported = _reported(path, f"{stage}_bias_metrics")
        ours = recompute.point_metrics(
            _data(split, schema, None if predicted is None else predicted.to_numpy()), stage
        )
        for name, value in reported.items():
            mine = ours[name][0]
            if value is None:
                assert mine is None, (name, mine)
                continue
            compared += 1
            if math.isinf(value):
                assert mine == value, name
            else:
                diffs[name] = abs(mine - value)
                assert diffs[name] <= TOLERANCE, (name, mine, value)
    assert compared >= 16  # every metric but CDDL/CDDPL (no group variable in the template)

    statistics = json.loads((reports / "model_quality" / "statistics.json").read_text())
    if schema["PROBLEM_TYPE"] == "regression":
        block = statistics["regression_metrics"]
        ours = quality.regression(table["label"].to_numpy(), table["prediction"].to_numpy())
    else:
        block = statistics["binary_classification_metrics"]
        ours = quality.binary(
            table["label"].to_numpy() == 1,
            table["prediction"].to_numpy() == 1,
            table["probability"].to_numpy(),
        )
    for name, value in ours.items():
        diffs[name] = abs(value - block[name]["value"])
        assert diffs[name] <= TOLERANCE * max(1.0, abs(value)), name
    with capsys.disabled():
        print(f"\nbaked {schema['PROBLEM_TYPE']} build, max abs difference per metric:")
        print("  " + ", ".join(f"{name} {diff:.1e}" for name, diff in sorted(diffs.items())))
