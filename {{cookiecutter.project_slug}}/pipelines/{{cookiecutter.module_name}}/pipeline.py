"""The model-build SageMaker Pipeline: train, check for bias and quality, register for approval.

    InputDataUrl
         |
    Preprocess ---------------------------------------------.  (ScriptProcessor, scikit-learn image)
         |  train / validation / test CSV                    |
       Train  (built-in XGBoost through ModelTrainer)        |
         |  model.tar.gz                                     |
    CreateModel  (ModelStep: the model Clarify serves)       |
         |                                                   |
     DataBias  (ClarifyCheckStep, pre-training bias) <-------'  train split
         |
      Predict  (processing: predict.py in the XGBoost image, test split)
         |  predictions.csv; baseline.csv (train split as the endpoint's capture records it)
    DataQuality  (QualityCheckStep, Model Monitor data-quality baseline of baseline.csv)
         |
    ModelQuality  (QualityCheckStep, Model Monitor statistics)
         |
     ModelBias  (ClarifyCheckStep, post-training bias, test split through the model)
         |
    ModelExplainability  (ClarifyCheckStep, Kernel SHAP, test split through the model)
         |
    DigestReports  (ProcessingStep, digest.py: sha256 of each report and of the data-quality
         |          baseline -> digests.json)
    RegisterModel  (ModelStep: always PendingManualApproval, into the governance account's
                    central-registry group, with every report above attached as ModelMetrics,
                    each with its ContentDigest, and DriftCheckBaselines,
                    ModelDataQuality with its ContentDigest too)

The data dependencies alone would let the checks run in parallel; they run in a chain (depends_on)
so that at most one Clarify shadow endpoint or analysis job runs at a time and a failed check stops
the run before the next one is paid for.

Reports attached to the model package (what the central approval reads), by step property:
    ModelQuality.Statistics    <- ModelQuality.CalculatedBaselineStatistics (statistics.json)
    ModelQuality.Constraints   <- ModelQuality.CalculatedBaselineConstraints (constraints.json)
    Bias.PreTrainingReport     <- DataBias.CalculatedBaselineConstraints (analysis.json)
    Bias.PostTrainingReport    <- ModelBias.CalculatedBaselineConstraints (analysis.json)
    Explainability.Report      <- ModelExplainability.CalculatedBaselineConstraints (analysis.json)
DriftCheckBaselines take each check's BaselineUsedForDriftCheck* properties, plus the Clarify
monitoring configurations the bias and explainability checks upload:
    ModelDataQuality.{Statistics,Constraints} <- DataQuality.BaselineUsedForDriftCheck*: the
        baseline the deploy side's Model Monitor data-quality schedule on the endpoint compares
        captured traffic against (clearance endpoint-check, endpoint.monitoring). DataQuality
        always registers the baseline it calculates (register_new_baseline=True: the endpoint
        serves this model, so its baseline is this model's training data) and skips the drift
        check against the last approved package's baseline unless SkipDataQualityCheck=false.
        Both files carry their DigestReports ContentDigest: the endpoint check builds the
        schedule from the governance copy with that sha256, never from the team's object.
ModelMetrics.ModelDataQuality.Statistics holds the verification bundle's manifest instead (below).

Every run writes under s3://<bucket>/<base_job_prefix>/<execution id>/, so a later run never
overwrites the evidence an earlier model package points at.

Implements the seed-code convention `get_pipeline(region, role, default_bucket, ...)`; the console
scripts `run-pipeline` and `get-pipeline-definition` call it with the JSON from `--kwargs`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import boto3
from sagemaker.core import image_uris
from sagemaker.core.clarify import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    SHAPConfig,
)
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.core.model_monitor import DatasetFormat
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.s3 import S3Downloader, S3Uploader
from sagemaker.core.shapes import (
    OutputDataConfig,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
    Tag,
)
from sagemaker.core.training.configs import Compute, InputData
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
from sagemaker.mlops.workflow.clarify_check_step import (
    ClarifyCheckStep,
    DataBiasCheckConfig,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

try:
    from . import schema
except ImportError:  # imported as a top-level module (e.g. from a notebook next to this file)
    import schema  # type: ignore[no-redef]

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent

# Baked from the cookiecutter answers, rendered as JSON so any legal answer stays verbatim.
_ANSWERS: dict[str, str] = json.loads(
    r"""
{
  "sagemaker_project_name": {{ cookiecutter.sagemaker_project_name | tojson }},
  "model_package_group_name": {{ cookiecutter.model_package_group_name | tojson }},
  "description": {{ cookiecutter.description | tojson }},
  "processing_instance_type": {{ cookiecutter.processing_instance_type | tojson }},
  "training_instance_type": {{ cookiecutter.training_instance_type | tojson }}
}
"""  # noqa: E501 (answers are as long as they were typed)
)
SAGEMAKER_PROJECT_NAME = _ANSWERS["sagemaker_project_name"]
MODEL_PACKAGE_GROUP_NAME = _ANSWERS["model_package_group_name"]
# Packages are registered for approval, never decided here: the central registry's group policy
# and the organization's SCP refuse any other status (there is no ModelApprovalStatus parameter).
# In the Service Catalog project, model_package_group_name is the governance group's ARN.
REGISTRATION_STATUS = "PendingManualApproval"
DESCRIPTION = _ANSWERS["description"]
PROCESSING_INSTANCE_TYPE = _ANSWERS["processing_instance_type"]
TRAINING_INSTANCE_TYPE = _ANSWERS["training_instance_type"]
PIPELINE_NAME = f"{SAGEMAKER_PROJECT_NAME}-build"
BASE_JOB_PREFIX = SAGEMAKER_PROJECT_NAME
MODEL_TYPE = "tabular"

# Stable step names: the approval, the tests and people's bookmarks in Studio refer to them.
STEP_PREPROCESS = "Preprocess"
STEP_TRAIN = "Train"
STEP_CREATE_MODEL = "CreateModel"
STEP_DATA_BIAS = "DataBias"
STEP_PREDICT = "Predict"
STEP_DATA_QUALITY = "DataQuality"
STEP_MODEL_QUALITY = "ModelQuality"
STEP_MODEL_BIAS = "ModelBias"
STEP_MODEL_EXPLAINABILITY = "ModelExplainability"
STEP_DIGEST = "DigestReports"
STEP_REGISTER = "RegisterModel"
STEP_NAMES = [
    STEP_PREPROCESS,
    STEP_TRAIN,
    STEP_CREATE_MODEL,
    STEP_DATA_BIAS,
    STEP_PREDICT,
    STEP_DATA_QUALITY,
    STEP_MODEL_QUALITY,
    STEP_MODEL_BIAS,
    STEP_MODEL_EXPLAINABILITY,
    STEP_DIGEST,
    STEP_REGISTER,
]

# Check step -> the name used in its SkipCheck / RegisterNewBaseline parameters and S3 folder.
CHECKS = {
    STEP_DATA_BIAS: "DataBias",
    STEP_MODEL_QUALITY: "ModelQuality",
    STEP_MODEL_BIAS: "ModelBias",
    STEP_MODEL_EXPLAINABILITY: "ModelExplainability",
}
# Each Clarify check gets its own S3 folder: with a shared one they overwrite one
# analysis_config.json and each other's analysis.json.
CHECK_FOLDERS = {
    STEP_DATA_QUALITY: "data-quality",
    STEP_DATA_BIAS: "data-bias",
    STEP_MODEL_QUALITY: "model-quality",
    STEP_MODEL_BIAS: "model-bias",
    STEP_MODEL_EXPLAINABILITY: "explainability",
}

# The scikit-learn processing image matching the local run's scikit-learn 1.9 (and Python >= 3.10,
# which the scripts' type hints need).
SKLEARN_FRAMEWORK_VERSION = "1.9-0"
PROCESSING_ROOT = "/opt/ml/processing"
# schema.py is shipped here and put on PYTHONPATH, so the scripts' `import schema` finds it.
SCHEMA_CONTAINER_DIR = f"{PROCESSING_ROOT}/input/schema"
# evidence.py (the verification bundle writer) is shipped to the Predict step the same way.
EVIDENCE_CODE_DIR = f"{PROCESSING_ROOT}/input/evidence_code"
# Where the registered bundle's manifest sits in ModelMetrics (clearance's EVIDENCE_SLOT).
EVIDENCE_MANIFEST = "manifest.json"
JSON = "application/json"
# Model Monitor's problem types, by this repo's problem type.
MODEL_MONITOR_PROBLEM_TYPES = {
    schema.BINARY: "BinaryClassification",
    schema.REGRESSION: "Regression",
}
SHAP_NUM_SAMPLES = 100


def get_pipeline_session(region: str, default_bucket: str | None) -> PipelineSession:
    """A PipelineSession: steps built with it record requests instead of starting jobs."""
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket=default_bucket,
    )


def project_tags(
    sagemaker_project_name: str | None, sagemaker_project_id: str | None = None
) -> list[dict[str, str]]:
    """The tags that tie jobs and the pipeline to their SageMaker project (none without one)."""
    tags = []
    if sagemaker_project_name:
        tags.append({"Key": "sagemaker:project-name", "Value": sagemaker_project_name})
    if sagemaker_project_id:
        tags.append({"Key": "sagemaker:project-id", "Value": sagemaker_project_id})
    return tags


def get_pipeline_custom_tags(
    new_tags: list[dict[str, str]],
    region: str,
    sagemaker_project_name: str | None = None,
    sagemaker_project_id: str | None = None,
) -> list[dict[str, str]]:
    """The pipeline's tags: those given plus the project tags, without duplicate keys.

    Seed-code hook called by run-pipeline. Unlike the seed code it makes no AWS call (the
    buildspec passes the project name and id) and so has no failure to swallow.
    """
    del region  # kept for the seed-code signature
    merged = {tag["Key"]: tag for tag in new_tags}
    for tag in project_tags(sagemaker_project_name, sagemaker_project_id):
        merged.setdefault(tag["Key"], tag)
    return list(merged.values())


def _s3_join(*parts: Any) -> Join:
    return Join(on="/", values=list(parts))


def _processing_output(name: str, run_prefix: list[Any], folder: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=_s3_join(*run_prefix, folder),
            local_path=f"{PROCESSING_ROOT}/{name}",
            s3_upload_mode="EndOfJob",
        ),
    )


def _processing_input(name: str, source: Any, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _stable_copy(session: PipelineSession, uri: str, folder: str) -> str:
    """A content-addressed copy of an uploaded file, for a reproducible definition.

    ClarifyCheckStep uploads each check's monitoring config under a timestamped name and a
    uuid4, so every render of the definition would differ there; the copy's key is the
    content's SHA-256, so an unchanged configuration gives an unchanged definition.
    """
    body = S3Downloader.read_file(uri, sagemaker_session=session)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    target = f"{folder}/{digest}/analysis_config.json"
    return S3Uploader.upload_string_as_file_body(body, target, sagemaker_session=session)


def _schema_input() -> ProcessingInput:
    # A local path: the SDK uploads it to s3://<bucket>/<pipeline>/<step>/input/schema.
    return _processing_input("schema", str(BASE_DIR / "schema.py"), SCHEMA_CONTAINER_DIR)


def _evidence_code_input() -> ProcessingInput:
    return _processing_input("evidence_code", str(BASE_DIR / "evidence.py"), EVIDENCE_CODE_DIR)


def get_pipeline(
    region: str,
    role: str | None = None,
    default_bucket: str | None = None,
    pipeline_name: str = PIPELINE_NAME,
    model_package_group_name: str = MODEL_PACKAGE_GROUP_NAME,
    base_job_prefix: str = BASE_JOB_PREFIX,
    sagemaker_project_name: str | None = None,
    sagemaker_project_id: str | None = None,
    processing_instance_type: str = PROCESSING_INSTANCE_TYPE,
    training_instance_type: str = TRAINING_INSTANCE_TYPE,
) -> Pipeline:
    """Build the model-build pipeline (see the module docstring for the DAG).

    Args:
        region: AWS region the pipeline runs in.
        role: IAM role ARN the jobs run as (default: the caller's SageMaker execution role).
        default_bucket: S3 bucket for code, data splits, models and reports (default: the
            session's `sagemaker-<region>-<account>` bucket).
        pipeline_name: name of the SageMaker Pipeline.
        model_package_group_name: Model Registry group the model is registered in: a name, or
            the ARN of the project's group in the governance account's central registry.
        base_job_prefix: prefix of job names and of the S3 folder this pipeline writes to.
        sagemaker_project_name: SageMaker project this pipeline belongs to (tags and metadata).
        sagemaker_project_id: SageMaker project id (tags).
        processing_instance_type: default of the ProcessingInstanceType parameter, and the
            instance type of the Clarify shadow endpoint (fixed when the definition is built).
        training_instance_type: default of the TrainingInstanceType parameter.

    Returns:
        The Pipeline, ready for `definition()`, `upsert()` and `start()`.
    """
    session = get_pipeline_session(region, default_bucket)
    bucket = session.default_bucket()
    logger.info(
        "building pipeline %s (%s) in %s, artifacts under s3://%s/%s/",
        pipeline_name,
        schema.PROBLEM_TYPE,
        region,
        bucket,
        base_job_prefix,
    )
    if role is None:
        from sagemaker.core.helper.session_helper import get_execution_role

        role = get_execution_role(session)
    tags = project_tags(sagemaker_project_name, sagemaker_project_id) or None

    # Run-time knobs, all in one place.
    processing_instance_type_param = ParameterString(
        name="ProcessingInstanceType", default_value=processing_instance_type
    )
    training_instance_type_param = ParameterString(
        name="TrainingInstanceType", default_value=training_instance_type
    )
    input_data = ParameterString(
        name="InputDataUrl", default_value=f"s3://{bucket}/{base_job_prefix}/input/data.csv"
    )
    skip_check = {
        step: ParameterBoolean(name=f"Skip{check}Check", default_value=False)
        for step, check in CHECKS.items()
    }
    register_new_baseline = {
        step: ParameterBoolean(name=f"RegisterNew{check}Baseline", default_value=False)
        for step, check in CHECKS.items()
    }
    # The data-quality baseline is the endpoint monitor's reference, not a gate: skipped drift check
    # by default (the built-in template's first-run setting), and no RegisterNew parameter.
    skip_data_quality_check = ParameterBoolean(name="SkipDataQualityCheck", default_value=True)
    parameters = [
        processing_instance_type_param,
        training_instance_type_param,
        input_data,
        *skip_check.values(),
        *register_new_baseline.values(),
        skip_data_quality_check,
    ]

    base_uri = f"s3://{bucket}/{base_job_prefix}"
    run_prefix = [base_uri, ExecutionVariables.PIPELINE_EXECUTION_ID]
    sklearn_image = image_uris.retrieve(
        framework="sklearn",
        region=region,
        version=SKLEARN_FRAMEWORK_VERSION,
        py_version="py3",
        instance_type=processing_instance_type,
    )
    xgboost_image = image_uris.retrieve(
        framework="xgboost", region=region, version=schema.XGBOOST_FRAMEWORK_VERSION
    )
    script_env = {"PYTHONPATH": f"{SCHEMA_CONTAINER_DIR}:{EVIDENCE_CODE_DIR}"}

    def script_processor(image_uri: str, job: str) -> ScriptProcessor:
        """A one-instance processor for one of this package's scripts, schema.py beside it."""
        return ScriptProcessor(
            image_uri=image_uri,
            command=["python3"],
            instance_type=processing_instance_type_param,
            instance_count=1,
            base_job_name=f"{base_job_prefix}/{job}",
            sagemaker_session=session,
            role=role,
            env=script_env,
            tags=tags,
        )

    # Preprocess: validate, encode the facet, split.
    preprocessor = script_processor(sklearn_image, "preprocess")
    step_preprocess = ProcessingStep(
        name=STEP_PREPROCESS,
        step_args=preprocessor.run(
            code=str(BASE_DIR / "preprocess.py"),
            inputs=[_schema_input()],
            outputs=[
                _processing_output(split, run_prefix, f"data/{split}")
                for split in ("train", "validation", "test")
            ],
            arguments=["--input-data", input_data, "--output-dir", PROCESSING_ROOT],
        ),
    )
    outputs = step_preprocess.properties.ProcessingOutputConfig.Outputs
    train_uri = outputs["train"].S3Output.S3Uri
    validation_uri = outputs["validation"].S3Output.S3Uri
    test_uri = outputs["test"].S3Output.S3Uri

    # Train: the built-in XGBoost algorithm, with the hyperparameters the local run uses too.
    trainer = ModelTrainer(
        training_image=xgboost_image,
        compute=Compute(instance_type=training_instance_type_param, instance_count=1),
        base_job_name=f"{base_job_prefix}/train",
        sagemaker_session=session,
        role=role,
        hyperparameters=dict(schema.HYPERPARAMETERS),
        input_data_config=[
            InputData(channel_name="train", data_source=train_uri, content_type="text/csv"),
            InputData(
                channel_name="validation", data_source=validation_uri, content_type="text/csv"
            ),
        ],
        output_data_config=OutputDataConfig(s3_output_path=f"{base_uri}/models"),
        # ModelTrainer wants pydantic `Tag(key, value)`; processors take {"Key", "Value"} dicts.
        tags=[Tag(key=tag["Key"], value=tag["Value"]) for tag in tags or []] or None,
    )
    step_train = TrainingStep(name=STEP_TRAIN, step_args=trainer.train())
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # CreateModel: the SageMaker Model the Clarify checks serve on a shadow endpoint.
    step_create_model = ModelStep(
        name=STEP_CREATE_MODEL,
        step_args=ModelBuilder(
            s3_model_data_url=model_data,
            image_uri=xgboost_image,
            sagemaker_session=session,
            role_arn=role,
        ).build(),
    )

    check_job_config = CheckJobConfig(
        role=role,
        instance_count=1,
        instance_type=processing_instance_type_param,
        base_job_name=f"{base_job_prefix}/check",
        sagemaker_session=session,
        tags=tags,
    )

    def clarify_data_config(step_name: str, dataset: Any) -> DataConfig:
        folder = CHECK_FOLDERS[step_name]
        return DataConfig(
            s3_data_input_path=dataset,
            # Per-run report folder; a static config folder makes a pipeline variable legal here.
            s3_output_path=_s3_join(*run_prefix, "clarify", folder),
            s3_analysis_config_output_path=f"{base_uri}/clarify-config/{folder}",
            label=schema.LABEL,
            headers=list(schema.HEADERS),
            dataset_type="text/csv",
        )

    def check_args(step_name: str) -> dict[str, Any]:
        return {
            "check_job_config": check_job_config,
            "skip_check": skip_check[step_name],
            "register_new_baseline": register_new_baseline[step_name],
            "model_package_group_name": model_package_group_name,
        }

    bias_config = BiasConfig(
        label_values_or_threshold=list(schema.LABEL_VALUES_OR_THRESHOLD),
        facet_name=schema.FACET,
        facet_values_or_threshold=list(schema.FACET_VALUES_OR_THRESHOLD),
    )
    # Analysis configs are uploaded while the definition is built, so the shadow endpoint's
    # instance type is a plain string, not the ProcessingInstanceType parameter.
    model_config = ModelConfig(
        model_name=step_create_model.properties.ModelName,
        instance_count=1,
        instance_type=processing_instance_type,
        content_type="text/csv",
        accept_type="text/csv",
    )

    # DataBias: pre-training bias of the labels in the training split.
    data_bias_config = DataBiasCheckConfig(
        data_config=clarify_data_config(STEP_DATA_BIAS, train_uri),
        data_bias_config=bias_config,
    )
    step_data_bias = ClarifyCheckStep(
        name=STEP_DATA_BIAS,
        clarify_check_config=data_bias_config,
        depends_on=[step_create_model],
        **check_args(STEP_DATA_BIAS),
    )

    # Predict: score the test split for the quality check, and write the verification bundle
    # (the split, the Clarify configurations, a manifest pinning them and the model by sha256).
    predictor = script_processor(xgboost_image, "predict")
    step_predict = ProcessingStep(
        name=STEP_PREDICT,
        step_args=predictor.run(
            code=str(BASE_DIR / "predict.py"),
            inputs=[
                _schema_input(),
                _evidence_code_input(),
                _processing_input("model", model_data, f"{PROCESSING_ROOT}/model"),
                _processing_input("test", test_uri, f"{PROCESSING_ROOT}/test"),
                _processing_input("train", train_uri, f"{PROCESSING_ROOT}/train"),
            ],
            outputs=[
                _processing_output("predictions", run_prefix, "predictions"),
                _processing_output("evidence", run_prefix, "evidence"),
                _processing_output("baseline", run_prefix, "data/baseline"),
            ],
            arguments=[
                "--model",
                f"{PROCESSING_ROOT}/model",
                "--test-data",
                f"{PROCESSING_ROOT}/test",
                "--output-dir",
                PROCESSING_ROOT,
                "--train-data",
                f"{PROCESSING_ROOT}/train",
                "--evidence-dir",
                f"{PROCESSING_ROOT}/evidence",
                "--baseline-dir",
                f"{PROCESSING_ROOT}/baseline",
            ],
        ),
        depends_on=[step_data_bias],
    )
    predict_outputs = step_predict.properties.ProcessingOutputConfig.Outputs
    evidence_uri = predict_outputs["evidence"].S3Output.S3Uri
    predictions_uri = predict_outputs["predictions"].S3Output.S3Uri
    baseline_uri = predict_outputs["baseline"].S3Output.S3Uri

    # DataQuality: Model Monitor's statistics and suggested constraints of the train split as the
    # endpoint's data capture records it (predict.py --baseline-dir: response first, then the
    # features, no header: columns _c0.. as Model Monitor names captured CSV).
    step_data_quality = QualityCheckStep(
        name=STEP_DATA_QUALITY,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=baseline_uri,
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=_s3_join(*run_prefix, CHECK_FOLDERS[STEP_DATA_QUALITY]),
        ),
        check_job_config=check_job_config,
        skip_check=skip_data_quality_check,
        register_new_baseline=True,
        model_package_group_name=model_package_group_name,
    )

    # ModelQuality: Model Monitor's statistics of predictions against labels.
    binary = schema.PROBLEM_TYPE == schema.BINARY
    quality_config = ModelQualityCheckConfig(
        baseline_dataset=predictions_uri,
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=_s3_join(*run_prefix, CHECK_FOLDERS[STEP_MODEL_QUALITY]),
        problem_type=MODEL_MONITOR_PROBLEM_TYPES[schema.PROBLEM_TYPE],
        inference_attribute="prediction",
        ground_truth_attribute="label",
        # Regression has no probability column.
        probability_attribute="probability" if binary else None,
        probability_threshold_attribute=str(schema.PROBABILITY_THRESHOLD) if binary else None,
    )
    step_model_quality = QualityCheckStep(
        name=STEP_MODEL_QUALITY,
        quality_check_config=quality_config,
        depends_on=[step_data_quality],
        **check_args(STEP_MODEL_QUALITY),
    )

    # ModelBias: post-training bias of the model's predictions on the test split.
    model_bias_config = ModelBiasCheckConfig(
        data_config=clarify_data_config(STEP_MODEL_BIAS, test_uri),
        data_bias_config=bias_config,
        model_config=model_config,
        # binary:logistic returns P(label == 1); regression returns the value Clarify thresholds.
        model_predicted_label_config=ModelPredictedLabelConfig(
            probability_threshold=schema.PROBABILITY_THRESHOLD if binary else None
        ),
    )
    step_model_bias = ClarifyCheckStep(
        name=STEP_MODEL_BIAS,
        clarify_check_config=model_bias_config,
        depends_on=[step_model_quality],
        **check_args(STEP_MODEL_BIAS),
    )

    # ModelExplainability: global Kernel SHAP values of the features on the test split.
    explainability_config = ModelExplainabilityCheckConfig(
        data_config=clarify_data_config(STEP_MODEL_EXPLAINABILITY, test_uri),
        model_config=model_config,
        explainability_config=SHAPConfig(
            num_samples=SHAP_NUM_SAMPLES,
            agg_method="mean_abs",
            save_local_shap_values=False,
            seed=0,
        ),
    )
    step_model_explainability = ClarifyCheckStep(
        name=STEP_MODEL_EXPLAINABILITY,
        clarify_check_config=explainability_config,
        depends_on=[step_model_bias],
        **check_args(STEP_MODEL_EXPLAINABILITY),
    )

    # DigestReports: the sha256 of each report RegisterModel attaches (its ContentDigest), so the
    # governance approval can pin, and find its own copy of, exactly these bytes.
    reports = {
        "model_statistics": step_model_quality.properties.CalculatedBaselineStatistics,
        "model_constraints": step_model_quality.properties.CalculatedBaselineConstraints,
        "bias_pre_training": step_data_bias.properties.CalculatedBaselineConstraints,
        "bias_post_training": step_model_bias.properties.CalculatedBaselineConstraints,
        "explainability": step_model_explainability.properties.CalculatedBaselineConstraints,
    }
    # The verification bundle's manifest is digested too: the approval reads the governance copy
    # of it whose sha256 is this ContentDigest (without one, Verify fails closed on AWS).
    manifest_uri = _s3_join(evidence_uri, EVIDENCE_MANIFEST)
    # And the data-quality baseline the endpoint's Model Monitor schedule compares traffic against
    # (each property is the one statistics.json / constraints.json file the baselining job wrote):
    # the deploy side builds the schedule from the governance copy with this sha256, so a team
    # cannot loosen constraints.json after the approval (clearance docs/deploy.md).
    baseline = {
        "data_quality_statistics": step_data_quality.properties.BaselineUsedForDriftCheckStatistics,
        "data_quality_constraints": (
            step_data_quality.properties.BaselineUsedForDriftCheckConstraints
        ),
    }
    digested = {**reports, "evidence_manifest": manifest_uri, **baseline}
    digests_file = PropertyFile(name="ReportDigests", output_name="digests", path="digests.json")
    step_digest = ProcessingStep(
        name=STEP_DIGEST,
        step_args=script_processor(sklearn_image, "digest").run(
            code=str(BASE_DIR / "digest.py"),
            inputs=[
                _processing_input(name, uri, f"{PROCESSING_ROOT}/reports/{name}")
                for name, uri in digested.items()
            ],
            outputs=[_processing_output("digests", run_prefix, "digests")],
        ),
        property_files=[digests_file],
        # After every check (DataQuality included, through the chain): the last one it digests.
        depends_on=[step_model_explainability],
    )

    def report(name: str) -> MetricsSource:
        digest = JsonGet(step_name=STEP_DIGEST, property_file=digests_file, json_path=name)
        return MetricsSource(s3_uri=digested[name], content_type=JSON, content_digest=digest)

    # RegisterModel: every report attached with its digest, waiting for the central approval.
    model_metrics = ModelMetrics(
        # The verification bundle's manifest: the governance account recomputes the reports
        # below from it with the registered model (clearance docs/verification.md). The manifest
        # pins every file and the model by sha256; its own digest pins the manifest.
        model_data_statistics=report("evidence_manifest"),
        model_statistics=report("model_statistics"),
        model_constraints=report("model_constraints"),
        bias_pre_training=report("bias_pre_training"),
        bias_post_training=report("bias_post_training"),
        explainability=report("explainability"),
    )
    drift_check_baselines = DriftCheckBaselines(
        # What the endpoint's data-quality monitoring schedule compares captured traffic against.
        # Pinned by ContentDigest like the reports: the endpoint check reads the governance copy.
        model_data_statistics=report("data_quality_statistics"),
        model_data_constraints=report("data_quality_constraints"),
        model_statistics=MetricsSource(
            s3_uri=step_model_quality.properties.BaselineUsedForDriftCheckStatistics,
            content_type=JSON,
        ),
        model_constraints=MetricsSource(
            s3_uri=step_model_quality.properties.BaselineUsedForDriftCheckConstraints,
            content_type=JSON,
        ),
        bias_pre_training_constraints=MetricsSource(
            s3_uri=step_data_bias.properties.BaselineUsedForDriftCheckConstraints,
            content_type=JSON,
        ),
        bias_post_training_constraints=MetricsSource(
            s3_uri=step_model_bias.properties.BaselineUsedForDriftCheckConstraints,
            content_type=JSON,
        ),
        bias_config_file=FileSource(
            s3_uri=_stable_copy(
                session,
                model_bias_config.monitoring_analysis_config_uri,
                f"{base_uri}/clarify-config/{CHECK_FOLDERS[STEP_MODEL_BIAS]}/monitoring",
            ),
            content_type=JSON,
        ),
        explainability_constraints=MetricsSource(
            s3_uri=step_model_explainability.properties.BaselineUsedForDriftCheckConstraints,
            content_type=JSON,
        ),
        explainability_config_file=FileSource(
            s3_uri=_stable_copy(
                session,
                explainability_config.monitoring_analysis_config_uri,
                f"{base_uri}/clarify-config/{CHECK_FOLDERS[STEP_MODEL_EXPLAINABILITY]}/monitoring",
            ),
            content_type=JSON,
        ),
    )
    step_register = ModelStep(
        name=STEP_REGISTER,
        step_args=ModelBuilder(
            s3_model_data_url=model_data,
            image_uri=xgboost_image,
            sagemaker_session=session,
            role_arn=role,
        ).register(
            model_package_group_name=model_package_group_name,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=[processing_instance_type],
            transform_instances=[processing_instance_type],
            approval_status=REGISTRATION_STATUS,
            description=DESCRIPTION,
            model_metrics=model_metrics,
            drift_check_baselines=drift_check_baselines,
            customer_metadata_properties=customer_metadata(sagemaker_project_name),
        ),
        depends_on=[step_digest],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=parameters,
        steps=[
            step_preprocess,
            step_train,
            step_create_model,
            step_data_bias,
            step_predict,
            step_data_quality,
            step_model_quality,
            step_model_bias,
            step_model_explainability,
            step_digest,
            step_register,
        ],
        sagemaker_session=session,
    )


def metadata_value(text: str) -> str:
    """Fit free text to CustomerMetadataProperties: values are 1-256 characters of
    [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@] (no comma, quote or '!'; CreateModelPackage refuses them), so
    any other character becomes a space (the same rule as clearance.contract.metadata.team_value).
    """
    cleaned = re.sub(r"[^\w .:/=+\-@]", " ", text)
    return " ".join(cleaned.split())[:256] or "-"


def customer_metadata(sagemaker_project_name: str | None) -> dict[str, str]:
    """The model package's CustomerMetadataProperties (keys are a contract with the governance)."""
    return {
        "team:project": sagemaker_project_name or SAGEMAKER_PROJECT_NAME,
        "team:description": metadata_value(DESCRIPTION),
        "team:problem-type": schema.PROBLEM_TYPE,
        "team:label": schema.LABEL,
        "team:facet": schema.FACET,
        "team:model-type": MODEL_TYPE,
    }
