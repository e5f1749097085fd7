"""The LLM pipeline definition, built offline: EvaluateLLM -> RegisterModel with the evaluation
report attached as ModelMetrics.ModelQuality.Statistics and PendingManualApproval by default."""

from __future__ import annotations

import importlib
import io
import json
import tarfile
from typing import Any

import boto3
import pytest

from pipelines import _utils
from pipelines.offline import FAKE_ROLE_ARN, offline_aws

pipeline_module = importlib.import_module(_utils.DEFAULT_MODULE)

REGION = "us-east-1"
BUCKET = "clearance-test-artifacts"
PREFIX = "team-llm"
GROUP = "team-llm-models"


def get(path: str) -> dict[str, str]:
    return {"Get": path}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """Build the pipeline twice offline; keep both definitions and every uploaded object."""
    kwargs = {
        "region": REGION,
        "role": FAKE_ROLE_ARN,
        "default_bucket": BUCKET,
        "pipeline_name": "team-llm-build",
        "model_package_group_name": GROUP,
        "base_job_prefix": PREFIX,
        "sagemaker_project_name": "team-llm",
        "sagemaker_project_id": "p-abc123",
    }
    with offline_aws(REGION, buckets=(BUCKET,)):
        _utils.memoize_sdk_config_validation()
        first = json.loads(pipeline_module.get_pipeline(**kwargs).definition())
        second = json.loads(pipeline_module.get_pipeline(**kwargs).definition())
        s3 = boto3.client("s3", region_name=REGION)
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
                objects[f"s3://{BUCKET}/{item['Key']}"] = body
    return {
        "definition": first,
        "second": second,
        "steps": {s["Name"]: s for s in first["Steps"]},
        "objects": objects,
    }


def test_steps_are_evaluate_then_register(built: dict[str, Any]) -> None:
    """Two steps with stable names; registration waits for the evaluation."""
    steps = [(s["Name"], s["Type"]) for s in built["definition"]["Steps"]]
    assert steps == [
        ("EvaluateLLM", "Processing"),
        ("DigestReports", "Processing"),
        ("RegisterModel", "RegisterModel"),
    ]
    assert pipeline_module.STEP_NAMES == ["EvaluateLLM", "DigestReports", "RegisterModel"]
    assert built["steps"]["DigestReports"]["DependsOn"] == ["EvaluateLLM"]
    assert built["steps"]["RegisterModel"]["DependsOn"] == ["DigestReports"]


def test_definition_is_reproducible(built: dict[str, Any]) -> None:
    """The code bundle is named after its content, so two renders give the same definition."""
    assert built["second"] == built["definition"]


def test_registration_is_always_pending_manual_approval(built: dict[str, Any]) -> None:
    parameters = {p["Name"]: p for p in built["definition"]["Parameters"]}
    assert "ModelApprovalStatus" not in parameters
    register = built["steps"]["RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == GROUP


def test_evaluation_report_is_the_model_quality_statistics(built: dict[str, Any]) -> None:
    """ModelMetrics.ModelQuality.Statistics = EvaluateLLM's output folder + evaluation.json."""
    metrics = built["steps"]["RegisterModel"]["Arguments"]["ModelMetrics"]
    statistics = metrics["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                get(
                    "Steps.EvaluateLLM.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
                ),
                "evaluation.json",
            ],
        }
    }
    # Its ContentDigest is the sha256 DigestReports computed of that very object.
    inputs = built["steps"]["DigestReports"]["Arguments"]["ProcessingInputs"]
    [channel] = [i for i in inputs if i["InputName"] != "code"]  # the script itself is "code"
    assert channel["InputName"] == "model_statistics"
    assert channel["S3Input"]["S3Uri"] == statistics["S3Uri"]
    assert statistics["ContentDigest"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.DigestReports.PropertyFiles.ReportDigests"},
            "Path": "model_statistics",
        }
    }
    # No other report is attached: the LLM evaluation is the whole evidence.
    assert not any(metrics.get(k) for k in ("Bias", "Explainability"))


def test_evaluation_step_evaluates_the_candidate_artifact(built: dict[str, Any]) -> None:
    """The model artifact is mounted where --model points by default; outputs go per execution."""
    args = built["steps"]["EvaluateLLM"]["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == get("Parameters.ModelDataUrl")
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/input/model"
    container = args["AppSpecification"]["ContainerArguments"]
    assert container[container.index("--model") + 1] == get("Parameters.EvaluationModel")
    parameters = {p["Name"]: p for p in built["definition"]["Parameters"]}
    assert parameters["EvaluationModel"]["DefaultValue"] == "/opt/ml/processing/input/model"
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == container[container.index("--output-dir") + 1]
    assert get("Execution.PipelineExecutionId") in output["S3Output"]["S3Uri"]["Std:Join"]["Values"]


def test_every_dataset_is_a_pipeline_parameter(built: dict[str, Any]) -> None:
    """Production points each dataset at the governance team's copy without code changes."""
    container = built["steps"]["EvaluateLLM"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    for name, (option, default) in pipeline_module.DATASET_PARAMETERS.items():
        assert container[container.index(option) + 1] == get(f"Parameters.{name}")
        parameters = {p["Name"]: p for p in built["definition"]["Parameters"]}
        assert parameters[name]["DefaultValue"] == default


def test_code_bundle_holds_the_entry_script_beside_the_llm_package(built: dict[str, Any]) -> None:
    """FrameworkProcessor runs `python evaluate_llm.py` in the bundle root, which imports llm."""
    (bundle,) = [body for uri, body in built["objects"].items() if uri.endswith("sourcedir.tar.gz")]
    with tarfile.open(fileobj=io.BytesIO(bundle)) as archive:
        names = set(archive.getnames())
    assert "evaluate_llm.py" in names
    assert {"llm/runner.py", "llm/requirements.txt", "llm/data/bold_prompts.jsonl"} <= names
    assert not any("__pycache__" in n for n in names)


def test_metadata_marks_an_llm_package() -> None:
    """team:* keys are the same for both variants; an LLM has no label or facet."""
    metadata = pipeline_module.customer_metadata("team-llm")
    assert metadata["team:model-type"] == "llm"
    assert metadata["team:label"] == "n/a"
    assert set(metadata) == {
        "team:project",
        "team:description",
        "team:problem-type",
        "team:label",
        "team:facet",
        "team:model-type",
    }
