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
                       package's DriftCheckBaselines.ModelDataQuality, resolved to the
                       governance copies whose sha256 is each file's ContentDigest,
                       validates against botocore's shapes (and is created when
                       ``create`` is set); no digest or no matching copy: fail
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

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from clearance.deploy.baseline_copy import pin_data_quality_baseline
from clearance.deploy.monitoring import (
    MONITOR_ACCOUNTS,
    check_monitoring,
    monitoring_requests,
    request_problems,
)
from clearance.deploy.record import (
    package_tags,
    record_on_package,
    staging_passed,
    staging_report_passed,
)
from clearance.deploy.report import (
    CSV,
    FAIL,
    KIND,
    PASS,
    POLICY_FILE,
    TAG_PREFIX,
    EndpointPolicy,
    EndpointPolicyError,
    EndpointReport,
    Invoker,
    load_policy,
)

__all__ = [
    "CSV",
    "FAIL",
    "KIND",
    "MONITOR_ACCOUNTS",
    "PASS",
    "POLICY_FILE",
    "TAG_PREFIX",
    "EndpointPolicy",
    "EndpointPolicyError",
    "EndpointReport",
    "http_invoker",
    "load_policy",
    "monitoring_requests",
    "package_tags",
    "record_on_package",
    "request_problems",
    "run_checks",
    "runtime_invoker",
    "staging_passed",
    "staging_report_passed",
]


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
    s3: Any = None,
) -> EndpointReport:
    """All checks; ``monitoring`` holds role_arn, output_s3_uri, region, governance_bucket[,
    monitor_image_uri, create] for the schedule, whose baseline is the governance copy pinned by
    the package's ContentDigest (read with ``s3``; :mod:`clearance.deploy.baseline_copy`). Never
    raises for endpoint or AWS problems."""
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
    governance_bucket = options.pop("governance_bucket", None)
    pins: dict[str, dict[str, Any]] = {}

    def requests() -> tuple[dict[str, Any], dict[str, Any]]:
        # The schedule monitors with the approved bytes, never the team's (overwritable) object.
        baselines, pinned = pin_data_quality_baseline(
            s3,
            package.get("DriftCheckBaselines") or {},
            governance_bucket,
            package.get("ModelPackageGroupName"),
        )
        pins.update(pinned)
        return monitoring_requests(report.endpoint_name, baselines, policy=policy, **options)

    check_monitoring(report, sm, requests, create, policy)
    if report.monitoring and pins:
        report.monitoring["baseline_pinned"] = {
            name: {k: pin.get(k) for k in ("source", "sha256", "version_id")}
            for name, pin in pins.items()
        }
    return report
