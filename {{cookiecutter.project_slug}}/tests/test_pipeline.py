"""The SageMaker pipeline definition, built offline, and the console scripts that deploy it.

The definition is the real one the SDK would send to SageMaker: built by get_pipeline() inside
the in-process S3/STS stand-in (pipelines/offline.py), parsed as JSON, and checked step by step.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from pipelines import _utils, get_pipeline_definition, run_pipeline
from pipelines.offline import FAKE_ROLE_ARN, offline_aws

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = _utils.DEFAULT_MODULE.split(".")[1]
MODULE_NAME = _utils.DEFAULT_MODULE

pipeline_module = importlib.import_module(MODULE_NAME)
schema = importlib.import_module(f"pipelines.{PACKAGE}.schema")

REGION = "us-east-1"
BUCKET = "clearance-test-artifacts"
PREFIX = "team-build"
PROJECT = "team-project"
PROJECT_ID = "p-abc123"
# In a Service Catalog project the group is in the governance account's central registry.
GROUP = (
    "arn:aws:sagemaker:us-east-1:222222222222:model-package-group/111111111111-team-p-abcdefghijkl"
)
PIPELINE_NAME = "team-project-build"

BINARY = schema.PROBLEM_TYPE == schema.BINARY

EXPECTED_STEPS = [
    ("Preprocess", "Processing"),
    ("Train", "Training"),
    ("CreateModel", "Model"),
    ("DataBias", "ClarifyCheck"),
    ("Predict", "Processing"),
    ("DataQuality", "QualityCheck"),
    ("ModelQuality", "QualityCheck"),
    ("ModelBias", "ClarifyCheck"),
    ("ModelExplainability", "ClarifyCheck"),
    ("DigestReports", "Processing"),
    ("RegisterModel", "RegisterModel"),
]
CHECKS = ["DataBias", "ModelQuality", "ModelBias", "ModelExplainability"]
CLARIFY_CHECKS = {
    "DataBias": ("data-bias", "DATA_BIAS"),
    "ModelBias": ("model-bias", "MODEL_BIAS"),
    "ModelExplainability": ("explainability", "MODEL_EXPLAINABILITY"),
}
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


def get(path: str) -> dict[str, str]:
    """The JSON the SDK writes for a reference to a step property or parameter."""
    return {"Get": path}


@dataclass
class Built:
    definition: dict[str, Any]
    second_definition: dict[str, Any]  # the same call again, for reproducibility
    steps: dict[str, dict[str, Any]]
    s3_objects: dict[str, bytes]  # every object the build uploaded, by s3:// URI

    def args(self, step: str) -> dict[str, Any]:
        return self.steps[step]["Arguments"]

    def inputs(self, step: str) -> dict[str, dict[str, Any]]:
        return {item["InputName"]: item["S3Input"] for item in self.args(step)["ProcessingInputs"]}

    def uploaded_json(self, uri: str) -> dict[str, Any]:
        return json.loads(self.s3_objects[uri])


@pytest.fixture(scope="module")
def built() -> Built:
    """Build the pipeline once, offline, and keep the definition and every upload."""
    kwargs = {
        "region": REGION,
        "role": FAKE_ROLE_ARN,
        "default_bucket": BUCKET,
        "pipeline_name": PIPELINE_NAME,
        "model_package_group_name": GROUP,
        "base_job_prefix": PREFIX,
        "sagemaker_project_name": PROJECT,
        "sagemaker_project_id": PROJECT_ID,
    }
    with offline_aws(REGION, buckets=(BUCKET,)):
        _utils.memoize_sdk_config_validation()
        definition = json.loads(pipeline_module.get_pipeline(**kwargs).definition())
        second_definition = json.loads(pipeline_module.get_pipeline(**kwargs).definition())
        s3 = boto3.client("s3", region_name=REGION)
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
                objects[f"s3://{BUCKET}/{item['Key']}"] = body
    steps = {step["Name"]: step for step in definition["Steps"]}
    return Built(
        definition=definition,
        second_definition=second_definition,
        steps=steps,
        s3_objects=objects,
    )


# --- structure --------------------------------------------------------------------------------


def test_steps_have_stable_names_types_and_order(built: Built) -> None:
    """Every step is there, in DAG order, with the SageMaker step type the design names."""
    assert [(s["Name"], s["Type"]) for s in built.definition["Steps"]] == EXPECTED_STEPS
    assert pipeline_module.STEP_NAMES == [name for name, _ in EXPECTED_STEPS]


def test_definition_is_reproducible(built: Built) -> None:
    """The same code and arguments give the same definition, so a PR diff shows real changes."""
    assert built.second_definition == built.definition


def test_checks_run_one_after_another_and_register_comes_last(built: Built) -> None:
    """Explicit dependencies chain the checks so one Clarify job runs at a time."""
    assert built.steps["DataBias"]["DependsOn"] == ["CreateModel"]
    assert built.steps["Predict"]["DependsOn"] == ["DataBias"]
    # DataQuality waits for Predict through its input (baseline.csv), not a DependsOn.
    assert "DependsOn" not in built.steps["DataQuality"]
    assert built.steps["ModelQuality"]["DependsOn"] == ["DataQuality"]
    assert built.steps["ModelBias"]["DependsOn"] == ["ModelQuality"]
    assert built.steps["ModelExplainability"]["DependsOn"] == ["ModelBias"]
    assert built.steps["DigestReports"]["DependsOn"] == ["ModelExplainability"]
    assert built.steps["RegisterModel"]["DependsOn"] == ["DigestReports"]


def test_parameters_are_declared_with_their_defaults(built: Built) -> None:
    """Run-time knobs: instance types, input data, per-check switches (no approval status)."""
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in built.definition["Parameters"]}
    expected = {
        "ProcessingInstanceType": ("String", pipeline_module.PROCESSING_INSTANCE_TYPE),
        "TrainingInstanceType": ("String", pipeline_module.TRAINING_INSTANCE_TYPE),
        "InputDataUrl": ("String", f"s3://{BUCKET}/{PREFIX}/input/data.csv"),
    }
    for check in CHECKS:
        expected[f"Skip{check}Check"] = ("Boolean", False)
        expected[f"RegisterNew{check}Baseline"] = ("Boolean", False)
    # The data-quality baseline is the endpoint monitor's reference: its drift check is skipped
    # unless asked for, and it always registers its own baseline (no RegisterNew parameter).
    expected["SkipDataQualityCheck"] = ("Boolean", True)
    assert params == expected


# --- preprocess, train, predict ---------------------------------------------------------------


def test_preprocess_runs_the_shipped_script_on_the_input_parameter(built: Built) -> None:
    """The uploaded script and schema are this repo's files; the input is the parameter."""
    args = built.args("Preprocess")
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--input-data",
        get("Parameters.InputDataUrl"),
        "--output-dir",
        "/opt/ml/processing",
    ]
    image = args["AppSpecification"]["ImageUri"]
    version = pipeline_module.SKLEARN_FRAMEWORK_VERSION
    assert image.endswith(f"sagemaker-scikit-learn:{version}-cpu-py3")
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == get(
        "Parameters.ProcessingInstanceType"
    )
    inputs = built.inputs("Preprocess")
    package_dir = REPO_ROOT / "pipelines" / PACKAGE
    assert built.s3_objects[inputs["code"]["S3Uri"]] == (package_dir / "preprocess.py").read_bytes()
    assert built.s3_objects[inputs["schema"]["S3Uri"]] == (package_dir / "schema.py").read_bytes()
    assert args["Environment"]["PYTHONPATH"].split(":")[0] == inputs["schema"]["LocalPath"]


def test_every_run_writes_its_data_under_its_own_execution_id(built: Built) -> None:
    """A later run must never overwrite the data an earlier model package was built from."""
    outputs = built.args("Preprocess")["ProcessingOutputConfig"]["Outputs"]
    for output in outputs:
        join = output["S3Output"]["S3Uri"]["Std:Join"]
        assert join["Values"] == [
            f"s3://{BUCKET}/{PREFIX}",
            EXECUTION_ID,
            f"data/{output['OutputName']}",
        ]
    assert [o["OutputName"] for o in outputs] == ["train", "validation", "test"]


def test_train_uses_builtin_xgboost_with_the_schema_hyperparameters(built: Built) -> None:
    """The pipeline trains the same model the local run trains."""
    args = built.args("Train")
    assert args["HyperParameters"] == schema.HYPERPARAMETERS
    image = args["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith(f"sagemaker-xgboost:{schema.XGBOOST_FRAMEWORK_VERSION}")
    assert args["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in args["InputDataConfig"]
    }
    assert channels == {
        split: get(f"Steps.Preprocess.ProcessingOutputConfig.Outputs['{split}'].S3Output.S3Uri")
        for split in ("train", "validation")
    }


def test_create_model_serves_the_trained_artifact(built: Built) -> None:
    container = built.args("CreateModel")["PrimaryContainer"]
    assert container["ModelDataUrl"] == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert container["Image"] == built.args("Train")["AlgorithmSpecification"]["TrainingImage"]


def test_predict_scores_the_test_split_with_the_trained_model(built: Built) -> None:
    args = built.args("Predict")
    inputs = built.inputs("Predict")
    assert inputs["model"]["S3Uri"] == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")
    assert inputs["test"]["S3Uri"] == get(
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    )
    assert inputs["train"]["S3Uri"] == get(
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    )
    assert args["AppSpecification"]["ContainerArguments"] == [
        "--model",
        inputs["model"]["LocalPath"],
        "--test-data",
        inputs["test"]["LocalPath"],
        "--output-dir",
        "/opt/ml/processing",
        "--train-data",
        inputs["train"]["LocalPath"],
        "--evidence-dir",
        "/opt/ml/processing/evidence",
        "--baseline-dir",
        "/opt/ml/processing/baseline",
    ]
    outputs = {o["OutputName"]: o["S3Output"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["baseline"]["LocalPath"] == "/opt/ml/processing/baseline"
    assert outputs["baseline"]["S3Uri"]["Std:Join"]["Values"] == [
        f"s3://{BUCKET}/{PREFIX}",
        EXECUTION_ID,
        "data/baseline",
    ]
    evidence_code = (REPO_ROOT / "pipelines" / PACKAGE / "evidence.py").read_bytes()
    assert built.s3_objects[inputs["evidence_code"]["S3Uri"]] == evidence_code
    code = (REPO_ROOT / "pipelines" / PACKAGE / "predict.py").read_bytes()
    assert built.s3_objects[inputs["code"]["S3Uri"]] == code
    assert "sagemaker-xgboost" in args["AppSpecification"]["ImageUri"]


# --- checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS)
def test_each_check_has_its_own_skip_and_baseline_parameters(built: Built, check: str) -> None:
    """skip_check / register_new_baseline are wired to that check's own parameters."""
    step = built.steps[check]
    assert step["SkipCheck"] == get(f"Parameters.Skip{check}Check")
    assert step["RegisterNewBaseline"] == get(f"Parameters.RegisterNew{check}Baseline")
    assert step["ModelPackageGroupName"] == GROUP
    assert step["FailOnViolation"] is True


def test_clarify_checks_write_to_distinct_per_run_folders(built: Built) -> None:
    """Shared folders would overwrite one analysis_config.json and each other's reports."""
    configs, reports = set(), set()
    for check, (folder, check_type) in CLARIFY_CHECKS.items():
        step = built.steps[check]
        assert step["CheckType"] == check_type
        config_uri = built.inputs(check)["analysis_config"]["S3Uri"]
        assert config_uri == f"s3://{BUCKET}/{PREFIX}/clarify-config/{folder}/analysis_config.json"
        (output,) = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        join = output["S3Output"]["S3Uri"]["Std:Join"]
        assert join["Values"] == [f"s3://{BUCKET}/{PREFIX}", EXECUTION_ID, "clarify", folder]
        configs.add(config_uri)
        reports.add(folder)
    assert len(configs) == len(reports) == 3


def test_data_bias_measures_the_configured_label_and_facet_on_the_train_split(
    built: Built,
) -> None:
    config = built.uploaded_json(built.inputs("DataBias")["analysis_config"]["S3Uri"])
    assert config["label"] == schema.LABEL
    assert config["headers"] == schema.HEADERS
    assert config["label_values_or_threshold"] == schema.LABEL_VALUES_OR_THRESHOLD
    assert config["facet"] == [
        {"name_or_index": schema.FACET, "value_or_threshold": schema.FACET_VALUES_OR_THRESHOLD}
    ]
    assert config["methods"]["pre_training_bias"] == {"methods": "all"}
    assert built.inputs("DataBias")["dataset"]["S3Uri"] == get(
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    )


def test_model_bias_serves_the_created_model_on_the_test_split(built: Built) -> None:
    step = built.steps["ModelBias"]
    assert step["ModelName"] == get("Steps.CreateModel.ModelName")
    assert built.inputs("ModelBias")["dataset"]["S3Uri"] == get(
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    )
    config = built.uploaded_json(built.inputs("ModelBias")["analysis_config"]["S3Uri"])
    assert config["methods"]["post_training_bias"] == {"methods": "all"}
    assert config["facet"][0]["name_or_index"] == schema.FACET
    assert config["predictor"]["content_type"] == "text/csv"
    assert config["predictor"]["instance_type"] == pipeline_module.PROCESSING_INSTANCE_TYPE
    if BINARY:
        assert config["probability_threshold"] == schema.PROBABILITY_THRESHOLD
    else:
        assert "probability_threshold" not in config


def test_model_explainability_runs_kernel_shap_on_the_created_model(built: Built) -> None:
    step = built.steps["ModelExplainability"]
    assert step["ModelName"] == get("Steps.CreateModel.ModelName")
    config = built.uploaded_json(built.inputs("ModelExplainability")["analysis_config"]["S3Uri"])
    shap = config["methods"]["shap"]
    assert shap["agg_method"] == "mean_abs"
    assert shap["num_samples"] == pipeline_module.SHAP_NUM_SAMPLES
    assert config["label"] == schema.LABEL


def test_data_quality_baselines_the_train_split_as_the_endpoint_capture_records_it(
    built: Built,
) -> None:
    """Model Monitor's analyzer on Predict's baseline.csv (response, then features, no header),
    into this run's own folder; the baseline it calculates is always the one registered."""
    step = built.steps["DataQuality"]
    assert step["CheckType"] == "DATA_QUALITY"
    assert step["SkipCheck"] == get("Parameters.SkipDataQualityCheck")
    assert step["RegisterNewBaseline"] is True
    assert step["ModelPackageGroupName"] == GROUP
    args = step["Arguments"]
    image = args["AppSpecification"]["ImageUri"]
    assert image.endswith(".amazonaws.com/sagemaker-model-monitor-analyzer")
    assert image == built.args("ModelQuality")["AppSpecification"]["ImageUri"]
    env = args["Environment"]
    assert json.loads(env["dataset_format"]) == {
        "csv": {"header": False, "output_columns_position": "START"}
    }
    assert "analysis_type" not in env  # data quality is the analyzer's default analysis
    (dataset,) = args["ProcessingInputs"]
    assert dataset["S3Input"]["S3Uri"] == get(
        "Steps.Predict.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    )
    assert env["dataset_source"] == dataset["S3Input"]["LocalPath"]
    join = args["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]
    assert join["Values"] == [f"s3://{BUCKET}/{PREFIX}", EXECUTION_ID, "data-quality"]
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == get(
        "Parameters.ProcessingInstanceType"
    )


def test_model_quality_reads_the_predictions_with_the_right_problem_type(built: Built) -> None:
    args = built.args("ModelQuality")
    env = args["Environment"]
    assert env["problem_type"] == ("BinaryClassification" if BINARY else "Regression")
    assert env["inference_attribute"] == "prediction"
    assert env["ground_truth_attribute"] == "label"
    assert ("probability_attribute" in env) is BINARY
    assert json.loads(env["dataset_format"]) == {
        "csv": {"header": True, "output_columns_position": "START"}
    }
    assert args["ProcessingInputs"][0]["S3Input"]["S3Uri"] == get(
        "Steps.Predict.ProcessingOutputConfig.Outputs['predictions'].S3Output.S3Uri"
    )
    join = args["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]
    assert join["Values"] == [f"s3://{BUCKET}/{PREFIX}", EXECUTION_ID, "model-quality"]


# --- registration -----------------------------------------------------------------------------


def test_register_always_waits_for_approval(built: Built) -> None:
    """Always PendingManualApproval: no parameter lets a run register a decided package."""
    args = built.args("RegisterModel")
    assert args["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ModelApprovalStatus" not in {p["Name"] for p in built.definition["Parameters"]}
    assert args["ModelPackageGroupName"] == GROUP
    (container,) = args["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == get("Steps.Train.ModelArtifacts.S3ModelArtifacts")


def test_model_metrics_are_wired_to_the_check_that_produced_each_report(built: Built) -> None:
    """The approval reads these slots: each must point at the right check's result, with the
    sha256 DigestReports computed of that very object as its ContentDigest."""
    json_type = "application/json"
    inputs = built.args("DigestReports")["ProcessingInputs"]
    channels = {i["InputName"]: i["S3Input"]["S3Uri"] for i in inputs}

    def source(path: Any) -> dict[str, Any]:
        uri = get(path) if isinstance(path, str) else path
        [name] = [n for n, u in channels.items() if u == uri]
        digest = {
            "Std:JsonGet": {
                "PropertyFile": {"Get": "Steps.DigestReports.PropertyFiles.ReportDigests"},
                "Path": name,
            }
        }
        return {"ContentType": json_type, "S3Uri": uri, "ContentDigest": digest}

    evidence = get("Steps.Predict.ProcessingOutputConfig.Outputs['evidence'].S3Output.S3Uri")
    assert built.args("RegisterModel")["ModelMetrics"] == {
        # The verification bundle's manifest, which the governance account recomputes from,
        # digested like every report (the approval reads the governance copy with this sha256).
        "ModelDataQuality": {
            "Statistics": source({"Std:Join": {"On": "/", "Values": [evidence, "manifest.json"]}}),
        },
        "ModelQuality": {
            "Statistics": source("Steps.ModelQuality.CalculatedBaselineStatistics"),
            "Constraints": source("Steps.ModelQuality.CalculatedBaselineConstraints"),
        },
        "Bias": {
            "PreTrainingReport": source("Steps.DataBias.CalculatedBaselineConstraints"),
            "PostTrainingReport": source("Steps.ModelBias.CalculatedBaselineConstraints"),
        },
        "Explainability": {
            "Report": source("Steps.ModelExplainability.CalculatedBaselineConstraints"),
        },
    }


def test_digest_step_writes_the_content_digest_the_api_accepts(tmp_path: Path) -> None:
    """digest.py: one "sha256:<hex>" per report channel, in the form botocore's ContentDigest
    pattern takes; a channel with no report or two stops the step with one ERROR line."""
    import botocore.session

    digest = importlib.import_module(f"pipelines.{PACKAGE}.digest")
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("ContentDigest")
    pattern = re.compile(shape.metadata["pattern"])
    reports = tmp_path / "reports"
    for name, body in (("bias_post_training", b'{"a": 1}'), ("explainability", b"{}")):
        (reports / name).mkdir(parents=True)
        (reports / name / "analysis.json").write_bytes(body)
    assert digest.main(["--input-dir", str(reports), "--output-dir", str(tmp_path / "out")]) == 0
    found = json.loads((tmp_path / "out" / "digests.json").read_text(encoding="utf-8"))
    assert found["bias_post_training"] == "sha256:" + hashlib.sha256(b'{"a": 1}').hexdigest()
    assert all(pattern.fullmatch(value) for value in found.values())
    (reports / "explainability" / "other.json").write_bytes(b"{}")
    assert digest.main(["--input-dir", str(reports), "--output-dir", str(tmp_path / "o2")]) == 1
    assert not (tmp_path / "o2").exists()


def test_drift_check_baselines_come_from_the_checks_and_their_configs(built: Built) -> None:
    baselines = built.args("RegisterModel")["DriftCheckBaselines"]
    json_type = "application/json"

    def source(path: str) -> dict[str, Any]:
        return {"ContentType": json_type, "S3Uri": get(path)}

    assert baselines["ModelQuality"] == {
        "Statistics": source("Steps.ModelQuality.BaselineUsedForDriftCheckStatistics"),
        "Constraints": source("Steps.ModelQuality.BaselineUsedForDriftCheckConstraints"),
    }
    # What the deploy side's data-quality monitoring schedule on the endpoint is built from, each
    # file with the sha256 DigestReports computed of it: the endpoint check builds the schedule
    # from the governance copy with that digest, so a constraints.json loosened after the approval
    # is never what the endpoint is monitored with.
    inputs = built.args("DigestReports")["ProcessingInputs"]
    channels = {i["InputName"]: i["S3Input"]["S3Uri"] for i in inputs}
    for kind in ("Statistics", "Constraints"):
        uri = get(f"Steps.DataQuality.BaselineUsedForDriftCheck{kind}")
        channel = f"data_quality_{kind.lower()}"
        assert channels[channel] == uri
        assert baselines["ModelDataQuality"][kind] == {
            **source(f"Steps.DataQuality.BaselineUsedForDriftCheck{kind}"),
            "ContentDigest": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.DigestReports.PropertyFiles.ReportDigests"},
                    "Path": channel,
                }
            },
        }
    bias = baselines["Bias"]
    assert bias["PreTrainingConstraints"] == source(
        "Steps.DataBias.BaselineUsedForDriftCheckConstraints"
    )
    assert bias["PostTrainingConstraints"] == source(
        "Steps.ModelBias.BaselineUsedForDriftCheckConstraints"
    )
    explainability = baselines["Explainability"]
    assert explainability["Constraints"] == source(
        "Steps.ModelExplainability.BaselineUsedForDriftCheckConstraints"
    )
    # The Clarify monitoring configs, stored under the SHA-256 of their content.
    for config_file, folder in (
        (bias["ConfigFile"], "model-bias"),
        (explainability["ConfigFile"], "explainability"),
    ):
        uri = config_file["S3Uri"]
        body = built.s3_objects[uri]
        digest = hashlib.sha256(body).hexdigest()
        monitoring = f"s3://{BUCKET}/{PREFIX}/clarify-config/{folder}/monitoring"
        assert uri == f"{monitoring}/{digest}/analysis_config.json"
        assert config_file["ContentType"] == json_type
    bias_config = built.uploaded_json(bias["ConfigFile"]["S3Uri"])
    assert bias_config["label"] == schema.LABEL
    assert bias_config["facet"][0]["name_or_index"] == schema.FACET


def test_model_package_carries_the_team_metadata(built: Built) -> None:
    """Keys are a contract with the governance evidence (model cards, audit)."""
    assert built.args("RegisterModel")["CustomerMetadataProperties"] == {
        "team:project": PROJECT,
        "team:description": pipeline_module.DESCRIPTION,
        "team:problem-type": schema.PROBLEM_TYPE,
        "team:label": schema.LABEL,
        "team:facet": schema.FACET,
        "team:model-type": "tabular",
    }
    assert built.args("RegisterModel")["ModelPackageDescription"] == pipeline_module.DESCRIPTION


def test_jobs_are_tagged_with_the_project(built: Built) -> None:
    expected = [
        {"Key": "sagemaker:project-name", "Value": PROJECT},
        {"Key": "sagemaker:project-id", "Value": PROJECT_ID},
    ]
    for step in ("Preprocess", "Train", "Predict"):
        assert built.args(step)["Tags"] == expected, step


def test_custom_tags_add_the_project_without_duplicates() -> None:
    given = [
        {"Key": "sagemaker:project-name", "Value": "from-buildspec"},
        {"Key": "a", "Value": "b"},
    ]
    tags = pipeline_module.get_pipeline_custom_tags(given, REGION, PROJECT, PROJECT_ID)
    assert tags == [*given, {"Key": "sagemaker:project-id", "Value": PROJECT_ID}]
    assert pipeline_module.get_pipeline_custom_tags([], REGION) == []


# --- console scripts --------------------------------------------------------------------------


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR: ")]


def test_get_pipeline_definition_offline_writes_the_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`get-pipeline-definition --offline` needs no AWS account, opens no socket, writes JSON."""
    connections: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        connections.append(address)
        raise OSError(f"offline test: connection to {address} refused")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setenv("AWS_PROFILE", "someones-real-profile")
    out = tmp_path / "definition.json"
    kwargs = json.dumps({"base_job_prefix": PREFIX, "sagemaker_project_name": PROJECT})
    assert get_pipeline_definition.main(["--offline", "--kwargs", kwargs, "-f", str(out)]) == 0
    assert connections == []
    assert os.environ["AWS_PROFILE"] == "someones-real-profile"  # restored afterwards
    definition = json.loads(out.read_text())
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == EXPECTED_STEPS
    preprocess = next(s for s in definition["Steps"] if s["Name"] == "Preprocess")
    assert preprocess["Arguments"]["RoleArn"] == FAKE_ROLE_ARN
    assert [p.name for p in tmp_path.iterdir()] == ["definition.json"]  # no temp file left


@pytest.mark.parametrize(
    ("argv", "field", "problem"),
    [
        (["--kwargs", "{region: us-east-1}"], "--kwargs", "is not valid JSON"),
        (["--kwargs", "[1, 2]"], "--kwargs", "must be a JSON dict, got list"),
        (["--kwargs", '{"regoin": "us-east-1"}'], "--kwargs", "unexpected keyword argument"),
        (["--module-name", "pipelines.no_such_package.pipeline"], "--module-name", "no module"),
        (["--module-name", "pipelines._utils"], "--module-name", "defines no get_pipeline()"),
        (["--tags", '{"Key": "a"}'], "--tags", "must be a JSON list, got dict"),
        (["--tags", '[{"Key": "a"}]'], "--tags", "item 0 is not an object"),
    ],
    ids=[
        "kwargs-not-json",
        "kwargs-not-object",
        "kwargs-unknown-key",
        "unknown-module",
        "module-without-get-pipeline",
        "tags-not-list",
        "tag-without-value",
    ],
)
def test_get_pipeline_definition_rejects_bad_input_with_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], field: str, problem: str
) -> None:
    out = tmp_path / "definition.json"
    assert get_pipeline_definition.main(["--offline", "-f", str(out), *argv]) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith(f"ERROR: {field}: ")
    assert problem in line
    assert not out.exists()  # nothing half-written


def test_get_pipeline_definition_rejects_a_missing_output_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "missing" / "definition.json"
    assert get_pipeline_definition.main(["--offline", "-f", str(out)]) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith("ERROR: --file-name: ")
    assert not out.parent.exists()


def test_run_pipeline_upserts_tags_and_starts_the_pipeline() -> None:
    """Against the stand-in: the pipeline exists with the project tags and an execution ran."""
    kwargs = {
        "default_bucket": BUCKET,
        "pipeline_name": PIPELINE_NAME,
        "base_job_prefix": PREFIX,
        "sagemaker_project_name": PROJECT,
        "sagemaker_project_id": PROJECT_ID,
    }
    tags = [{"Key": "cost-center", "Value": "42"}]
    with offline_aws(REGION, buckets=(BUCKET,)) as aws:
        argv = ["--kwargs", json.dumps(kwargs), "--role-arn", aws.role_arn, "--tags"]
        # moto finishes executions at once, so waiting for the end is quick here.
        assert run_pipeline.main([*argv, json.dumps(tags)]) == 0
        sm = boto3.client("sagemaker", region_name=REGION)
        described = sm.describe_pipeline(PipelineName=PIPELINE_NAME)
        assert described["RoleArn"] == aws.role_arn
        definition = json.loads(described["PipelineDefinition"])
        assert [s["Name"] for s in definition["Steps"]] == [n for n, _ in EXPECTED_STEPS]
        assert sm.list_tags(ResourceArn=described["PipelineArn"])["Tags"] == [
            *tags,
            {"Key": "sagemaker:project-name", "Value": PROJECT},
            {"Key": "sagemaker:project-id", "Value": PROJECT_ID},
        ]
        executions = sm.list_pipeline_executions(PipelineName=PIPELINE_NAME)
        assert len(executions["PipelineExecutionSummaries"]) == 1


FAILING_PIPELINE_MODULE = """
import json


class Execution:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e1"

    def describe(self):
        return {"PipelineExecutionStatus": "STATUS", "FailureReason": "Step failure: Train"}

    def list_steps(self):
        return [{"StepName": "Train", "StepStatus": "Failed", "FailureReason": "AlgorithmError"}]


class Pipeline:
    name = "p"

    def definition(self):
        return json.dumps({"Steps": [{"Name": "Train"}]})

    def upsert(self, role_arn, description, tags):
        return {"PipelineArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"}

    def start(self):
        return Execution()


def get_pipeline(region, role=None):
    return Pipeline()
"""


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_run_pipeline_fails_the_build_when_the_execution_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: str,
) -> None:
    """A failed or stopped execution is exit code 1 with the failed step named."""
    module = f"failing_pipeline_{status.lower()}"
    (tmp_path / f"{module}.py").write_text(FAILING_PIPELINE_MODULE.replace("STATUS", status))
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--module-name", module, "--role-arn", FAKE_ROLE_ARN]
    with caplog.at_level(logging.INFO, logger="run-pipeline"):
        assert run_pipeline.main(argv) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"did not succeed: {status} Step failure: Train" in m for m in errors)
    assert any("Train: Failed AlgorithmError" in message for message in errors)


class PollingExecution:
    """Reports the given statuses, one per DescribePipelineExecution call."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.calls = 0

    def describe(self) -> dict[str, str]:
        self.calls += 1
        return {"PipelineExecutionStatus": self.statuses.pop(0)}


def test_wait_for_polls_until_a_terminal_status() -> None:
    execution = PollingExecution("Executing", "Executing", "Stopped", "Succeeded")
    assert run_pipeline.wait_for(execution, delay=0, max_attempts=10) == {
        "PipelineExecutionStatus": "Stopped"
    }
    assert execution.calls == 3


def test_wait_for_gives_up_after_max_attempts() -> None:
    execution = PollingExecution("Executing", "Executing", "Executing")
    described = run_pipeline.wait_for(execution, delay=0, max_attempts=2)
    assert described == {"PipelineExecutionStatus": "Executing"}
    assert execution.calls == 2


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--kwargs", "{}"], "--role-arn"),
        (["--role-arn", FAKE_ROLE_ARN, "--kwargs", "not json"], "--kwargs"),
        (["--role-arn", FAKE_ROLE_ARN, "--module-name", "pipelines.nope"], "--module-name"),
    ],
    ids=["missing-role", "kwargs-not-json", "unknown-module"],
)
def test_run_pipeline_rejects_bad_input_before_creating_anything(
    capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    with offline_aws(REGION, buckets=(BUCKET,)):
        assert run_pipeline.main(argv) == 2
        sm = boto3.client("sagemaker", region_name=REGION)
        assert sm.list_pipelines()["PipelineSummaries"] == []
    (line,) = _error_lines(capsys)
    assert line.startswith(f"ERROR: {field}: ")


# --- buildspec --------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_buildspec_passes_valid_json_and_project_scoped_names(tmp_path: Path) -> None:
    """Run the buildspec's commands with a stand-in run-pipeline that records its arguments."""
    buildspec = yaml.safe_load((REPO_ROOT / "codebuild-buildspec.yml").read_text())
    commands = buildspec["phases"]["build"]["commands"]
    recorder = tmp_path / "run-pipeline"
    record = tmp_path / "argv.json"
    recorder.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
    )
    recorder.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "SAGEMAKER_PROJECT_NAME": "credit-risk",
        "SAGEMAKER_PROJECT_ID": "p-1a2b3c4d5e6f",
        "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::111122223333:role/pipeline",
        "ARTIFACT_BUCKET": "sagemaker-project-p-1a2b3c4d5e6f",
        "AWS_REGION": "eu-west-1",
        "MODEL_PACKAGE_GROUP_ARN": (
            "arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/"
            "111122223333-credit-risk-p-1a2b3c4d5e6f"
        ),
    }
    script = "set -euo pipefail\n" + "\n".join(commands)
    subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True)
    argv = json.loads(record.read_text())
    options = dict(zip(argv[::2], argv[1::2], strict=True))
    assert options["--module-name"] == MODULE_NAME
    assert options["--role-arn"] == env["SAGEMAKER_PIPELINE_ROLE_ARN"]
    assert _utils.parse_tags(options["--tags"]) == [
        {"Key": "sagemaker:project-name", "Value": "credit-risk"},
        {"Key": "sagemaker:project-id", "Value": "p-1a2b3c4d5e6f"},
    ]
    kwargs = _utils.parse_kwargs(options["--kwargs"])
    scoped = "credit-risk-p-1a2b3c4d5e6f"
    assert kwargs == {
        "region": "eu-west-1",
        "role": env["SAGEMAKER_PIPELINE_ROLE_ARN"],
        "default_bucket": env["ARTIFACT_BUCKET"],
        "pipeline_name": scoped,
        # The project's group in the governance account's central registry (registered pending).
        "model_package_group_name": env["MODEL_PACKAGE_GROUP_ARN"],
        "base_job_prefix": scoped,
        "sagemaker_project_name": "credit-risk",
        "sagemaker_project_id": "p-1a2b3c4d5e6f",
    }
    _utils.check_kwargs(pipeline_module, kwargs)  # every key is a get_pipeline() argument
