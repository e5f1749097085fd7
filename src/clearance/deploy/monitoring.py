"""The Model Monitor data-quality schedule built from a package's DriftCheckBaselines, and
botocore's validation of the requests (shapes plus string patterns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.deploy.report import EndpointPolicy, EndpointReport

# Model Monitor's analyzer image account per region: every region of the SageMaker Python SDK's
# image_uri_config/model-monitor.json (sagemaker-core, Apache-2.0), copied so the deploy CodeBuild
# (which has no SDK) resolves it; tests/deploy/test_endpoint.py checks the copy equals the installed
# SDK's. A region not listed: pass monitor_image_uri (clearance endpoint-check --monitor-image-uri).
MONITOR_ACCOUNTS = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-isof-east-1": "853188333426",
    "us-isof-south-1": "467912361380",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
# The registry's DNS suffix per partition (an ECR image URI is <account>.dkr.ecr.<region>.<suffix>).
ECR_DOMAINS = {"cn-": "amazonaws.com.cn", "us-isof-": "csp.hci.ic.gov"}


def monitor_image(region: str) -> str:
    """Model Monitor's analyzer image in REGION, as the SDK's image_uris.retrieve gives it."""
    if region not in MONITOR_ACCOUNTS:
        raise ValueError(f"no Model Monitor image known for {region}; pass monitor_image_uri")
    domain = next(
        (d for prefix, d in ECR_DOMAINS.items() if region.startswith(prefix)), "amazonaws.com"
    )
    account = MONITOR_ACCOUNTS[region]
    return f"{account}.dkr.ecr.{region}.{domain}/sagemaker-model-monitor-analyzer"


def monitoring_requests(
    endpoint_name: str,
    drift_check_baselines: Mapping[str, Any],
    role_arn: str,
    output_s3_uri: str,
    region: str,
    policy: EndpointPolicy,
    monitor_image_uri: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(CreateDataQualityJobDefinition, CreateMonitoringSchedule) requests from the baselines."""
    quality = drift_check_baselines.get("ModelDataQuality") or {}
    constraints = (quality.get("Constraints") or {}).get("S3Uri")
    statistics = (quality.get("Statistics") or {}).get("S3Uri")
    if not constraints or not statistics:
        raise ValueError(
            "DriftCheckBaselines.ModelDataQuality lacks Constraints or Statistics: register the "
            "package with a data-quality baseline"
        )
    if monitor_image_uri is None:
        monitor_image_uri = monitor_image(region)
    name = f"{endpoint_name[:58]}-dq".replace("--", "-")
    definition = {
        "JobDefinitionName": name,
        "DataQualityBaselineConfig": {
            "ConstraintsResource": {"S3Uri": constraints},
            "StatisticsResource": {"S3Uri": statistics},
        },
        "DataQualityAppSpecification": {"ImageUri": monitor_image_uri},
        "DataQualityJobInput": {
            "EndpointInput": {
                "EndpointName": endpoint_name,
                "LocalPath": "/opt/ml/processing/input/endpoint",
            }
        },
        "DataQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": output_s3_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": policy.monitor_instance_type,
                "VolumeSizeInGB": 20,
            }
        },
        "RoleArn": role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    schedule = {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": policy.schedule_expression},
            "MonitoringJobDefinitionName": name,
            "MonitoringType": "DataQuality",
        },
    }
    return definition, schedule


def _pattern_problems(value: Any, shape: Any, path: str) -> list[str]:
    """String patterns, which botocore's ParamValidator does not check (Java-only classes such as
    ``\\p{L}`` are skipped)."""
    import re

    if shape.type_name == "structure" and isinstance(value, Mapping):
        return [
            problem
            for name, member in shape.members.items()
            if name in value
            for problem in _pattern_problems(value[name], member, f"{path}.{name}")
        ]
    if shape.type_name == "list" and isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _pattern_problems(v, shape.member, path)]
    pattern = shape.metadata.get("pattern") if shape.type_name == "string" else None
    if pattern and isinstance(value, str):
        try:
            compiled = re.compile(pattern)
        except re.error:
            return []
        if not compiled.fullmatch(value):
            return [f"{path}: {value[:80]!r} does not match {pattern}"]
    return []


def request_problems(operation: str, params: Mapping[str, Any]) -> list[str]:
    """botocore's validation of a SageMaker request (types, required members, lengths, enums)
    plus the shapes' string patterns."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(dict(params), shape)
    problems = [line.strip() for line in report.generate_report().splitlines()[1:] if line.strip()]
    return problems + _pattern_problems(params, shape, operation)


def check_monitoring(report: EndpointReport, sm: Any, requests: Any, create: bool, policy):
    try:
        definition, schedule = requests()
        problems = request_problems("CreateDataQualityJobDefinition", definition)
        problems += request_problems("CreateMonitoringSchedule", schedule)
        if problems:
            raise ValueError("; ".join(problems)[:300])
        report.monitoring = {
            "schedule_name": schedule["MonitoringScheduleName"],
            "schedule_expression": policy.schedule_expression,
            "baseline": {
                "constraints": definition["DataQualityBaselineConfig"]["ConstraintsResource"][
                    "S3Uri"
                ],
                "statistics": definition["DataQualityBaselineConfig"]["StatisticsResource"][
                    "S3Uri"
                ],
            },
            "created": False,
        }
        if create:
            sm.create_data_quality_job_definition(**definition)
            sm.create_monitoring_schedule(**schedule)
            report.monitoring["created"] = True
        verb = "created" if create else "built and validated (not created)"
        passed, reason = True, f"data-quality schedule {schedule['MonitoringScheduleName']} {verb}"
    except Exception as exc:  # noqa: BLE001 - a failed check, with the reason
        passed, reason = False, f"no data-quality schedule: {str(exc)[:300]}"
    report.check("endpoint.monitoring", passed or not policy.monitoring_required, reason)
