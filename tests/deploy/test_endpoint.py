"""The local endpoint, the staging endpoint checks against it, and rollback on the stand-in."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

import boto3
import botocore.session
import numpy as np
import pytest
from botocore.validate import ParamValidator

from clearance.deploy import endpoint_checks as ec
from clearance_dev.deploy_stack import deploy_stage, load_stage_parameters
from clearance_dev.endpoint import LocalEndpoint, ModelError, http_invoker, ping

from .conftest import (
    BASELINE_COPIES,
    DRIFT,
    GOV_BUCKET,
    GROUP,
    World,
    baseline_s3,
    rows_of,
)


def test_endpoint_serves_the_artifact(artifact) -> None:
    path, x, expected = artifact
    with LocalEndpoint(path) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:")
        assert ping(endpoint.url) == 200
        status, body = http_invoker(endpoint.url)("\n".join(rows_of(x[:10])).encode(), "text/csv")
        assert status == 200
        got = np.array([float(v) for v in body.split()])
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        status, body = http_invoker(endpoint.url, accept="application/json")(
            rows_of(x[:2])[0].encode(), "text/csv"
        )
        assert json.loads(body)["predictions"][0]["score"] == pytest.approx(float(expected[0]))
        url = endpoint.url
    assert ping(url) == 0  # stopped with the block


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"1,2,3,4,5\n", "application/json", 415),
        (b"1,2,3\n", "text/csv", 400),
        (b"1,2,x,4,5\n", "text/csv", 400),
        (b"1,2,nan,4,5\n", "text/csv", 400),
        (b"\n", "text/csv", 400),
    ],
)
def test_endpoint_refuses_bad_requests(artifact, body: bytes, content_type: str, status: int):
    with LocalEndpoint(artifact[0]) as endpoint:
        assert http_invoker(endpoint.url)(body, content_type)[0] == status


def test_endpoint_stops_itself_when_idle(artifact) -> None:
    endpoint = LocalEndpoint(artifact[0], idle_timeout_s=0.3)
    endpoint.start()
    deadline = time.monotonic() + 10
    while endpoint.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not endpoint.running and "idle" in endpoint.stop_reason
    endpoint.stop()


def test_endpoint_refuses_a_non_model(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("something-else")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ModelError, match="xgboost-model"):
        LocalEndpoint(bad).start()


# ---------------------------------------------------------------------------- endpoint checks
def _described(sampling: int = 20, enabled: bool = True) -> dict:
    return {
        "EndpointName": "credit-risk-staging",
        "DataCaptureConfig": {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": sampling,
            "DestinationS3Uri": "s3://b/capture",
        },
    }


PACKAGE = {
    "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:222222222222:model-package/{GROUP}/1",
    "ModelPackageGroupName": GROUP,
    "DriftCheckBaselines": DRIFT,
}
MONITORING = {
    "role_arn": "arn:aws:iam::111111111111:role/monitor",
    "output_s3_uri": "s3://b/monitoring",
    "region": "us-east-1",
    "governance_bucket": GOV_BUCKET,
}
SCHEDULE = {k: v for k, v in MONITORING.items() if k != "governance_bucket"}
COPY_URIS = {name.lower(): f"s3://{GOV_BUCKET}/{key}" for name, key in BASELINE_COPIES.items()}


def _policy(**changes) -> ec.EndpointPolicy:
    import dataclasses

    return dataclasses.replace(ec.load_policy(), requests=40, **changes)


def test_checks_pass_on_the_local_endpoint(artifact) -> None:
    path, x, _ = artifact
    with LocalEndpoint(path) as endpoint:
        report = ec.run_checks(
            http_invoker(endpoint.url), rows_of(x), _described(), PACKAGE, _policy(),
            monitoring=MONITORING, s3=baseline_s3(),
        )  # fmt: skip
    doc = report.to_json()
    assert doc["outcome"] == "pass", [c for c in doc["checks"] if c["outcome"] != "pass"]
    assert [c["id"] for c in doc["checks"]] == [
        "endpoint.smoke",
        "endpoint.latency_p50",
        "endpoint.latency_p95",
        "endpoint.error_rate",
        "endpoint.data_capture",
        "endpoint.monitoring",
    ]
    assert doc["latency_ms"]["n"] == 40 and 0 < doc["latency_ms"]["p50"] <= doc["latency_ms"]["p95"]
    assert doc["error_rate"]["value"] == 0 and doc["error_rate"]["interval"]["method"] == "wilson"
    # The schedule monitors with the governance copies the registered digests pin.
    assert doc["monitoring"]["baseline"] == COPY_URIS
    pinned = doc["monitoring"]["baseline_pinned"]
    assert pinned["constraints"]["sha256"] == DRIFT["ModelDataQuality"]["Constraints"][
        "ContentDigest"
    ].removeprefix("sha256:")
    assert pinned["statistics"]["source"] == DRIFT["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc


def test_tight_latency_bound_fails_with_the_figure(artifact) -> None:
    path, x, _ = artifact
    with LocalEndpoint(path) as endpoint:
        report = ec.run_checks(
            http_invoker(endpoint.url), rows_of(x), _described(), PACKAGE,
            _policy(p95_ms_max=0.0), monitoring=MONITORING, s3=baseline_s3(),
        )  # fmt: skip
    failed = [c for c in report.checks if c["outcome"] == "fail"]
    assert [c["id"] for c in failed] == ["endpoint.latency_p95"] and report.outcome == "fail"
    assert "ms against at most 0 ms" in failed[0]["reason"]


def test_errors_count_against_the_error_rate(artifact) -> None:
    path, x, _ = artifact
    calls = []

    def flaky(body: bytes, content_type: str):
        calls.append(1)
        return (500, b"boom") if len(calls) % 10 == 0 else (200, b"0.5\n" * body.count(b"\n"))

    report = ec.run_checks(
        flaky, rows_of(x), _described(), PACKAGE, _policy(), monitoring=MONITORING, s3=baseline_s3()
    )
    rate = next(c for c in report.checks if c["id"] == "endpoint.error_rate")
    assert rate["outcome"] == "fail" and rate["value"] == pytest.approx(4 / 40)


@pytest.mark.parametrize(
    ("described", "problem"),
    [(_described(enabled=False), "data capture is off"), (_described(sampling=5), "samples 5%")],
)
def test_data_capture_must_be_on(artifact, described, problem) -> None:
    report = ec.run_checks(
        lambda b, t: (200, b"0.5\n" * b.count(b"\n")), rows_of(artifact[1]), described, PACKAGE,
        _policy(), monitoring=MONITORING, s3=baseline_s3(),
    )  # fmt: skip
    check = next(c for c in report.checks if c["id"] == "endpoint.data_capture")
    assert check["outcome"] == "fail" and problem in check["reason"]


def test_monitoring_needs_the_data_quality_baseline() -> None:
    package = {**PACKAGE, "DriftCheckBaselines": {}}
    report = ec.run_checks(
        lambda b, t: (200, b"0.5\n" * b.count(b"\n")), ["1,2,3,4,5"], _described(), package,
        _policy(), monitoring=MONITORING, s3=baseline_s3(),
    )  # fmt: skip
    check = next(c for c in report.checks if c["id"] == "endpoint.monitoring")
    assert check["outcome"] == "fail" and "ModelDataQuality" in check["reason"]


def _monitoring(package=PACKAGE, s3=None, **monitoring) -> dict:
    report = ec.run_checks(
        lambda b, t: (200, b"0.5\n" * b.count(b"\n")), ["1,2,3,4,5"], _described(), package,
        _policy(), monitoring={**MONITORING, **monitoring}, s3=s3 or baseline_s3(),
    )  # fmt: skip
    doc = report.to_json()
    return {**doc, **next(c for c in doc["checks"] if c["id"] == "endpoint.monitoring")}


# A constraints.json that monitors nothing: what a team would write to make monitoring toothless.
PERMISSIVE = b'{"version": 0.0, "features": [], "monitoring_config": {"emit_metrics": false}}'


def test_swapped_team_baseline_still_monitors_with_the_approved_copy() -> None:
    """The team loosens constraints.json after the approval; copy-artifacts copies the new version
    next to the approved one. The schedule is still built from the copy with the registered
    sha256, never from the team's object or the newer copy."""
    s3 = baseline_s3()
    newer = BASELINE_COPIES["Constraints"].rsplit("/", 1)[0] + "/team-v2"
    s3.objects[(GOV_BUCKET, newer)] = PERMISSIVE
    check = _monitoring(s3=s3)
    assert check["outcome"] == "pass", check["reason"]
    assert check["monitoring"]["baseline"]["constraints"] == COPY_URIS["constraints"]
    assert newer not in json.dumps(check["monitoring"])
    assert set(s3.calls) == {"ListObjectsV2", "GetObject"}


def test_swapped_baseline_without_the_approved_copy_fails_closed() -> None:
    """Only the loosened bytes exist in the governance bucket: no copy has the registered
    digest, so there is no schedule and the check fails with one line saying why."""
    check = _monitoring(s3=baseline_s3(Constraints=PERMISSIVE))
    assert check["outcome"] == "fail"
    assert "no governance copy" in check["reason"] and "ContentDigest" in check["reason"]
    assert "\n" not in check["reason"] and not check["monitoring"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("no-digest", "has no ContentDigest"),
        ("bad-digest", "is not 'sha256:<64 hex digits>'"),
        ("no-bucket", "no governance bucket"),
        ("other-project", "not in the project's own bucket"),
        ("unreadable", "cannot list the governance copies"),
        ("not-json", "is not JSON"),
    ],
)
def test_baseline_that_cannot_be_pinned_fails_closed(change: str, reason: str) -> None:
    quality = {k: dict(v) for k, v in DRIFT["ModelDataQuality"].items()}
    s3, monitoring = baseline_s3(), {}
    if change == "no-digest":
        del quality["Statistics"]["ContentDigest"]
    elif change == "bad-digest":
        quality["Statistics"]["ContentDigest"] = "md5:abc"
    elif change == "no-bucket":
        monitoring["governance_bucket"] = None
    elif change == "other-project":
        quality["Constraints"]["S3Uri"] = "s3://sagemaker-p-other-111111111111-artifacts/c.json"
    elif change == "unreadable":
        s3.list_objects_v2 = lambda **_: (_ for _ in ()).throw(RuntimeError("AccessDenied"))
    elif change == "not-json":
        s3 = baseline_s3(Statistics=b"not json")
        quality["Statistics"]["ContentDigest"] = f"sha256:{hashlib.sha256(b'not json').hexdigest()}"
    package = {**PACKAGE, "DriftCheckBaselines": {"ModelDataQuality": quality}}
    check = _monitoring(package, s3, **monitoring)
    assert check["outcome"] == "fail" and reason in check["reason"], check["reason"]
    assert not check["monitoring"] and "\n" not in check["reason"]


def test_monitoring_requests_validate_against_botocore() -> None:
    definition, schedule = ec.monitoring_requests(
        "credit-risk-staging", DRIFT, policy=ec.load_policy(), **SCHEDULE
    )
    assert ec.request_problems("CreateDataQualityJobDefinition", definition) == []
    assert ec.request_problems("CreateMonitoringSchedule", schedule) == []
    bad = {**definition, "RoleArn": "not-a-role"}
    assert ec.request_problems("CreateDataQualityJobDefinition", bad)


def test_monitor_image_accounts_match_the_sdk() -> None:
    import sagemaker.core

    config = Path(sagemaker.core.__file__).parent / "image_uri_config" / "model-monitor.json"
    registries = json.loads(config.read_text())["versions"][""]["registries"]
    assert ec.MONITOR_ACCOUNTS == registries  # every region the SDK knows, none invented


def test_monitor_image_is_the_sdks_in_every_region() -> None:
    """The deploy CodeBuild has no SDK: our copy must give the image the SDK would, per partition
    (commercial, China's amazonaws.com.cn, ISO-F's csp.hci.ic.gov)."""
    from sagemaker.core import image_uris

    from clearance.deploy.monitoring import monitor_image

    for region in ec.MONITOR_ACCOUNTS:
        assert monitor_image(region) == image_uris.retrieve("model-monitor", region=region), region
    with pytest.raises(ValueError, match="no Model Monitor image known for mars-east-1"):
        monitor_image("mars-east-1")


def test_policy_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("kind: endpoint\nrequests: 0\n")
    with pytest.raises(ec.EndpointPolicyError, match="requests"):
        ec.load_policy(bad)
    bad.write_text("kind: tabular\n")
    with pytest.raises(ec.EndpointPolicyError, match="kind"):
        ec.load_policy(bad)


# ------------------------------------------------------------------ record, promote, rollback
def test_results_recorded_as_tags_keep_the_gate_signal(world: World, artifact) -> None:
    from clearance.deploy.gate import check_package

    arn = world.register(drift=DRIFT)
    world.approve(arn)
    report = ec.EndpointReport("credit-risk-staging", arn, "staging", ec.load_policy().summary())
    report.check("endpoint.smoke", True, "ok")
    report.latency_ms = {"p95": 3.2}
    assert ec.staging_passed(world.gov_sm, arn) == (False, "no staging result")
    ec.record_on_package(world.gov_sm, report)
    assert ec.staging_passed(world.gov_sm, arn)[0]
    assert check_package(world.reader_sm, world.reader_s3, arn, world.config).allowed
    report.check("endpoint.latency_p95", False, "slow")
    ec.record_on_package(world.gov_sm, report)
    passed, reason = ec.staging_passed(world.gov_sm, arn)
    assert not passed and "endpoint.latency_p95" in reason
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("TagList")
    assert not ParamValidator().validate(ec.package_tags(report), shape).has_errors()


STAGE = {
    "StageName": "prod",
    "EndpointInstanceType": "ml.m5.large",
    "EndpointInstanceCount": "2",
    "EnableDataCapture": "true",
    "SamplingPercentage": "20",
}
FACTS = {"image": "img", "model_copy": {"s3_uri": "s3://gov/artifacts/b/model.tar.gz/v1"}}


def _deploy(sm, build_id: str, **kwargs):
    return deploy_stage(
        sm, STAGE, project="credit-risk", build_id=build_id, facts=FACTS,
        role_arn="arn:aws:iam::111111111111:role/x", capture_uri="s3://b/capture", **kwargs,
    )  # fmt: skip


def test_failed_prod_update_leaves_the_previous_endpoint_serving(world: World) -> None:
    sm = world.gov_sm
    first = _deploy(sm, "b1")
    assert first.status == "created"
    second = _deploy(sm, "b2", fail_update=True)
    assert second.status == "rolled-back" and second.endpoint_config == first.endpoint_config
    described = sm.describe_endpoint(EndpointName=first.endpoint_name)
    assert described["EndpointConfigName"] == first.endpoint_config
    assert described["EndpointStatus"] == "InService"
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    assert configs == [first.endpoint_config]  # the failed update's config was rolled back
    third = _deploy(sm, "b3")
    assert third.status == "updated" and third.previous_config == first.endpoint_config
    assert sm.describe_endpoint(EndpointName=first.endpoint_name)["EndpointConfigName"] == (
        third.endpoint_config
    )


def test_failed_staging_check_blocks_promotion(world: World) -> None:
    sm = world.gov_sm
    prod = _deploy(sm, "b1")
    arn = world.register(drift=DRIFT)
    world.approve(arn)
    report = ec.EndpointReport("credit-risk-staging", arn, "staging", ec.load_policy().summary())
    report.check("endpoint.error_rate", False, "3 of 200 failed")
    ec.record_on_package(sm, report)
    passed, reason = ec.staging_passed(sm, arn)
    assert not passed and "endpoint.error_rate" in reason
    # The pipeline stops before production: the production endpoint is as it was.
    assert sm.describe_endpoint(EndpointName=prod.endpoint_name)["EndpointConfigName"] == (
        prod.endpoint_config
    )


def test_shimmed_describe_endpoint_matches_botocore(world: World) -> None:
    first = _deploy(world.gov_sm, "b1")
    described = world.gov_sm.describe_endpoint(EndpointName=first.endpoint_name)
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.shape_for("DataCaptureConfigSummary")
    capture = described["DataCaptureConfig"]
    assert not ParamValidator().validate(capture, shape).has_errors()
    assert capture["CurrentSamplingPercentage"] == 20


def test_team_stage_configs_load(tmp_path: Path) -> None:
    path = tmp_path / "prod-config.json"
    path.write_text(json.dumps({"Parameters": STAGE}))
    assert load_stage_parameters(path) == STAGE
    path.write_text(json.dumps({"Parameters": {"EndpointInstanceCount": 2}}))
    with pytest.raises(ValueError, match="Parameters"):
        load_stage_parameters(path)


def test_runtime_invoker_counts_aws_errors() -> None:
    class Runtime:
        def invoke_endpoint(self, **kwargs):
            raise boto3.client("sagemaker-runtime", region_name="us-east-1").exceptions.ModelError(
                {"Error": {"Code": "ModelError"}, "ResponseMetadata": {"HTTPStatusCode": 424}},
                "InvokeEndpoint",
            )

    assert ec.runtime_invoker(Runtime(), "e")(b"1\n", "text/csv")[0] == 424
