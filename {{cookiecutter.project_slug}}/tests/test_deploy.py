"""deploy/: endpoint configuration as code, the build step's CloudFormation parameters, payload."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.{{ cookiecutter.module_name }} import schema

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ARN = "arn:aws:sagemaker:{{ cookiecutter.aws_region }}:222222222222:model-package/g-1/3"
COMMON = {
    "SageMakerProjectName": "{{ cookiecutter.sagemaker_project_name }}",
    "SageMakerProjectId": "p-abc123",
    "ModelExecutionRoleArn": "arn:aws:iam::111111111111:role/model",
    "DataCaptureUploadPath": "s3://bucket/datacapture",
    "KmsKeyId": "arn:aws:kms:{{ cookiecutter.aws_region }}:111111111111:key/k",
}
# The verified governance copy the deploy gate names (clearance deploy-gate --json).
COPY = "s3://clearance-gov-222222222222/artifacts/team-bucket/run/model/model.tar.gz/v1"
IMAGE = "683313688378.dkr.ecr.{{ cookiecutter.aws_region }}.amazonaws.com/sagemaker-xgboost:1.7-1"
SERVED = {"Image": IMAGE, "ModelDataUrl": COPY}
GATE = {
    "model_package_arn": ARN,
    "allowed": True,
    "refusal": None,
    "facts": {"image": IMAGE, "model_copy": {"s3_uri": COPY, "sha256": "ab" * 32}},
}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("deploy_build", DEPLOY / "build.py")
payload = _load("deploy_payload", DEPLOY / "test" / "payload.py")


def _template() -> dict:
    return yaml.safe_load((DEPLOY / "endpoint-config-template.yml").read_text())


@pytest.mark.parametrize("stage", build.STAGES)
def test_stage_config_is_valid_and_captures_data(stage: str) -> None:
    params = build.load_stage(stage)
    assert params["EnableDataCapture"] == "true"
    assert 1 <= int(params["SamplingPercentage"]) <= 100


def test_prod_autoscales_and_runs_more_than_one_instance() -> None:
    prod = build.load_stage("prod")
    assert int(prod["EndpointInstanceCount"]) >= 2
    assert int(prod["AutoScalingMaxCapacity"]) > int(prod["AutoScalingMinCapacity"])


@pytest.mark.parametrize("stage", build.STAGES)
def test_export_sets_exactly_the_template_parameters(stage: str) -> None:
    doc = build.export(stage, ARN, COMMON, SERVED)
    assert set(doc["Parameters"]) == set(_template()["Parameters"])
    assert doc["Parameters"]["ModelPackageName"] == ARN
    assert doc["Parameters"]["ModelDataUrl"] == COPY  # the verified copy, not the team's object
    assert doc["Tags"]["clearance:model-package-arn"] == ARN
    for name, spec in _template()["Parameters"].items():
        value = doc["Parameters"][name]
        if "AllowedPattern" in spec:
            assert re.match(spec["AllowedPattern"], value), (name, value)
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (name, value)


def test_template_keeps_capture_on_and_both_directions() -> None:
    capture = _template()["Resources"]["EndpointConfig"]["Properties"]["DataCaptureConfig"]
    assert [o["CaptureMode"] for o in capture["CaptureOptions"]] == ["Input", "Output"]
    assert _template()["Parameters"]["EnableDataCapture"]["AllowedValues"] == ["true"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"EnableDataCapture": "false"}, "EnableDataCapture"),
        ({"EndpointInstanceCount": "9"}, "outside"),
        ({"EndpointInstanceType": "m5.large"}, "EndpointInstanceType"),
        ({"SamplingPercentage": "0"}, "SamplingPercentage"),
        ({"StageName": "prod"}, "StageName"),
    ],
)
def test_bad_stage_config_is_refused(tmp_path: Path, change: dict, problem: str) -> None:
    shutil.copy(DEPLOY / "staging-config.json", tmp_path / "staging-config.json")
    doc = json.loads((tmp_path / "staging-config.json").read_text())
    doc["Parameters"].update(change)
    (tmp_path / "staging-config.json").write_text(json.dumps(doc))
    with pytest.raises(build.ConfigError, match=problem):
        build.load_stage("staging", tmp_path)


def test_unversioned_arn_is_refused() -> None:
    with pytest.raises(build.ConfigError, match="versioned"):
        build.export("staging", ARN.rsplit("/", 1)[0], COMMON, SERVED)


def test_latest_approved_asks_for_the_newest_approved() -> None:
    class Registry:
        def list_model_packages(self, **kwargs):
            self.kwargs = kwargs
            return {"ModelPackageSummaryList": [{"ModelPackageArn": ARN}]}

    registry = Registry()
    assert build.latest_approved(registry, "g-1") == ARN
    assert registry.kwargs["ModelApprovalStatus"] == "Approved"
    assert registry.kwargs["SortOrder"] == "Descending"


def _main(tmp_path: Path, *extra: str) -> int:
    return build.main(
        [
            "--model-package-group-name", "g-1", "--model-package-arn", ARN,
            "--model-execution-role-arn", COMMON["ModelExecutionRoleArn"],
            "--sagemaker-project-name", COMMON["SageMakerProjectName"],
            "--sagemaker-project-id", COMMON["SageMakerProjectId"],
            "--data-capture-uri", COMMON["DataCaptureUploadPath"],
            "--kms-key-id", COMMON["KmsKeyId"], "--export-dir", str(tmp_path), *extra,
        ]
    )  # fmt: skip


def test_main_writes_the_package_then_after_the_gate_the_stage_parameters(tmp_path: Path) -> None:
    assert _main(tmp_path) == 0
    assert (tmp_path / "model-package-arn.txt").read_text().strip() == ARN
    assert not list(tmp_path.glob("*-config-export.json"))  # nothing to deploy before the gate
    (tmp_path / "gate.json").write_text(json.dumps(GATE))
    assert _main(tmp_path, "--gate-result", str(tmp_path / "gate.json")) == 0
    for stage in build.STAGES:
        doc = json.loads((tmp_path / f"{stage}-config-export.json").read_text())
        assert doc["Parameters"]["StageName"] == stage
        assert doc["Parameters"]["ModelDataUrl"] == COPY and doc["Parameters"]["Image"] == IMAGE


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"allowed": False}, "did not allow"),
        ({"model_package_arn": ARN[:-1] + "4"}, "not " + ARN),
        ({"facts": {"image": IMAGE}}, "no verified model copy"),
    ],
)
def test_a_refused_or_other_gate_result_writes_nothing(
    tmp_path: Path, change: dict, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gate.json").write_text(json.dumps({**GATE, **change}))
    assert _main(tmp_path, "--gate-result", str(tmp_path / "gate.json")) == 2
    assert problem in capsys.readouterr().err
    assert not list(tmp_path.glob("*-config-export.json"))


def test_payload_is_feature_rows_without_label() -> None:
    rows = payload.payload_rows(50)
    assert len(rows) == 50
    for row in rows:
        cells = [float(v) for v in row.split(",")]
        assert len(cells) == len(schema.FEATURES)
