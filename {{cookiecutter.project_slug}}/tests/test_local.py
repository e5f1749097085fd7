"""The local run: sample data, preprocess contract, and reports in the shapes SageMaker writes.

Shapes come from real SageMaker output (Clarify analysis.json for bias and explainability, Model
Monitor statistics.json for model quality); the expected keys, metric names and descriptions below
are copied from those files.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines import local, reports, sample_data
from pipelines.{{ cookiecutter.module_name }} import (
    evidence,
    predict,
    preprocess,
    schema,
    train_local,
)

# Clarify's metric names and descriptions, in the order Clarify writes them.
PRE_TRAINING = {
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
}
POST_TRAINING = {
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "RD": "Recall Difference (RD)",
    "TE": "Treatment Equality (TE)",
}
# Clarify reports these without a group variable as value null plus this error.
GROUP_METRICS = {"CDDL", "CDDPL"}
GROUP_ERROR = "Group variable is empty or not provided"
# Model Monitor's binary_classification_metrics: scalar metrics and the structured entries.
BINARY_SCALARS = {
    "accuracy",
    "accuracy_best_constant_classifier",
    "auc",
    "f0_5",
    "f0_5_best_constant_classifier",
    "f1",
    "f1_best_constant_classifier",
    "f2",
    "f2_best_constant_classifier",
    "false_negative_rate",
    "false_positive_rate",
    "precision",
    "precision_best_constant_classifier",
    "recall",
    "recall_best_constant_classifier",
    "true_negative_rate",
    "true_positive_rate",
}
BINARY_STRUCTURED = {
    "confusion_matrix",
    "precision_recall_curve",
    "receiver_operating_characteristic_curve",
}
REGRESSION_SCALARS = {"mae", "mse", "rmse", "r2"}

ROWS = 800
SEED = 7
SHAP_ROWS = 8
EXPECTED_FILES = {
    "data/raw.csv",
    "data/train.csv",
    "data/validation.csv",
    "data/test.csv",
    "data/baseline.csv",
    "model/model.tar.gz",
    "predictions/predictions.csv",
    "reports/data_bias/analysis.json",
    "reports/model_bias/analysis.json",
    "reports/explainability/analysis.json",
    "reports/model_quality/statistics.json",
    "baselines/data_quality/statistics.json",
    "baselines/data_quality/constraints.json",
    "evidence/manifest.json",
    "evidence/evaluation/test.csv",
    "evidence/evaluation/train.csv",
    "evidence/clarify/data_bias.json",
    "evidence/clarify/model_bias.json",
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """One fair and one biased local build, shared by the report tests."""
    root = tmp_path_factory.mktemp("local")
    return {
        bias: local.run(root / f"bias-{bias}", ROWS, bias, SEED, shap_rows=SHAP_ROWS)
        for bias in (0.0, 0.4)
    }


def load(build: Path, kind: str) -> dict:
    return json.loads((build / local.REPORT_PATHS[kind]).read_text())


def facet_metrics(document: dict, section: str) -> dict[str, dict]:
    facets = document[section]["facets"]
    assert list(facets) == [schema.FACET]
    (group,) = facets[schema.FACET]
    return {metric["name"]: metric for metric in group["metrics"]}


def is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- sample data -------------------------------------------------------------------------------


def test_sample_data_is_deterministic_per_seed() -> None:
    """The same rows, bias and seed give the same frame; another seed gives another one."""
    first = sample_data.generate(300, 0.2, SEED)
    pd.testing.assert_frame_equal(first, sample_data.generate(300, 0.2, SEED))
    assert not first.equals(sample_data.generate(300, 0.2, SEED + 1))
    assert list(first.columns) == schema.RAW_COLUMNS
    assert len(first) == 300
    assert not first.isna().any().any()


def test_sample_data_bias_suppresses_the_disadvantaged_groups_favourable_labels() -> None:
    """With bias the disadvantaged group's favourable rate drops; the other group's stays put."""
    fair = sample_data.generate(4000, 0.0, SEED)
    biased = sample_data.generate(4000, 0.5, SEED)

    def favourable_rates(frame: pd.DataFrame) -> tuple[float, float]:
        group = preprocess.encode_facet(frame[schema.FACET])
        if schema.FACET_MODE == "threshold":
            group = group > schema.FACET_THRESHOLD
        group = group.astype(bool)
        if schema.PROBLEM_TYPE == schema.BINARY:
            good = frame[schema.LABEL] == schema.FAVOURABLE_LABEL
        else:
            good = frame[schema.LABEL] > schema.LABEL_VALUES_OR_THRESHOLD[0]
        return float(good[group].mean()), float(good[~group].mean())

    fair_disadvantaged, fair_other = favourable_rates(fair)
    biased_disadvantaged, biased_other = favourable_rates(biased)
    assert abs(fair_disadvantaged - fair_other) < 0.05
    assert biased_disadvantaged < fair_disadvantaged - 0.08
    assert biased_other == pytest.approx(fair_other)


@pytest.mark.parametrize("bias", [-0.1, 1.5])
def test_sample_data_rejects_bias_outside_unit_interval(bias: float) -> None:
    """bias outside [0, 1] is refused, naming the field."""
    with pytest.raises(ValueError, match="bias"):
        sample_data.generate(10, bias, SEED)


# --- preprocess contract -------------------------------------------------------------------------


def test_preprocess_writes_headerless_label_first_splits(tmp_path: Path) -> None:
    """train/validation/test CSVs: no header, label first, schema.HEADERS width, all rows kept."""
    raw = tmp_path / "raw.csv"
    sample_data.generate(500, 0.0, SEED).to_csv(raw, index=False)
    assert preprocess.main(["--input-data", str(raw), "--output-dir", str(tmp_path / "out")]) == 0

    sizes = {}
    for name in ("train", "validation", "test"):
        path = tmp_path / "out" / name / f"{name}.csv"
        first_line = path.read_text().splitlines()[0]
        assert schema.LABEL not in first_line  # no header row
        frame = pd.read_csv(path, header=None)
        assert frame.shape[1] == len(schema.HEADERS)
        assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
        label = frame[0]
        if schema.PROBLEM_TYPE == schema.BINARY:
            assert set(label.unique()) <= {0, 1}
        else:
            assert (label >= 0).all()
        facet = frame[schema.HEADERS.index(schema.FACET)]
        if schema.FACET_MODE == "categorical":
            assert set(facet.unique()) == {0, 1}
        sizes[name] = len(frame)
    assert sum(sizes.values()) == 500
    assert sizes == {"train": 350, "validation": 75, "test": 75}


def test_preprocess_missing_column_fails_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV without the label column stops with one ERROR line and writes nothing."""
    raw = tmp_path / "raw.csv"
    sample_data.generate(100, 0.0, SEED).drop(columns=[schema.LABEL]).to_csv(raw, index=False)
    out = tmp_path / "out"
    assert preprocess.main(["--input-data", str(raw), "--output-dir", str(out)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ERROR: --input-data: missing column(s) ")
    assert schema.LABEL in lines[0]
    assert not out.exists()


def test_preprocess_drops_rows_with_empty_cells_only(tmp_path: Path) -> None:
    """An empty cell drops its row; text such as "NA" is a value, not a missing one."""
    frame = sample_data.generate(200, 0.0, SEED)
    frame.loc[3, "loan_amount"] = None
    raw = tmp_path / "raw.csv"
    frame.to_csv(raw, index=False)
    assert preprocess.read_input(str(raw))["loan_amount"].isna().sum() == 1
    assert len(preprocess.transform(preprocess.read_input(str(raw)))) == 199

    text = tmp_path / "na.csv"
    text.write_text("facet\nNA\nF\n")
    assert preprocess.read_input(str(text))["facet"].tolist() == ["NA", "F"]


def test_train_local_uses_schema_hyperparameters(tmp_path: Path) -> None:
    """The model has num_round trees, as the built-in algorithm would train with the same dict."""
    raw = tmp_path / "raw.csv"
    sample_data.generate(300, 0.0, SEED).to_csv(raw, index=False)
    splits = preprocess.run(str(raw), tmp_path / "out", SEED)
    archive = train_local.train(splits["train"], splits["validation"], tmp_path / "model")
    from pipelines.{{ cookiecutter.module_name }} import predict

    booster = predict.load_model(archive)
    assert booster.num_boosted_rounds() == int(schema.HYPERPARAMETERS["num_round"])


def test_scripts_run_as_sagemaker_runs_them(tmp_path: Path) -> None:
    """`python preprocess.py` and `python predict.py` from elsewhere, schema.py beside them."""
    module_dir = Path(preprocess.__file__).parent
    raw = tmp_path / "raw.csv"
    sample_data.generate(300, 0.0, SEED).to_csv(raw, index=False)
    processing = tmp_path / "processing"
    subprocess.run(
        [sys.executable, str(module_dir / "preprocess.py"), "--input-data", str(raw),
         "--output-dir", str(processing)],
        check=True, cwd=tmp_path, capture_output=True,
    )  # fmt: skip
    archive = train_local.train(
        processing / "train" / "train.csv",
        processing / "validation" / "validation.csv",
        tmp_path / "model",
    )
    subprocess.run(
        [sys.executable, str(module_dir / "predict.py"), "--model", str(archive.parent),
         "--test-data", str(processing / "test"), "--output-dir", str(processing)],
        check=True, cwd=tmp_path, capture_output=True,
    )  # fmt: skip
    table = pd.read_csv(processing / "predictions" / "predictions.csv")
    assert list(table.columns) == schema.PREDICTION_COLUMNS
    test = pd.read_csv(processing / "test" / "test.csv", header=None)
    assert len(table) == len(test)
    assert table["label"].tolist() == pytest.approx(test[0].tolist())
    if schema.PROBLEM_TYPE == schema.BINARY:
        assert table["probability"].between(0, 1).all()
        expected = (table["probability"] >= schema.PROBABILITY_THRESHOLD).astype(int)
        assert table["prediction"].tolist() == expected.tolist()


def test_sample_data_cli_writes_the_csv(tmp_path: Path) -> None:
    """python -m pipelines.sample_data writes the generated frame with a header."""
    out = tmp_path / "data.csv"
    argv = ["--rows", "50", "--bias", "0.2", "--seed", "3", "--out", str(out)]
    assert sample_data.main(argv) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == schema.RAW_COLUMNS
    assert len(written) == 50


# --- the local run and its reports ----------------------------------------------------------------


def test_local_run_writes_exactly_the_contracted_files(builds: dict[float, Path]) -> None:
    """OUT holds the data splits, the model, the predictions and the four reports, nothing else."""
    for build in builds.values():
        files = {str(p.relative_to(build)) for p in build.rglob("*") if p.is_file()}
        assert files == EXPECTED_FILES
        # No scratch directory left next to OUT.
        assert sorted(p.name for p in build.parent.iterdir()) == ["bias-0.0", "bias-0.4"]


def test_evidence_manifest_pins_every_bundle_file_and_the_model(
    builds: dict[float, Path],
) -> None:
    """The verification bundle: each listed file's sha256 and size, the model's sha256."""
    for build in builds.values():
        root = build / "evidence"
        manifest = json.loads((root / evidence.MANIFEST).read_text())
        listed = set(manifest["files"])
        on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        assert listed == on_disk - {evidence.MANIFEST}
        for name, entry in manifest["files"].items():
            assert entry["sha256"] == evidence.sha256_file(root / name)
            assert entry["bytes"] == (root / name).stat().st_size
        assert manifest["model"]["sha256"] == evidence.sha256_file(build / "model/model.tar.gz")
        test = pd.read_csv(root / evidence.TEST)
        assert list(test.columns) == schema.HEADERS
        assert len(test) == len(pd.read_csv(build / "data/test.csv", header=None))
        config = json.loads((root / evidence.CLARIFY["model_bias"]).read_text())
        assert config["facet"][0]["name_or_index"] == manifest["facet"]["name"] == schema.FACET


def test_predict_step_writes_the_same_bundle_as_make_local(
    builds: dict[float, Path], tmp_path: Path
) -> None:
    """The pipeline's Predict step (predict.py --evidence-dir) writes make local's bundle."""
    build = builds[0.0]
    argv = [
        "--model", str(build / "model"),
        "--test-data", str(build / "data" / "test.csv"),
        "--output-dir", str(tmp_path),
        "--train-data", str(build / "data" / "train.csv"),
        "--evidence-dir", str(tmp_path / "evidence"),
    ]  # fmt: skip
    assert predict.main(argv) == 0
    ours = (tmp_path / "evidence" / evidence.MANIFEST).read_bytes()
    assert ours == (build / "evidence" / evidence.MANIFEST).read_bytes()
    assert predict.main(argv[:6] + ["--evidence-dir", str(tmp_path / "e2")]) == 1


def test_data_bias_report_has_clarifys_pre_training_shape(builds: dict[float, Path]) -> None:
    """analysis.json: version, pre_training_bias_metrics {label, facets, label threshold}."""
    document = load(builds[0.0], "data_bias")
    assert set(document) == {"version", "pre_training_bias_metrics"}
    assert document["version"] == "1.0"
    section = document["pre_training_bias_metrics"]
    assert set(section) == {"label", "facets", "label_value_or_threshold"}
    assert section["label"] == schema.LABEL
    assert isinstance(section["label_value_or_threshold"], str)
    (group,) = section["facets"][schema.FACET]
    assert set(group) == {"value_or_threshold", "metrics"}
    if schema.FACET_MODE == "categorical":
        assert group["value_or_threshold"] == "1"
    names = [m["name"] for m in group["metrics"]]
    assert names == list(PRE_TRAINING)
    for metric in group["metrics"]:
        assert metric["description"] == PRE_TRAINING[metric["name"]]
        if metric["name"] in GROUP_METRICS:
            assert metric == {**metric, "value": None, "error": GROUP_ERROR}
        else:
            assert set(metric) == {"name", "description", "value"}
            assert is_finite_number(metric["value"]), metric


def test_model_bias_report_has_clarifys_post_training_shape(builds: dict[float, Path]) -> None:
    """analysis.json: post_training_bias_metrics with Clarify's eleven metrics, in order."""
    document = load(builds[0.0], "model_bias")
    assert set(document) == {"version", "post_training_bias_metrics"}
    section = document["post_training_bias_metrics"]
    assert set(section) == {"label", "facets", "label_value_or_threshold"}
    assert section["label"] == schema.LABEL
    metrics = facet_metrics(document, "post_training_bias_metrics")
    assert list(metrics) == list(POST_TRAINING)
    for name, metric in metrics.items():
        assert metric["description"] == POST_TRAINING[name]
        if name in GROUP_METRICS:
            assert metric["value"] is None and metric["error"] == GROUP_ERROR
        elif "error" in metric:
            # Kept as Clarify keeps it: the value is null and the reason is stated.
            assert metric["value"] is None and metric["error"]
        else:
            assert is_finite_number(metric["value"]) or metric["value"] in ("Infinity", "-Infinity")
    for name in ("DPPL", "DI", "AD"):
        assert is_finite_number(metrics[name]["value"]), name


def test_explainability_report_has_clarifys_kernel_shap_shape(builds: dict[float, Path]) -> None:
    """explanations.kernel_shap.label0: global_shap_values per feature and expected_value."""
    document = load(builds[0.0], "explainability")
    assert set(document) == {"version", "explanations"}
    label0 = document["explanations"]["kernel_shap"]["label0"]
    assert set(label0) == {"global_shap_values", "expected_value"}
    values = label0["global_shap_values"]
    assert list(values) == schema.FEATURES
    assert all(is_finite_number(v) and v >= 0 for v in values.values())
    assert sum(values.values()) > 0
    assert is_finite_number(label0["expected_value"])
    if schema.PROBLEM_TYPE == schema.BINARY:
        assert 0.0 < label0["expected_value"] < 1.0


def test_model_quality_statistics_have_model_monitors_shape(builds: dict[float, Path]) -> None:
    """statistics.json: version, dataset.item_count and the problem type's metrics block."""
    document = load(builds[0.0], "model_quality")
    item_count = document["dataset"]["item_count"]
    test_rows = len(pd.read_csv(builds[0.0] / "data" / "test.csv", header=None))
    assert item_count == test_rows
    assert document["version"] == 0.0
    if schema.PROBLEM_TYPE == schema.BINARY:
        assert set(document) == {"version", "dataset", "binary_classification_metrics"}
        block = document["binary_classification_metrics"]
        assert set(block) == BINARY_SCALARS | BINARY_STRUCTURED
        for name in BINARY_SCALARS:
            assert set(block[name]) == {"value", "standard_deviation"}
            assert is_finite_number(block[name]["value"]), name
            assert 0.0 <= block[name]["value"] <= 1.0, name
        matrix = block["confusion_matrix"]
        assert set(matrix) == {"0", "1"} and all(set(row) == {"0", "1"} for row in matrix.values())
        assert sum(n for row in matrix.values() for n in row.values()) == item_count
        correct = matrix["0"]["0"] + matrix["1"]["1"]
        assert block["accuracy"]["value"] == pytest.approx(correct / item_count)
        roc = block["receiver_operating_characteristic_curve"]
        assert len(roc["false_positive_rates"]) == len(roc["true_positive_rates"]) >= 2
        pr = block["precision_recall_curve"]
        assert len(pr["precisions"]) == len(pr["recalls"]) >= 2
        # Better than chance on its own test split.
        assert block["auc"]["value"] > 0.6
    else:
        assert set(document) == {"version", "dataset", "regression_metrics"}
        block = document["regression_metrics"]
        assert set(block) == REGRESSION_SCALARS
        for name in REGRESSION_SCALARS:
            assert set(block[name]) == {"value", "standard_deviation"}
            assert is_finite_number(block[name]["value"]), name
        assert block["rmse"]["value"] == pytest.approx(math.sqrt(block["mse"]["value"]))
        assert block["r2"]["value"] > 0.3


def test_bias_knob_moves_the_bias_metrics_the_right_way(builds: dict[float, Path]) -> None:
    """BIAS=0.4 gives larger DPL and DPPL and a lower DI than BIAS=0.0."""
    fair_pre = facet_metrics(load(builds[0.0], "data_bias"), "pre_training_bias_metrics")
    biased_pre = facet_metrics(load(builds[0.4], "data_bias"), "pre_training_bias_metrics")
    fair_post = facet_metrics(load(builds[0.0], "model_bias"), "post_training_bias_metrics")
    biased_post = facet_metrics(load(builds[0.4], "model_bias"), "post_training_bias_metrics")

    if schema.FACET not in schema.BASE_FEATURES:
        # A facet of its own is independent of the financials: fair data shows (almost) no gap.
        # (A generated feature such as age is not: it bounds years of credit history.)
        assert abs(fair_pre["DPL"]["value"]) < 0.08
    assert biased_pre["DPL"]["value"] > fair_pre["DPL"]["value"] + 0.08
    assert biased_pre["KS"]["value"] > fair_pre["KS"]["value"]
    assert biased_post["DPPL"]["value"] > fair_post["DPPL"]["value"] + 0.05
    assert biased_post["DI"]["value"] < fair_post["DI"]["value"] - 0.1


def test_data_quality_baseline_has_model_monitors_shape(builds: dict[float, Path]) -> None:
    """statistics.json and constraints.json name the columns _c0.. by position: the model's
    response, then schema.FEATURES, as the endpoint's data capture records a request."""
    statistics = json.loads((builds[0.0] / local.BASELINE_PATHS["statistics"]).read_text())
    constraints = json.loads((builds[0.0] / local.BASELINE_PATHS["constraints"]).read_text())
    names = [f"_c{i}" for i in range(1 + len(schema.FEATURES))]
    assert [f["name"] for f in statistics["features"]] == names
    assert [f["name"] for f in constraints["features"]] == names
    train = pd.read_csv(builds[0.0] / "data" / "train.csv", header=None)
    assert statistics["dataset"]["item_count"] == len(train)
    for feature in statistics["features"]:
        numbers = feature["numerical_statistics"]
        # AWS's "Schema for Statistics" (statistics.json), less the KLL `distribution`.
        assert set(numbers) == {"common", "mean", "sum", "std_dev", "min", "max"}
        assert set(numbers["common"]) == {"num_present", "num_missing"}
        assert numbers["min"] <= numbers["mean"] <= numbers["max"]
        assert numbers["common"]["num_missing"] == 0
    # Floats throughout (the response is a score, not the 0/1 label), as the endpoint gets them.
    assert {f["inferred_type"] for f in statistics["features"]} == {"Fractional"}
    response = statistics["features"][0]
    if schema.PROBLEM_TYPE == schema.BINARY:
        assert 0.0 <= response["numerical_statistics"]["min"]
        assert response["numerical_statistics"]["max"] <= 1.0
    # _c1.. are the features: the train split's own columns (label dropped), in order.
    for index, name in enumerate(schema.FEATURES, start=1):
        column = train[schema.HEADERS.index(name)]
        mean = statistics["features"][index]["numerical_statistics"]["mean"]
        assert mean == pytest.approx(float(column.mean()))
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"


def test_data_quality_types_come_from_the_text_as_model_monitor_reads_it() -> None:
    """Text "35" is Integral and "35.0" Fractional (Deequ's rule): the baseline.csv predict.py
    writes holds floats, as the staging payload sends them, so every column is Fractional."""
    rows = pd.DataFrame(
        {0: ["35", "-2", "7"], 1: ["35.0", "-2.0", "7.0"], 2: ["0.5", "1e-05", "1"]}
    )
    statistics, constraints = reports.data_quality_baseline(rows)
    kinds = [f["inferred_type"] for f in statistics["features"]]
    assert kinds == ["Integral", "Fractional", "Fractional"]
    assert [f["inferred_type"] for f in constraints["features"]] == kinds
    assert statistics["features"][0]["numerical_statistics"]["min"] == -2.0
    assert constraints["features"][0]["num_constraints"] == {"is_non_negative": False}
    assert constraints["features"][2]["num_constraints"] == {"is_non_negative": True}


def test_predict_step_writes_make_locals_baseline_dataset(
    builds: dict[float, Path], tmp_path: Path
) -> None:
    """predict.py --baseline-dir (the Predict step's `baseline` output, the DataQuality step's
    input) writes byte for byte the baseline.csv make local baselines."""
    build = builds[0.0]
    argv = [
        "--model", str(build / "model"),
        "--test-data", str(build / "data" / "test.csv"),
        "--output-dir", str(tmp_path),
        "--train-data", str(build / "data" / "train.csv"),
        "--baseline-dir", str(tmp_path / "baseline"),
    ]  # fmt: skip
    assert predict.main(argv) == 0
    ours = (tmp_path / "baseline" / predict.BASELINE_FILE).read_bytes()
    assert ours == (build / "data" / "baseline.csv").read_bytes()
    rows = pd.read_csv(tmp_path / "baseline" / predict.BASELINE_FILE, header=None)
    assert rows.shape[1] == 1 + len(schema.FEATURES)
    assert predict.main(argv[:6] + ["--baseline-dir", str(tmp_path / "b2")]) == 1
    assert not (tmp_path / "b2").exists()


def test_reports_are_strict_json(builds: dict[float, Path]) -> None:
    """No NaN/Infinity tokens: a strict parser reads every report."""

    def reject(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    for build in builds.values():
        for relative in local.REPORT_PATHS.values():
            json.loads((build / relative).read_text(), parse_constant=reject)


def test_model_quality_standard_deviation_follows_model_monitor() -> None:
    """Below 200 rows the standard deviation is the string "NaN", as Model Monitor writes it."""
    small = pd.DataFrame(
        {"label": [0, 1] * 20, "prediction": [0, 1] * 20, "probability": [0.2, 0.8] * 20}
    )
    if schema.PROBLEM_TYPE != schema.BINARY:
        small = small[["label", "prediction"]].astype(float)
    document = reports.model_quality_report(small)
    block = next(v for k, v in document.items() if k.endswith("_metrics"))
    stds = {v["standard_deviation"] for v in block.values() if "standard_deviation" in v}
    assert stds == {"NaN"}


def test_headline_quotes_the_reports(builds: dict[float, Path]) -> None:
    """The summary line `make local` prints carries the reports' own DPL, DPPL and DI."""
    build = builds[0.4]
    pre = facet_metrics(load(build, "data_bias"), "pre_training_bias_metrics")
    post = facet_metrics(load(build, "model_bias"), "post_training_bias_metrics")
    line = local.headline(build)
    assert f"DPL={pre['DPL']['value']:.3f}" in line
    assert f"DPPL={post['DPPL']['value']:.3f}" in line
    assert f"DI={post['DI']['value']:.3f}" in line


# --- command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--bias", "1.5"], "--bias"),
        (["--bias", "-0.2"], "--bias"),
        (["--rows", "10"], "--rows"),
        (["--bias", "abc"], "argument --bias"),
    ],
)
def test_local_cli_rejects_bad_arguments_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    """Bad --bias/--rows: exit 2, one ERROR line naming the flag, nothing written."""
    out = tmp_path / "out"
    try:
        code = local.main([*argv, "--output-dir", str(out)])
    except SystemExit as exc:  # argparse's own checks (e.g. not a number) exit from parse_args
        code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ERROR: {field}: ")
    assert not out.exists()


def test_failed_local_run_leaves_previous_output_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails mid-run leaves the earlier OUT as it was and no scratch directory."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "marker.txt").write_text("previous run")

    def broken_train(*args: object, **kwargs: object) -> Path:
        raise ValueError("training failed")

    monkeypatch.setattr(train_local, "train", broken_train)
    with pytest.raises(ValueError, match="training failed"):
        local.run(out, 200, 0.0, SEED)
    assert [p.name for p in out.iterdir()] == ["marker.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
