"""The approval pipeline definition, rendered offline with the SageMaker SDK v3 (no AWS/network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clearance.pipeline import bundle as code_bundle
from clearance.pipeline import definition as ap

ROLE = "arn:aws:iam::111122223333:role/clearance-approval"
BUCKET = "governance-bucket"


@pytest.fixture(scope="module")
def definition() -> dict:
    """One offline render shared by the structural assertions."""
    return ap.get_definition("eu-west-1", ROLE, BUCKET, allowed_buckets=[BUCKET, "team-bucket"])


def _step(definition: dict, name: str) -> dict:
    return next(step for step in definition["Steps"] if step["Name"] == name)


def _inputs(step: dict) -> dict[str, dict]:
    return {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}


def _outputs(step: dict) -> dict[str, dict]:
    return {
        o["OutputName"]: o["S3Output"]
        for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }


def test_definition_has_three_processing_steps(definition: dict) -> None:
    """Evaluate, Verify, then Update, all processing steps."""
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("Evaluate", "Processing"),
        ("Verify", "Processing"),
        ("Update", "Processing"),
    ]


def test_definition_parameters_are_package_arn_and_policy_uri(definition: dict) -> None:
    """ModelPackageArn has no default (the event supplies it); PolicyS3Uri has one."""
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert set(params) == {"ModelPackageArn", "PolicyS3Uri"}
    assert params["ModelPackageArn"]["Type"] == "String"
    assert "DefaultValue" not in params["ModelPackageArn"]
    assert params["PolicyS3Uri"]["DefaultValue"] == (
        f"s3://{BUCKET}/{ap.DEFAULT_PIPELINE_NAME}/policy/policy.yaml"
    )


def test_evaluate_reads_package_arn_and_policy_parameters(definition: dict) -> None:
    """The package ARN comes from the parameter (never a list lookup), the policy from its input."""
    evaluate = _step(definition, "Evaluate")
    app = evaluate["Arguments"]["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "clearance.pipeline.steps.evaluate"]
    argv = app["ContainerArguments"]
    assert argv[argv.index("--model-package-arn") + 1] == {"Get": "Parameters.ModelPackageArn"}
    assert argv[argv.index("--policy") + 1] == "/opt/ml/processing/policy"
    assert argv[argv.index("--output-dir") + 1] == "/opt/ml/processing/checks"
    assert argv[argv.index("--allowed-buckets") + 1] == f"{BUCKET},team-bucket"
    policy = _inputs(evaluate)["policy"]
    assert policy["S3Uri"] == {"Get": "Parameters.PolicyS3Uri"}
    assert policy["LocalPath"] == "/opt/ml/processing/policy"


def test_verify_reads_evaluates_checks_and_feeds_update(definition: dict) -> None:
    """Verify takes Evaluate's checks.json (recorded as reported_decision) and the policy; its
    verified checks.json is what Update acts on."""
    verify, update = _step(definition, "Verify"), _step(definition, "Update")
    inputs = _inputs(verify)
    assert inputs["checks"]["S3Uri"] == {
        "Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['checks'].S3Output.S3Uri"
    }
    assert inputs["policy"]["S3Uri"] == {"Get": "Parameters.PolicyS3Uri"}
    argv = verify["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert argv[argv.index("--reported-checks") + 1] == "/opt/ml/processing/checks/checks.json"
    assert argv[argv.index("--model-package-arn") + 1] == {"Get": "Parameters.ModelPackageArn"}
    assert _inputs(update)["checks"]["S3Uri"] == {
        "Get": "Steps.Verify.ProcessingOutputConfig.Outputs['verified'].S3Output.S3Uri"
    }
    cluster = verify["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == "ml.m5.large"


def test_checks_json_is_evaluate_output(definition: dict) -> None:
    """Evaluate writes checks.json per execution; Update reads checks.json from its input."""
    evaluate, update = _step(definition, "Evaluate"), _step(definition, "Update")
    checks_out = _outputs(evaluate)["checks"]
    assert checks_out["LocalPath"] == "/opt/ml/processing/checks"
    # One prefix per execution: concurrent approvals never share a checks.json.
    assert {"Get": "Execution.PipelineExecutionId"} in checks_out["S3Uri"]["Std:Join"]["Values"]
    checks_in = _inputs(update)["checks"]
    argv = update["Arguments"]["AppSpecification"]["ContainerArguments"]
    checks_path = argv[argv.index("--checks") + 1]
    assert checks_path == checks_in["LocalPath"] + "/checks.json"
    assert update["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "-m",
        "clearance.pipeline.steps.update",
    ]


def test_every_step_runs_the_shipped_code_bundle_on_a_small_instance(definition: dict) -> None:
    """The clearance zip is the code input and on PYTHONPATH; ml.t3.medium, one instance (Verify:
    ml.m5.large, it predicts and resamples)."""
    for step in definition["Steps"]:
        if step["Name"] == "Verify":
            continue
        args = step["Arguments"]
        code = _inputs(step)["code"]
        assert code["S3Uri"] == f"s3://{BUCKET}/{ap.DEFAULT_PIPELINE_NAME}/code/clearance.zip"
        assert code["LocalPath"] == "/opt/ml/processing/input/code"
        assert args["Environment"]["PYTHONPATH"] == "/opt/ml/processing/input/code/clearance.zip"
        cluster = args["ProcessingResources"]["ClusterConfig"]
        assert cluster == {"InstanceType": "ml.t3.medium", "InstanceCount": 1, "VolumeSizeInGB": 5}
        assert args["RoleArn"] == ROLE
        assert "sagemaker-scikit-learn" in args["AppSpecification"]["ImageUri"]


def test_instance_type_is_configurable() -> None:
    """The instance type argument reaches both steps."""
    definition = ap.get_definition("us-east-1", ROLE, BUCKET, instance_type="ml.m5.large")
    types = {
        s["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"]
        for s in definition["Steps"]
    }
    assert types == {"ml.m5.large"}


def test_no_hard_coded_region(definition: dict) -> None:
    """With an explicit image, the definition is identical for every region and names none."""
    kwargs = {"image_uri": "123456789012.dkr.ecr.example/sklearn:1"}
    first = ap.render_definition("eu-west-1", ROLE, BUCKET, **kwargs)
    second = ap.render_definition("ap-southeast-2", ROLE, BUCKET, **kwargs)
    assert first == second
    for region in ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-southeast-2"):
        assert region not in first
    # Without an explicit image (the fixture renders for eu-west-1), the region only enters
    # through the SageMaker scikit-learn image URI.
    image = _step(definition, "Evaluate")["Arguments"]["AppSpecification"]["ImageUri"]
    assert image.split(".")[3] == "eu-west-1"
    # The Python 3.12 scikit-learn image: older tags run Python 3.9/3.10, too old for clearance.
    assert image.endswith("/sagemaker-scikit-learn:1.9-0-cpu-py3")
    text = json.dumps(definition)
    assert "us-east-1" not in text
    assert text.count("eu-west-1") == len(definition["Steps"])  # once per step: the image


def test_cloudformation_placeholders_pass_through_verbatim() -> None:
    """tools/package.py can render with ${...} placeholders for a Fn::Sub."""
    text = ap.render_definition(
        "us-east-1",
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ApprovalRoleName}",
        "${GovernanceBucket}",
        image_uri="${ProcessingImageUri}",
    )
    definition = json.loads(text)
    evaluate = _step(definition, "Evaluate")
    assert evaluate["Arguments"]["RoleArn"].endswith("role/${ApprovalRoleName}")
    assert evaluate["Arguments"]["AppSpecification"]["ImageUri"] == "${ProcessingImageUri}"
    assert _inputs(evaluate)["code"]["S3Uri"].startswith("s3://${GovernanceBucket}/")


def test_role_without_arn_shape_is_rejected_before_any_call() -> None:
    """A bare role name would make the SDK call iam:GetRole; refuse it with the field named."""
    with pytest.raises(ValueError, match=r"^role: "):
        ap.render_definition("us-east-1", "MyRole", BUCKET)


@pytest.mark.parametrize("has_sdk_config", [True, False], ids=["sdk-config", "no-sdk-config"])
def test_render_restores_environment(monkeypatch: pytest.MonkeyPatch, has_sdk_config: bool) -> None:
    """The offline mock (and its telemetry opt-out file) leaves nothing behind."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    if not has_sdk_config:
        monkeypatch.delenv("SAGEMAKER_USER_CONFIG_OVERRIDE", raising=False)
    before = dict(os.environ)
    ap.render_definition("eu-west-1", ROLE, BUCKET)
    assert dict(os.environ) == before


def test_code_bundle_imports_from_the_zip_without_site_packages(tmp_path: Path) -> None:
    """The zip alone provides clearance and PyYAML (python -S: no site-packages at all)."""
    bundle = code_bundle.build_code_bundle(tmp_path / "clearance.zip")
    names = zipfile.ZipFile(bundle).namelist()
    assert "clearance/pipeline/definition.py" in names
    assert "yaml/__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(".so") for n in names)
    code = "import clearance, yaml; print(clearance.__file__); print(yaml.safe_load('a: [1, 2]'))"
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={"PYTHONPATH": str(bundle), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = result.stdout.splitlines()
    assert first.startswith(str(bundle))
    assert second == "{'a': [1, 2]}"


def test_code_bundle_is_deterministic(tmp_path: Path) -> None:
    """Same package, same bytes: the uploaded object only changes when the code does."""
    one = code_bundle.build_code_bundle(tmp_path / "a" / "clearance.zip").read_bytes()
    two = code_bundle.build_code_bundle(tmp_path / "b" / "clearance.zip").read_bytes()
    assert one == two


def test_steps_retry_quota_and_capacity_errors(definition: dict) -> None:
    """A burst past the processing-job quota is retried, not left pending forever."""
    for step in definition["Steps"]:
        policies = {tuple(p["ExceptionType"]): p for p in step["RetryPolicies"]}
        job = policies[
            ("SageMaker.RESOURCE_LIMIT", "SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR")
        ]
        assert job["ExpireAfterMin"] == ap.RETRY_EXPIRE_AFTER_MINUTES
        assert policies[("Step.SERVICE_FAULT", "Step.THROTTLING")]["MaxAttempts"] == 5
    assert "CacheConfig" not in json.dumps(definition)  # a decision is never served from cache
