"""The Model Monitor data-quality schedule built from a package's DriftCheckBaselines, and
botocore's validation of the requests (shapes plus string patterns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearance.deploy.report import EndpointPolicy, EndpointReport

# Model Monitor's analyzer image account per region (the SageMaker SDK's model-monitor.json; a test
# checks these against the installed SDK). Other regions: pass monitor_image_uri.
MONITOR_ACCOUNTS = {
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-2": "159807026194",
    "eu-west-1": "468650794304",
    "eu-central-1": "048819808253",
}


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
        if region not in MONITOR_ACCOUNTS:
            raise ValueError(f"no Model Monitor image known for {region}; pass monitor_image_uri")
        account = MONITOR_ACCOUNTS[region]
        monitor_image_uri = (
            f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"
        )
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
