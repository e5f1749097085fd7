"""Endpoint checks in staging: the second clearance, on the running endpoint.

:func:`run_checks` judges one endpoint against the ``endpoint`` policy (endpoint_policy.yaml):

=====================  ===============================================================
check id               passes when
=====================  ===============================================================
endpoint.smoke         one request through the serving contract (text/csv rows in, one
                       finite score per row out, inside ``score_range``) answers 200
endpoint.latency_p50   p50 of ``requests`` timed invocations <= ``latency_ms.p50_max``
endpoint.latency_p95   p95 (nearest rank) <= ``latency_ms.p95_max``
endpoint.error_rate    failed / timed invocations <= ``error_rate_max``
endpoint.data_capture  DescribeEndpoint shows capture on, Input and Output, sampling
                       >= ``data_capture.min_sampling_percentage``
endpoint.monitoring    a DataQuality job definition + schedule request built from the
                       package's DriftCheckBaselines.ModelDataQuality validates against
                       botocore's shapes (and is created when ``create`` is set)
=====================  ===============================================================

Every check has an outcome ``pass`` or ``fail`` and a reason; the report passes only when all do
(fail closed: an exception inside a check is a failed check). The report is the JSON document
``kind: endpoint`` (:meth:`EndpointReport.to_json`), what the evidence renders. It is recorded on
the package as ``clearance-endpoint:*`` tags (:func:`record_on_package`: AddTags leaves the
package's LastModifiedBy alone, which the deploy gate reads), and production promotion reads them
back (:func:`staging_passed`).

The invoker is a callable ``(body, content_type) -> (status, body)``: :func:`runtime_invoker` for
SageMaker (InvokeEndpoint), ``clearance_dev.endpoint.http_invoker`` for the local endpoint.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "EndpointPolicy",
    "EndpointReport",
    "http_invoker",
    "load_policy",
    "monitoring_requests",
    "record_on_package",
    "run_checks",
    "runtime_invoker",
    "staging_passed",
    "staging_report_passed",
]

KIND = "endpoint"
POLICY_FILE = Path(__file__).with_name("endpoint_policy.yaml")
TAG_PREFIX = "clearance-endpoint:"
PASS, FAIL = "pass", "fail"
CSV = "text/csv"
# Model Monitor's analyzer image account per region (the SageMaker SDK's model-monitor.json; a test
# checks these against the installed SDK). Other regions: pass monitor_image_uri.
MONITOR_ACCOUNTS = {
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-2": "159807026194",
    "eu-west-1": "468650794304",
    "eu-central-1": "048819808253",
}

Invoker = Callable[[bytes, str], tuple[int, bytes]]


class EndpointPolicyError(ValueError):
    """The endpoint policy file is invalid."""


@dataclass(frozen=True)
class EndpointPolicy:
    id: str
    version: str
    sha256: str
    requests: int
    rows_per_request: int
    p50_ms_max: float
    p95_ms_max: float
    error_rate_max: float
    score_range: tuple[float, float] | None
    capture_required: bool
    min_sampling_percentage: int
    monitoring_required: bool
    schedule_expression: str
    monitor_instance_type: str

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def _number(doc: Mapping[str, Any], path: str, low: float, high: float) -> float:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, bool) or not isinstance(node, int | float) or not low <= node <= high:
        raise EndpointPolicyError(f"{path}: {node!r} is not a number in [{low}, {high}]")
    return float(node)


def load_policy(path: Path | None = None) -> EndpointPolicy:
    """Read and validate the endpoint policy (default: the shipped endpoint_policy.yaml)."""
    import yaml

    raw = (path or POLICY_FILE).read_bytes()
    doc = yaml.safe_load(raw)
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise EndpointPolicyError(f"kind: must be {KIND!r}")
    score = doc.get("score_range")
    if score is not None and not (
        isinstance(score, list)
        and len(score) == 2
        and all(isinstance(v, int | float) for v in score)
    ):
        raise EndpointPolicyError("score_range: must be [low, high] or null")
    capture, monitoring = doc.get("data_capture") or {}, doc.get("monitoring") or {}
    return EndpointPolicy(
        id=str(doc.get("id") or ""),
        version=str(doc.get("version") or ""),
        sha256=hashlib.sha256(raw).hexdigest(),
        requests=int(_number(doc, "requests", 1, 100_000)),
        rows_per_request=int(_number(doc, "rows_per_request", 1, 10_000)),
        p50_ms_max=_number(doc, "latency_ms.p50_max", 0, 600_000),
        p95_ms_max=_number(doc, "latency_ms.p95_max", 0, 600_000),
        error_rate_max=_number(doc, "error_rate_max", 0, 1),
        score_range=(float(score[0]), float(score[1])) if score else None,
        capture_required=bool(capture.get("required", True)),
        min_sampling_percentage=int(_number(doc, "data_capture.min_sampling_percentage", 0, 100)),
        monitoring_required=bool(monitoring.get("required", True)),
        schedule_expression=str(monitoring.get("schedule_expression") or "cron(0 * ? * * *)"),
        monitor_instance_type=str(monitoring.get("instance_type") or "ml.m5.xlarge"),
    )


@dataclass
class EndpointReport:
    """The ``kind: endpoint`` report (JSON shape in :meth:`to_json`)."""

    endpoint_name: str
    model_package_arn: str
    stage: str
    policy: dict[str, Any]
    checks: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: dict[str, Any] = field(default_factory=dict)
    error_rate: dict[str, Any] = field(default_factory=dict)
    data_capture: dict[str, Any] = field(default_factory=dict)
    monitoring: dict[str, Any] = field(default_factory=dict)
    checked_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    @property
    def outcome(self) -> str:
        return PASS if self.checks and all(c["outcome"] == PASS for c in self.checks) else FAIL

    def check(self, check_id: str, passed: bool, reason: str, **measured: Any) -> None:
        self.checks.append(
            {"id": check_id, "outcome": PASS if passed else FAIL, "reason": reason, **measured}
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "schema_version": 1,
            "stage": self.stage,
            "endpoint_name": self.endpoint_name,
            "model_package_arn": self.model_package_arn,
            "policy": self.policy,
            "checked_at": self.checked_at,
            "outcome": self.outcome,
            "checks": self.checks,
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "data_capture": self.data_capture,
            "monitoring": self.monitoring,
        }


def runtime_invoker(runtime: Any, endpoint_name: str) -> Invoker:
    """InvokeEndpoint through a ``sagemaker-runtime`` client; an AWS error counts as a failure."""

    def invoke(body: bytes, content_type: str) -> tuple[int, bytes]:
        try:
            response = runtime.invoke_endpoint(
                EndpointName=endpoint_name, Body=body, ContentType=content_type, Accept=CSV
            )
        except Exception as exc:  # noqa: BLE001 - measured as an error, never a crash
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            return int(status or 599), str(exc).encode()[:500]
        return 200, response["Body"].read()

    return invoke


def http_invoker(url: str, accept: str = CSV, timeout_s: float = 10.0) -> Invoker:
    """POST /invocations on a container speaking the serving contract at ``url`` (the local
    endpoint, or a model container run by hand); an HTTP error status is returned, not raised."""
    import urllib.error
    import urllib.request

    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "https://")):
        raise ValueError(f"{url!r}: only https:// or a loopback http:// URL")

    def invoke(body: bytes, content_type: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{url}/invocations",
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "Accept": accept},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError as exc:
            return 599, str(exc).encode()[:300]

    return invoke


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (an observed value, no interpolation)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wilson(failures: int, n: int, z: float = 1.959964) -> dict[str, Any]:
    """The shared interval shape for a proportion (Wilson score, 95 %)."""
    p = failures / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"lower": max(0.0, centre - half), "upper": min(1.0, centre + half), "level": 0.95,
            "method": "wilson"}  # fmt: skip


def _answer_problem(status: int, body: bytes, rows: int, policy: EndpointPolicy) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:120].decode('utf-8', 'replace').strip()}"
    try:
        scores = [float(line) for line in body.decode("utf-8").split()]
    except (UnicodeDecodeError, ValueError):
        return "the answer is not one number per line"
    if len(scores) != rows:
        return f"{len(scores)} scores for {rows} rows"
    if not all(math.isfinite(s) for s in scores):
        return "a score is not finite"
    if policy.score_range and not all(
        policy.score_range[0] <= s <= policy.score_range[1] for s in scores
    ):
        return f"a score is outside {list(policy.score_range)}"
    return None


def _measure(report: EndpointReport, invoke: Invoker, rows: list[str], policy: EndpointPolicy):
    smoke_rows = rows[:10]
    status, body = invoke(("\n".join(smoke_rows) + "\n").encode(), CSV)
    problem = _answer_problem(status, body, len(smoke_rows), policy)
    report.check(
        "endpoint.smoke",
        problem is None,
        problem or f"{len(smoke_rows)} rows scored through text/csv",
        n=len(smoke_rows),
    )
    latencies, failures = [], 0
    k = policy.rows_per_request
    for i in range(policy.requests):
        start = (i * k) % len(rows)
        payload = ("\n".join((rows + rows)[start : start + k]) + "\n").encode()
        began = time.perf_counter()
        status, body = invoke(payload, CSV)
        latencies.append((time.perf_counter() - began) * 1000)
        failures += _answer_problem(status, body, k, policy) is not None
    n = len(latencies)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    report.latency_ms = {"p50": round(p50, 3), "p95": round(p95, 3),
                         "max": round(max(latencies), 3), "n": n}  # fmt: skip
    report.check("endpoint.latency_p50", p50 <= policy.p50_ms_max,
                 f"p50 {p50:.1f} ms against at most {policy.p50_ms_max:g} ms",
                 value=round(p50, 3), bounds={"max": policy.p50_ms_max}, n=n)  # fmt: skip
    report.check("endpoint.latency_p95", p95 <= policy.p95_ms_max,
                 f"p95 {p95:.1f} ms against at most {policy.p95_ms_max:g} ms",
                 value=round(p95, 3), bounds={"max": policy.p95_ms_max}, n=n)  # fmt: skip
    rate = failures / n
    report.error_rate = {"value": rate, "n": n, "interval": wilson(failures, n)}
    report.check("endpoint.error_rate", rate <= policy.error_rate_max,
                 f"{failures} of {n} invocations failed (at most {policy.error_rate_max:g})",
                 value=rate, bounds={"max": policy.error_rate_max}, n=n,
                 interval=report.error_rate["interval"])  # fmt: skip


def _check_capture(report: EndpointReport, described: Mapping[str, Any], policy: EndpointPolicy):
    capture = described.get("DataCaptureConfig") or {}
    report.data_capture = {
        "enabled": bool(capture.get("EnableCapture")),
        "sampling_percentage": capture.get("CurrentSamplingPercentage"),
        "destination": capture.get("DestinationS3Uri"),
    }
    options = {o.get("CaptureMode") for o in capture.get("CaptureOptions", [])}
    sampling = capture.get("CurrentSamplingPercentage") or 0
    problems = []
    if not capture.get("EnableCapture"):
        problems.append("data capture is off")
    if capture.get("CaptureOptions") is not None and not {"Input", "Output"} <= options:
        problems.append(f"captures {sorted(options)}, not Input and Output")
    if sampling < policy.min_sampling_percentage:
        problems.append(f"samples {sampling}% (at least {policy.min_sampling_percentage}%)")
    passed = not problems or not policy.capture_required
    reason = "; ".join(problems) or f"capturing Input and Output at {sampling}%"
    report.check("endpoint.data_capture", passed, reason)


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


def _check_monitoring(report: EndpointReport, sm: Any, requests: Any, create: bool, policy):
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


def run_checks(
    invoke: Invoker,
    rows: Sequence[str],
    described_endpoint: Mapping[str, Any],
    package: Mapping[str, Any],
    policy: EndpointPolicy,
    *,
    stage: str = "staging",
    monitoring: Mapping[str, Any] | None = None,
    sm: Any = None,
) -> EndpointReport:
    """All checks; ``monitoring`` holds role_arn, output_s3_uri, region[, monitor_image_uri,
    create] for the schedule. Never raises for endpoint or AWS problems."""
    report = EndpointReport(
        endpoint_name=str(described_endpoint.get("EndpointName")),
        model_package_arn=str(package.get("ModelPackageArn")),
        stage=stage,
        policy=policy.summary(),
    )
    rows = [r.strip() for r in rows if r.strip()]
    if not rows:
        report.check("endpoint.smoke", False, "no payload rows to send")
        return report
    try:
        _measure(report, invoke, rows, policy)
    except Exception as exc:  # noqa: BLE001
        report.check("endpoint.smoke", False, f"invoking failed: {str(exc)[:300]}")
    _check_capture(report, described_endpoint, policy)
    options = dict(monitoring or {})
    create = bool(options.pop("create", False))

    def requests() -> tuple[dict[str, Any], dict[str, Any]]:
        return monitoring_requests(
            report.endpoint_name, package.get("DriftCheckBaselines") or {}, policy=policy, **options
        )

    _check_monitoring(report, sm, requests, create, policy)
    return report


def package_tags(report: EndpointReport) -> list[dict[str, str]]:
    """The ``clearance-endpoint:*`` tags (values within the tag charset and 256 characters)."""
    failed = " ".join(c["id"] for c in report.checks if c["outcome"] != PASS) or "none"
    return [
        {"Key": f"{TAG_PREFIX}{report.stage}-outcome", "Value": report.outcome},
        {"Key": f"{TAG_PREFIX}{report.stage}-endpoint", "Value": report.endpoint_name[:256]},
        {"Key": f"{TAG_PREFIX}{report.stage}-p95-ms", "Value": str(report.latency_ms.get("p95"))},
        {"Key": f"{TAG_PREFIX}{report.stage}-failed", "Value": failed[:256]},
        {"Key": f"{TAG_PREFIX}{report.stage}-checked-at", "Value": report.checked_at},
        {
            "Key": f"{TAG_PREFIX}policy",
            "Value": f"{report.policy['id']}@{report.policy['version']}",
        },
    ]


def record_on_package(sm: Any, report: EndpointReport) -> list[dict[str, str]]:
    """Tag the package with the results (AddTags does not change LastModifiedBy)."""
    tags = package_tags(report)
    sm.add_tags(ResourceArn=report.model_package_arn, Tags=tags)
    return tags


def staging_report_passed(doc: Any, package_arn: str) -> tuple[bool, str]:
    """Production promotion's precondition from the TestStaging report (the pipeline artifact):
    a staging report of this package whose every check passed."""
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("stage") != "staging":
        return False, "the staging report is not a kind: endpoint, stage: staging document"
    if doc.get("model_package_arn") != package_arn:
        return False, f"the staging report is for {str(doc.get('model_package_arn'))[:160]}"
    checks = doc.get("checks") or []
    failed = [c.get("id") for c in checks if c.get("outcome") != PASS]
    if not checks or failed or doc.get("outcome") != PASS:
        return False, f"staging checks failed: {' '.join(map(str, failed)) or 'no checks'}"
    return True, f"staging checks passed ({doc.get('endpoint_name')})"


def staging_passed(sm: Any, package_arn: str) -> tuple[bool, str]:
    """Production promotion's precondition: the package's staging checks passed."""
    try:
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=package_arn)["Tags"]}
    except Exception as exc:  # noqa: BLE001
        return False, f"the package's tags cannot be read ({str(exc)[:200]})"
    outcome = tags.get(f"{TAG_PREFIX}staging-outcome")
    if outcome != PASS:
        failed = tags.get(f"{TAG_PREFIX}staging-failed", "")
        what = "no staging result" if outcome is None else f"staging checks failed: {failed}"
        return False, what
    return True, f"staging checks passed ({tags.get(f'{TAG_PREFIX}staging-endpoint')})"
