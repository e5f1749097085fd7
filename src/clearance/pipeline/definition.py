"""The governance account's approval pipeline, defined with the SageMaker Python SDK v3.

    ModelPackageArn ─┐   (parameters, set by the start-approval Lambda from the EventBridge event)
    PolicyS3Uri ─────┤
                     ▼
    ┌──────────────────────────────┐  checks.json   ┌──────────────────────────────────────┐
    │ Evaluate (ProcessingStep)    │ ─────────────▶ │ Update (ProcessingStep)              │
    │ python -m clearance.pipeline.│  (output ->    │ python -m clearance.pipeline.steps.  │
    │   steps.evaluate             │                │   update                             │
    │   evaluate: describe package,│   input, wired │   one update_model_package call:     │
    │   fetch reports, apply policy│   through the  │   Approved/Rejected + reasons,       │
    │   -> checks.json             │   property)    │   then the evidence hook             │
    └──────────────────────────────┘                └──────────────────────────────────────┘

Both steps run the ``clearance`` package itself (boto3, PyYAML, Jinja2 for the evidence page; no
SageMaker SDK at run time) on a small scikit-learn processing image. The package is shipped as ONE
zip object (``build_code_bundle``) that SageMaker downloads as the ``code`` input, and the steps put
it on ``PYTHONPATH``: Python imports pure-Python packages straight from a zip, so there is no pip
install at job start (no network needed inside the job) and the code that decides is byte-for-byte
the code that was reviewed and packaged. The pure-Python parts of PyYAML, Jinja2 and MarkupSafe
travel in the same zip because the processing image does not promise them.

The SDK is imported lazily: Lambda and the processing jobs import ``clearance`` without it.

Offline rendering (``get_definition`` / ``render_definition``) runs the SDK against an in-process
moto S3/STS stand-in, so no AWS account or network is needed. Values are used verbatim, so
CloudFormation placeholders such as ``${GovernanceBucket}`` pass through to a ``Fn::Sub``
(tools/package.py does this); the role must still look like an ARN (contain "/"), else the SDK
calls iam:GetRole, and the region must be a real region name (botocore validates it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from clearance.pipeline import wheels

LOGGER = logging.getLogger(__name__)

EVALUATE_STEP = "Evaluate"
VERIFY_STEP = "Verify"
UPDATE_STEP = "Update"
STEP_NAMES = (EVALUATE_STEP, VERIFY_STEP, UPDATE_STEP)
PARAM_MODEL_PACKAGE_ARN = "ModelPackageArn"
PARAM_POLICY_S3_URI = "PolicyS3Uri"

DEFAULT_PIPELINE_NAME = "clearance-approval"
# Two tiny boto3 scripts: the smallest processing instance is plenty (seconds of CPU, a few MB).
DEFAULT_INSTANCE_TYPE = "ml.t3.medium"
# The clearance package needs Python >= 3.11 (datetime.UTC, PEP 604 isinstance checks). The
# scikit-learn image 1.2-1 runs Python 3.9 and 1.4-2 Python 3.10; 1.9-0 (AL2023) runs Python 3.12.
SKLEARN_FRAMEWORK_VERSION = "1.9-0"
# How long a step keeps retrying a quota/capacity error before the execution fails (4 hours).
RETRY_EXPIRE_AFTER_MINUTES = 240

# Paths inside the processing container (SageMaker requires them under /opt/ml/processing/).
CONTAINER_ROOT = PurePosixPath("/opt/ml/processing")
CODE_DIR = CONTAINER_ROOT / "input" / "code"
CODE_BUNDLE_NAME = "clearance.zip"
POLICY_DIR = CONTAINER_ROOT / "policy"
CHECKS_DIR = CONTAINER_ROOT / "checks"
CHECKS_FILE = "checks.json"
EVIDENCE_DIR = CONTAINER_ROOT / "evidence"
VERIFIED_DIR = CONTAINER_ROOT / "verified"
WHEELS_DIR = CONTAINER_ROOT / "input" / "wheels"
# Verify needs numpy, pandas, scipy, scikit-learn (the image has them) and XGBoost to run the
# registered model: when the image lacks it, the step installs the pinned, sha256-checked
# xgboost-cpu wheel from its `wheels` input (pip --no-index --require-hashes: no network inside the
# job). The wheel sits beside the code bundle (clearance.pipeline.wheels). docs/verification.md.
VERIFY_INSTANCE_TYPE = "ml.m5.large"
XGBOOST_WHEEL = wheels.XGBOOST_WHEEL

CHECKS_OUTPUT = "checks"
VERIFIED_OUTPUT = "verified"
EVIDENCE_OUTPUT = "evidence"


def get_approval_pipeline(
    region: str,
    role: str,
    default_bucket: str,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    code_s3_uri: str | None = None,
    allowed_buckets: Sequence[str] | None = None,
    policy_s3_uri: str | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    image_uri: str | None = None,
    sagemaker_session: Any = None,
    evidence_bucket: str | None = None,
    wheel_s3_uri: str | None = None,
) -> Any:
    """Return the approval ``sagemaker.mlops.workflow.pipeline.Pipeline`` (not yet upserted).

    Args:
        region: the governance account's region; used for the image URI and the session only.
        role: execution role ARN of the processing jobs.
        default_bucket: the governance bucket (code bundle, default policy, step outputs).
        pipeline_name: also the S3 prefix of the step outputs.
        code_s3_uri: S3 URI of the zip from ``build_code_bundle``
            (default ``s3://<default_bucket>/<pipeline_name>/code/clearance.zip``).
        allowed_buckets: buckets the Evaluate step may read reports from (default: default_bucket).
        policy_s3_uri: default of the ``PolicyS3Uri`` parameter
            (default ``s3://<default_bucket>/<pipeline_name>/policy/policy.yaml``).
        instance_type: processing instance type of both steps.
        image_uri: processing image (default: the SageMaker scikit-learn image of ``region``).
        sagemaker_session: a ``PipelineSession``; one is created when omitted.
        evidence_bucket: the governance bucket copy-artifacts fills; when set, the Evaluate and
            Verify steps read the governance copies (reports pinned by ContentDigest, the bundle's
            files and the model by the manifest's sha256), never the team's objects.
        wheel_s3_uri: the pinned xgboost-cpu wheel the Verify step installs when its image lacks
            XGBoost (default: beside the code bundle, ``<code prefix>/wheels/<wheel>``).
    """
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.mlops.workflow.steps import ProcessingStep

    if sagemaker_session is None:
        import boto3

        sagemaker_session = PipelineSession(
            boto_session=boto3.Session(region_name=region), default_bucket=default_bucket
        )
    if image_uri is None:
        from sagemaker.core import image_uris

        image_uri = image_uris.retrieve(
            "sklearn", region=region, version=SKLEARN_FRAMEWORK_VERSION, instance_type=instance_type
        )
    code_s3_uri = code_s3_uri or f"s3://{default_bucket}/{pipeline_name}/code/{CODE_BUNDLE_NAME}"
    policy_s3_uri = policy_s3_uri or f"s3://{default_bucket}/{pipeline_name}/policy/policy.yaml"
    # Code the job runs sits with the code bundle (written only by the registry admins, read-only to
    # this role), never under the pipeline's output prefix, which the role itself writes.
    wheel_s3_uri = wheel_s3_uri or wheels.wheel_key(code_s3_uri)
    buckets = list(allowed_buckets or [default_bucket])
    if "/" not in role:
        # The SDK resolves anything without a "/" through iam:GetRole, i.e. a network call.
        raise ValueError(
            f"role: {role!r} is not an IAM role ARN. Pass the full ARN "
            "(arn:aws:iam::<account>:role/<name>), or a placeholder shaped like one."
        )
    if not wheel_s3_uri.endswith(f"/{XGBOOST_WHEEL}"):
        # Exactly one object: SageMaker names the downloaded file after the key's last segment.
        raise ValueError(
            f"wheel_s3_uri: must end with /{XGBOOST_WHEEL} (got {wheel_s3_uri!r}). "
            "Upload the pinned wheel under its own name (clearance.pipeline.wheels)."
        )
    if not code_s3_uri.endswith(f"/{CODE_BUNDLE_NAME}"):
        # SageMaker names the downloaded file after the key's last segment; PYTHONPATH names it too.
        raise ValueError(
            f"code_s3_uri: must end with /{CODE_BUNDLE_NAME} (got {code_s3_uri!r}). "
            "Upload the zip from build_code_bundle() under that name."
        )

    model_package_arn = ParameterString(name=PARAM_MODEL_PACKAGE_ARN)
    policy_uri = ParameterString(name=PARAM_POLICY_S3_URI, default_value=policy_s3_uri)

    env = {
        "PYTHONPATH": str(CODE_DIR / CODE_BUNDLE_NAME),
        "PYTHONUNBUFFERED": "1",
    }

    def processor(module: str, step: str, kind: str | None = None) -> Any:
        return Processor(
            role=role,
            image_uri=image_uri,
            instance_count=1,
            instance_type=kind or instance_type,
            entrypoint=["python3", "-m", module],
            volume_size_in_gb=5,
            max_runtime_in_seconds=900,
            base_job_name=f"{pipeline_name}-{step.lower()}",
            sagemaker_session=sagemaker_session,
            env=env,
        )

    def s3_input(name: str, uri: Any, local: PurePosixPath) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri,
                local_path=str(local),
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )

    def s3_output(name: str, local: PurePosixPath) -> Any:
        # One prefix per execution, so concurrent approvals never overwrite each other's checks.
        destination = Join(
            on="/",
            values=[
                f"s3://{default_bucket}/{pipeline_name}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                name,
            ],
        )
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=destination, local_path=str(local), s3_upload_mode="EndOfJob"
            ),
        )

    code_input = s3_input("code", code_s3_uri, CODE_DIR)

    # A burst of registrations starts many executions at once: past the account's processing-job
    # quota, CreateProcessingJob fails with a resource-limit error, and without a retry policy the
    # package would stay pending forever. Both steps are safe to repeat (Evaluate only reads;
    # Update changes a package only while it is pending). A policy or checks error is an
    # AlgorithmError, never retried: it needs a person.
    retries = [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            interval_seconds=10,
            backoff_rate=2.0,
            max_attempts=5,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            ],
            interval_seconds=60,
            backoff_rate=1.5,
            expire_after_mins=RETRY_EXPIRE_AFTER_MINUTES,
        ),
    ]

    evaluate_args = processor("clearance.pipeline.steps.evaluate", EVALUATE_STEP).run(
        inputs=[code_input, s3_input("policy", policy_uri, POLICY_DIR)],
        outputs=[s3_output(CHECKS_OUTPUT, CHECKS_DIR)],
        arguments=[
            "--model-package-arn",
            model_package_arn,
            "--policy",
            str(POLICY_DIR),
            "--output-dir",
            str(CHECKS_DIR),
            "--allowed-buckets",
            ",".join(buckets),
            *(["--evidence-bucket", evidence_bucket] if evidence_bucket else []),
        ],
    )
    evaluate = ProcessingStep(
        name=EVALUATE_STEP,
        step_args=evaluate_args,
        description="Read the package's ModelMetrics reports and apply the policy -> checks.json",
        retry_policies=retries,
    )

    checks_uri = evaluate.properties.ProcessingOutputConfig.Outputs[CHECKS_OUTPUT].S3Output.S3Uri
    verify_args = processor(
        "clearance.pipeline.steps.verify", VERIFY_STEP, kind=VERIFY_INSTANCE_TYPE
    ).run(
        inputs=[
            code_input,
            s3_input("policy", policy_uri, POLICY_DIR),
            s3_input(CHECKS_OUTPUT, checks_uri, CHECKS_DIR),
            s3_input("wheels", wheel_s3_uri, WHEELS_DIR),
        ],
        outputs=[s3_output(VERIFIED_OUTPUT, VERIFIED_DIR)],
        arguments=[
            "--model-package-arn",
            model_package_arn,
            "--policy",
            str(POLICY_DIR),
            "--reported-checks",
            str(CHECKS_DIR / CHECKS_FILE),
            "--output-dir",
            str(VERIFIED_DIR),
            "--wheels",
            str(WHEELS_DIR),
            "--allowed-buckets",
            ",".join(buckets),
            *(["--evidence-bucket", evidence_bucket] if evidence_bucket else []),
        ],
    )
    verify = ProcessingStep(
        name=VERIFY_STEP,
        step_args=verify_args,
        description=(
            "Score the package's evaluation split with its registered model, recompute every "
            "metric with intervals, compare with the reports and decide -> checks.json"
        ),
        retry_policies=retries,
    )

    verified_uri = verify.properties.ProcessingOutputConfig.Outputs[VERIFIED_OUTPUT].S3Output.S3Uri
    update_args = processor("clearance.pipeline.steps.update", UPDATE_STEP).run(
        inputs=[code_input, s3_input(CHECKS_OUTPUT, verified_uri, CHECKS_DIR)],
        outputs=[s3_output(EVIDENCE_OUTPUT, EVIDENCE_DIR)],
        arguments=[
            "--checks",
            str(CHECKS_DIR / CHECKS_FILE),
            # checks.json per package, where the deploy gate reads it (and its pinned version).
            "--publish-checks-prefix",
            f"s3://{default_bucket}/{pipeline_name}/checks",
            "--evidence-dir",
            str(EVIDENCE_DIR),
        ],
    )
    update = ProcessingStep(
        name=UPDATE_STEP,
        step_args=update_args,
        description="Set Approved/Rejected with reasons in one update_model_package call",
        retry_policies=retries,
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[model_package_arn, policy_uri],
        # The SDK default adds an experiment + trial per execution, and only in some regions (its
        # EUREKA_GA_REGIONS list), so the definition would differ by region: none here.
        pipeline_experiment_config=None,
        steps=[evaluate, verify, update],
        sagemaker_session=sagemaker_session,
    )


_OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


_TELEMETRY_OPT_OUT = """\
SchemaVersion: "1.0"
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


@contextlib.contextmanager
def _offline_aws(region: str) -> Iterator[None]:
    """moto's in-process mock plus the environment the SDK needs, restored afterwards."""
    import tempfile

    from moto import mock_aws

    changes = dict(_OFFLINE_ENV)
    changes["AWS_DEFAULT_REGION"] = region
    saved = {key: os.environ.get(key) for key in [*changes, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    saved["SAGEMAKER_USER_CONFIG_OVERRIDE"] = os.environ.get("SAGEMAKER_USER_CONFIG_OVERRIDE")
    with tempfile.TemporaryDirectory(prefix="clearance-render-") as tmp:
        if not saved["SAGEMAKER_USER_CONFIG_OVERRIDE"]:
            # Telemetry opt-out: the SDK otherwise sends usage data over the network.
            config = Path(tmp) / "sagemaker-config.yaml"
            config.write_text(_TELEMETRY_OPT_OUT, encoding="utf-8")
            changes["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)
        os.environ.update(changes)
        # The mock intercepts requests in process; an endpoint URL or profile would bypass it.
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
        try:
            # Started BEFORE any boto3 or Pipeline session exists: sessions created earlier keep
            # real credentials and endpoints.
            with mock_aws():
                yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Silence the SDK's chatter during an offline render (config lookups at INFO, "No Wait, No
    Logs" and "Popping out 'ProcessingJobName'" warnings): none of it is actionable here."""
    import warnings

    import sagemaker.mlops.workflow.pipeline  # noqa: F401 - creates the SDK's loggers first

    loggers = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name == "sagemaker" or name.startswith("sagemaker.")
    ]
    levels = [(lg, lg.level) for lg in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"sagemaker(\..*)?$")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in levels:
                lg.setLevel(level)


def get_definition(
    region: str,
    role: str,
    default_bucket: str,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    **kwargs: Any,
) -> dict[str, Any]:
    """The pipeline definition as a dict, rendered offline (no AWS account, no network).

    Takes the arguments of ``get_approval_pipeline`` (except ``sagemaker_session``).
    """
    return json.loads(
        render_definition(region, role, default_bucket, pipeline_name=pipeline_name, **kwargs)
    )


def render_definition(
    region: str,
    role: str,
    default_bucket: str,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    **kwargs: Any,
) -> str:
    """The pipeline definition JSON string (what ``AWS::SageMaker::Pipeline`` takes), offline."""
    if "sagemaker_session" in kwargs:
        raise TypeError("render_definition creates its own offline session")
    with _offline_aws(region), _quiet_sdk():
        pipeline = get_approval_pipeline(
            region, role, default_bucket, pipeline_name=pipeline_name, **kwargs
        )
        return pipeline.definition()
