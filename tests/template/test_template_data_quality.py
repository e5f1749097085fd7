"""The team pipeline registers the data-quality baseline the deploy side's endpoint check needs.

Issue 13: `clearance endpoint-check` builds the staging endpoint's Model Monitor data-quality
schedule from the package's `DriftCheckBaselines.ModelDataQuality` and fails closed without it. The
baked tabular pipeline (with and without the deploy side) has a DataQuality step (QualityCheckStep,
DataQualityCheckConfig) whose baseline RegisterModel registers there; these tests read the rendered
definition, resolve its run-time references the way SageMaker Pipelines does, and feed the result to
the deploy side's own request builder. The LLM variant has neither the step nor a deploy side.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from fnmatch import fnmatch
from typing import Any

import pytest
from bake_support import REPO_ROOT, SUPPORTED_COMBINATIONS, combination_id, render_definition

from clearance.contract import names
from clearance.contract.reports import EVIDENCE_SLOT, METRIC_SLOTS, TABULAR_KINDS
from clearance.deploy import endpoint_checks as ec
from clearance.deploy.baseline_copy import pin_data_quality_baseline
from clearance.deploy.monitoring import check_monitoring
from clearance.deploy.report import EndpointReport
from clearance_dev.requests import definition_problems, validate

TABULAR = [c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "tabular"]
LLM = next(c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "llm")
BUCKET = "sagemaker-p-abcdefghijkl-111111111111-artifacts"
GROUP_ARN = (
    "arn:aws:sagemaker:{region}:222222222222:model-package-group/"
    "111111111111-credit-risk-p-abcdefghijkl"
)
EXECUTION_ID = "1a2b3c4d5e6f"  # what Execution.PipelineExecutionId resolves to in one run
STEP = "DataQuality"
# Model Monitor's baselining job writes these two files into its output folder; the QualityCheck
# step's Calculated*/BaselineUsedForDriftCheck* properties name them there.
MONITOR_FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}
MONITORING = {"role_arn": "arn:aws:iam::111111111111:role/monitor", "output_s3_uri": "s3://b/m"}


def test_both_deploy_answers_are_covered() -> None:
    assert {c["deploy"] for c in TABULAR} == {True, False}


@pytest.fixture(scope="module")
def definitions(bake_once: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The offline definition of a bake, rendered once per combination."""
    cache: dict[str, dict[str, Any]] = {}

    def render(combination: dict[str, Any]) -> dict[str, Any]:
        key = combination_id(combination)
        if key not in cache:
            result = bake_once(combination)
            assert result.exception is None, result.exception
            region = combination["aws_region"]
            kwargs = {
                "region": region,
                "default_bucket": BUCKET,
                "model_package_group_name": GROUP_ARN.format(region=region),
            }
            out = tmp_path_factory.mktemp("definition") / "definition.json"
            cache[key] = render_definition(result.project_path, kwargs, out)
        return cache[key]

    return render


def _steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in definition["Steps"]}


def _resolve(value: Any) -> Any:
    """Std:Join and the execution id as SageMaker Pipelines evaluates them at run time."""
    if isinstance(value, dict):
        if value == {"Get": "Execution.PipelineExecutionId"}:
            return EXECUTION_ID
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return join["On"].join(str(_resolve(v)) for v in join["Values"])
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


# What the baselining job wrote in one run (any JSON: the endpoint check parses, not interprets).
BASELINE_BODIES = {
    kind: json.dumps({"version": 0.0, "kind": kind}).encode() for kind in MONITOR_FILES
}
GOV_BUCKET = "clearance-gov-222222222222-us-east-1"


def _digest(kind: str) -> str:
    return "sha256:" + hashlib.sha256(BASELINE_BODIES[kind]).hexdigest()


class _GovernanceCopies:
    """The governance bucket's copies (ListObjectsV2 / GetObject) copy-artifacts made."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def list_objects_v2(self, Bucket: str, Prefix: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        return {"Contents": [{"Key": k} for k in self.objects if k.startswith(Prefix)]}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        assert Bucket == GOV_BUCKET
        return {"Body": io.BytesIO(self.objects[Key]), "VersionId": "gov-1"}


def _registered_baselines(definition: dict[str, Any]) -> dict[str, Any]:
    """DriftCheckBaselines as CreateModelPackage receives them in one run: each
    Steps.DataQuality.BaselineUsedForDriftCheck* reference becomes the file the baselining job wrote
    in this run's output folder (register_new_baseline=True: the new baseline is the one used),
    and each ContentDigest the sha256 DigestReports computed of it (BASELINE_BODIES)."""
    steps = _steps(definition)
    (output,) = steps[STEP]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    folder = _resolve(output["S3Output"]["S3Uri"])
    files = {
        f"Steps.{STEP}.BaselineUsedForDriftCheck{kind}": f"{folder}/{name}"
        for kind, name in MONITOR_FILES.items()
    }

    digests = {f"data_quality_{kind.lower()}": _digest(kind) for kind in MONITOR_FILES}

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Get"} and value["Get"] in files:
                return files[value["Get"]]
            if set(value) == {"Std:JsonGet"}:  # DigestReports' digests.json entry
                return digests[value["Std:JsonGet"]["Path"]]
            return {k: substitute(v) for k, v in value.items()}
        return value

    baselines = steps["RegisterModel"]["Arguments"]["DriftCheckBaselines"]
    return {"ModelDataQuality": substitute(baselines["ModelDataQuality"])}


@pytest.mark.parametrize("combination", TABULAR, ids=combination_id)
def test_tabular_pipeline_baselines_predicts_capture_shaped_output(
    definitions: Any, combination: dict[str, Any]
) -> None:
    """DataQuality runs Model Monitor's analyzer on Predict's `baseline` output (header-less CSV)
    into this run's own folder, and always registers what it calculated."""
    definition = definitions(combination)
    steps = _steps(definition)
    names = list(steps)
    assert names.index("Predict") < names.index(STEP) < names.index("RegisterModel")
    # DigestReports digests the baseline, so it runs after DataQuality (the checks' chain).
    chain, step = [], "DigestReports"
    while step in steps:
        chain.append(step)
        step = (steps[step].get("DependsOn") or [None])[0]
    assert STEP in chain, chain
    step = steps[STEP]
    assert step["Type"] == "QualityCheck" and step["CheckType"] == "DATA_QUALITY"
    assert step["RegisterNewBaseline"] is True
    assert step["SkipCheck"] == {"Get": "Parameters.SkipDataQualityCheck"}
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert defaults["SkipDataQualityCheck"] is True
    assert "RegisterNewDataQualityBaseline" not in defaults
    args = step["Arguments"]
    (dataset,) = args["ProcessingInputs"]
    assert dataset["S3Input"]["S3Uri"] == {
        "Get": "Steps.Predict.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }
    predict = steps["Predict"]["Arguments"]
    outputs = {o["OutputName"]: o["S3Output"] for o in predict["ProcessingOutputConfig"]["Outputs"]}
    container = predict["AppSpecification"]["ContainerArguments"]
    assert container[container.index("--baseline-dir") + 1] == outputs["baseline"]["LocalPath"]
    env = args["Environment"]
    assert json.loads(env["dataset_format"]) == {
        "csv": {"header": False, "output_columns_position": "START"}
    }
    assert env["dataset_source"] == dataset["S3Input"]["LocalPath"]
    image = args["AppSpecification"]["ImageUri"]
    registry = f".dkr.ecr.{combination['aws_region']}.amazonaws.com"
    assert image.endswith(f"{registry}/sagemaker-model-monitor-analyzer")
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert _resolve(output["S3Output"]["S3Uri"]).endswith(f"/{EXECUTION_ID}/data-quality")


@pytest.mark.parametrize("combination", TABULAR, ids=combination_id)
def test_register_model_points_model_data_quality_at_the_step(
    definitions: Any, combination: dict[str, Any]
) -> None:
    """DriftCheckBaselines.ModelDataQuality references the step's outputs; the evidence manifest
    keeps its ModelMetrics slot; every request of the definition validates."""
    definition = definitions(combination)
    register = _steps(definition)["RegisterModel"]["Arguments"]
    assert register["DriftCheckBaselines"]["ModelDataQuality"] == {
        kind: {
            "ContentType": "application/json",
            "S3Uri": {"Get": f"Steps.{STEP}.BaselineUsedForDriftCheck{kind}"},
            "ContentDigest": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.DigestReports.PropertyFiles.ReportDigests"},
                    "Path": f"data_quality_{kind.lower()}",
                }
            },
        }
        for kind in MONITOR_FILES
    }
    section, key = EVIDENCE_SLOT
    manifest = register["ModelMetrics"][section][key]["S3Uri"]["Std:Join"]["Values"]
    assert manifest[-1] == "manifest.json"
    assert set(register["ModelMetrics"][section]) == {key}
    problems = definition_problems(definition)
    assert problems[STEP] == [] and problems["RegisterModel"] == []


@pytest.mark.parametrize("combination", TABULAR, ids=combination_id)
def test_every_slot_the_approval_pins_carries_a_digest(
    definitions: Any, combination: dict[str, Any]
) -> None:
    """The approval reads each report AND the verification manifest from the governance copy whose
    sha256 is the slot's ContentDigest (`clearance.registry.fetch._read` with an evidence store);
    a slot without one fails Verify closed on AWS for every package. So every ModelMetrics slot
    the team registers takes its ContentDigest from DigestReports, which digests that very URI."""
    steps = _steps(definitions(combination))
    register = steps["RegisterModel"]["Arguments"]
    channels = {
        i["InputName"]: i["S3Input"]["S3Uri"]
        for i in steps["DigestReports"]["Arguments"]["ProcessingInputs"]
        if i["InputName"] != "code"
    }
    slots = {(section, key) for kind in TABULAR_KINDS for section, key in METRIC_SLOTS[kind][:1]}
    registered = {
        (section, key): source
        for section, holder in register["ModelMetrics"].items()
        for key, source in holder.items()
    }
    # Model Monitor's constraints beside its statistics (the quality rules' bounds' source).
    assert slots | {EVIDENCE_SLOT, ("ModelQuality", "Constraints")} == set(registered)
    # The endpoint check pins the data-quality baseline the same way (clearance.deploy.
    # baseline_copy): its schedule runs with the governance copy of each file's digest.
    quality = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert set(quality) == set(MONITOR_FILES)
    registered.update({("DriftCheckBaselines.ModelDataQuality", k): v for k, v in quality.items()})
    for slot, source in registered.items():
        digest = source.get("ContentDigest", {}).get("Std:JsonGet")
        assert digest, f"{slot} has no ContentDigest"
        assert digest["PropertyFile"] == {"Get": "Steps.DigestReports.PropertyFiles.ReportDigests"}
        assert channels[digest["Path"]] == source["S3Uri"], slot


@pytest.mark.parametrize("combination", TABULAR, ids=combination_id)
def test_endpoint_check_accepts_what_the_pipeline_registers(
    definitions: Any, combination: dict[str, Any]
) -> None:
    """The registered baselines, as one run resolves them, make the endpoint check's
    DataQuality job definition and schedule, and both validate against botocore; the schedule
    runs the same analyzer image the pipeline's baselining job ran."""
    definition = definitions(combination)
    region = combination["aws_region"]
    baselines = _registered_baselines(definition)
    for kind, name in MONITOR_FILES.items():
        uri = baselines["ModelDataQuality"][kind]["S3Uri"]
        assert uri == f"s3://{BUCKET}/credit-risk/{EXECUTION_ID}/data-quality/{name}"
    request = {
        "ModelPackageGroupName": GROUP_ARN.format(region=region),
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "DriftCheckBaselines": baselines,
    }
    assert validate("sagemaker", "CreateModelPackage", request) == []
    # The endpoint check resolves each file to copy-artifacts' governance copy with its digest.
    copies = {
        kind: names.copy_key(BUCKET, f"credit-risk/{EXECUTION_ID}/data-quality/{name}", "v1")
        for kind, name in MONITOR_FILES.items()
    }
    s3 = _GovernanceCopies({copies[kind]: BASELINE_BODIES[kind] for kind in MONITOR_FILES})
    group = GROUP_ARN.rsplit("/", 1)[1]
    pinned, pins = pin_data_quality_baseline(s3, baselines, GOV_BUCKET, group)
    assert {k: p["sha256"] for k, p in pins.items()} == {
        kind.lower(): _digest(kind).removeprefix("sha256:") for kind in MONITOR_FILES
    }
    image = _steps(definition)[STEP]["Arguments"]["AppSpecification"]["ImageUri"]
    options = {**MONITORING, "region": region}
    if region not in ec.MONITOR_ACCOUNTS:
        options["monitor_image_uri"] = image  # clearance endpoint-check --monitor-image-uri
    definition_request, schedule = ec.monitoring_requests(
        "credit-risk-p-abcdefghijkl-staging", pinned, policy=ec.load_policy(), **options
    )
    assert definition_request["DataQualityAppSpecification"]["ImageUri"] == image
    assert definition_request["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": f"s3://{GOV_BUCKET}/{copies['Constraints']}"},
        "StatisticsResource": {"S3Uri": f"s3://{GOV_BUCKET}/{copies['Statistics']}"},
    }
    assert ec.request_problems("CreateDataQualityJobDefinition", definition_request) == []
    assert ec.request_problems("CreateMonitoringSchedule", schedule) == []
    report = EndpointReport(endpoint_name="e", model_package_arn="a", stage="staging", policy={})
    policy = ec.load_policy()
    check_monitoring(report, None, lambda: (definition_request, schedule), False, policy)
    (check,) = [c for c in report.checks if c["id"] == "endpoint.monitoring"]
    assert check["outcome"] == "pass", check


def test_llm_variant_registers_no_data_quality_baseline(definitions: Any) -> None:
    """The LLM variant has no tabular inputs to baseline and no deploy side (docs/deploy.md): no
    DataQuality step, no DriftCheckBaselines, so the endpoint check would fail closed on it."""
    definition = definitions(LLM)
    steps = _steps(definition)
    assert STEP not in steps
    assert "DriftCheckBaselines" not in steps["RegisterModel"]["Arguments"]
    with pytest.raises(ValueError, match="ModelDataQuality"):
        ec.monitoring_requests("e", {}, policy=ec.load_policy(), **MONITORING, region="us-east-1")


def test_the_connection_can_fail(definitions: Any) -> None:
    """Without the step's baselines the registered DriftCheckBaselines fail the endpoint check."""
    definition = json.loads(json.dumps(definitions(TABULAR[0])))
    register = _steps(definition)["RegisterModel"]["Arguments"]
    del register["DriftCheckBaselines"]["ModelDataQuality"]["Constraints"]
    with pytest.raises(ValueError, match="lacks Constraints"):
        ec.monitoring_requests(
            "e",
            register["DriftCheckBaselines"],
            policy=ec.load_policy(),
            **MONITORING,
            region="us-east-1",
        )


def _execution_role_allows(action: str, resource: str, region: str) -> list[str]:
    """Sids of the team pipeline role's Allow statements granting ACTION on RESOURCE."""
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import package

    template = package.load_source_template("model-build-product")
    role = template["Resources"]["SageMakerExecutionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    variables = {"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": "111111111111"}
    sids = []
    for statement in statements:
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        for pattern in resources:
            text = pattern.get("Fn::Sub") if isinstance(pattern, dict) else pattern
            if not isinstance(text, str):
                continue  # GetAtt, or a Sub with its own variables: not a pattern read here
            for name, value in variables.items():
                text = text.replace("${" + name + "}", value)
            if statement["Effect"] == "Allow" and action in actions and fnmatch(resource, text):
                sids.append(statement["Sid"])
    return sids


@pytest.mark.parametrize("combination", TABULAR, ids=combination_id)
def test_pipeline_role_already_runs_the_data_quality_job(
    definitions: Any, combination: dict[str, Any]
) -> None:
    """The step is a processing job (pipelines-*) in the Model Monitor analyzer image that
    ModelQuality already uses: the existing grants cover it, no new one is needed."""
    region = combination["aws_region"]
    image = _steps(definitions(combination))[STEP]["Arguments"]["AppSpecification"]["ImageUri"]
    host, repository = image.split("/", 1)
    account = host.split(".")[0]
    repository_arn = f"arn:aws:ecr:{region}:{account}:repository/{repository.split(':')[0]}"
    assert _execution_role_allows("ecr:BatchGetImage", repository_arn, region) == [
        "PullAlgorithmImages"
    ]
    job = f"arn:aws:sagemaker:{region}:111111111111:processing-job/pipelines-{EXECUTION_ID}-dq"
    assert _execution_role_allows("sagemaker:CreateProcessingJob", job, region) == [
        "RunPipelineJobs"
    ]
    other = f"arn:aws:ecr:{region}:{account}:repository/other-image"
    assert _execution_role_allows("ecr:BatchGetImage", other, region) == []
