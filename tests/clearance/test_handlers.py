"""Lambda handlers with realistic events (tests/events/): start-approval and copy-artifacts.

Finding pinned here: moto stores StartPipelineExecution's ClientRequestToken but does not
deduplicate on it (every call starts a new execution). The idempotency test therefore runs the
handler against ``IdempotentPipelines``, a thin wrapper over moto that implements the documented
token semantics, and separately pins moto's behaviour so nobody mistakes moto for the real thing.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from clearance import handlers
from clearance.handlers import copy_artifacts, start_approval
from clearance.handlers.copy_artifacts import CopyError, copy_records, destination_key
from clearance.handlers.start_approval import client_request_token, parse_event

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = REPO_ROOT / "tests" / "events"
PATTERN_FILE = REPO_ROOT / "src" / "clearance" / "patterns" / "model_package_pending.json"
DOCS_SAMPLE = (
    REPO_ROOT
    / "tests"
    / "fixtures"
    / "aws-formats"
    / "eventbridge-model-package-state-change"
    / "event.json"
)
PIPELINE = "clearance-approval"
POLICY_URI = "s3://governance-bucket/clearance-approval/policy/policy.yaml"
EXECUTION_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object the handlers touch."""

    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_name: str = "clearance-start-approval"


class IdempotentPipelines:
    """StartPipelineExecution with SageMaker's documented ClientRequestToken semantics, over moto.

    "A unique, case-sensitive identifier that you provide to ensure the idempotency of the
    operation. An idempotent operation completes no more than once." A repeated token with the
    same parameters returns the first execution; with different parameters it is an error (the
    error code here is this fake's choice; the handler never reuses a token that way).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._by_token: dict[str, tuple[dict[str, Any], str]] = {}
        self.calls: list[dict[str, Any]] = []

    def start_pipeline_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(kwargs))
        token = kwargs["ClientRequestToken"]
        if not 32 <= len(token) <= 128:  # botocore: IdempotencyToken min 32, max 128
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "bad token"}},
                "StartPipelineExecution",
            )
        if token in self._by_token:
            first, arn = self._by_token[token]
            if first != kwargs:
                raise ClientError(
                    {"Error": {"Code": "ValidationException", "Message": "token reused"}},
                    "StartPipelineExecution",
                )
            return {"PipelineExecutionArn": arn}
        response = self._client.start_pipeline_execution(**kwargs)
        self._by_token[token] = (copy.deepcopy(kwargs), response["PipelineExecutionArn"])
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class NoCalls:
    """A client that fails the test if any API is called."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected AWS call: {name}")


@pytest.fixture(scope="module")
def sagemaker() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn="arn:aws:iam::123456789012:role/service-role/clearance-approval",
        )
        yield client


def _executions(sm: Any) -> list[dict[str, Any]]:
    summaries = sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    return [
        sm.describe_pipeline_execution(PipelineExecutionArn=s["PipelineExecutionArn"])
        for s in summaries
    ]


# ------------------------------------------------------------------------------- start-approval


def test_pending_event_starts_one_execution_with_the_package_arn(sagemaker: Any) -> None:
    """The fixture event starts the pipeline with ModelPackageArn from detail and PolicyS3Uri."""
    event = _event("model_package_state_change_pending")
    fake = IdempotentPipelines(sagemaker)
    result = start_approval.start_approval(event, fake, PIPELINE, policy_s3_uri=POLICY_URI)
    assert result.action == "started"
    assert result.model_package_arn == event["detail"]["ModelPackageArn"]
    [call] = fake.calls
    assert call["PipelineName"] == PIPELINE
    assert call["PipelineParameters"] == [
        {"Name": "ModelPackageArn", "Value": event["detail"]["ModelPackageArn"]},
        {"Name": "PolicyS3Uri", "Value": POLICY_URI},
    ]
    assert call["ClientRequestToken"] == client_request_token(event["detail"]["ModelPackageArn"])
    assert call["PipelineExecutionDisplayName"] == "credit-risk-p-idy6c3e1fiqj-models-v3"
    assert EXECUTION_NAME.match(call["PipelineExecutionDisplayName"])
    assert call["PipelineExecutionDescription"].endswith(event["detail"]["ModelPackageArn"])
    arns = [e["PipelineExecutionArn"] for e in _executions(sagemaker)]
    assert result.execution_arn in arns


def test_same_event_delivered_five_times_starts_one_execution(sagemaker: Any) -> None:
    """At-least-once delivery: five deliveries, one token, one execution."""
    event = _event("model_package_state_change_pending")
    event["id"] = "5b0c8a14-2d7e-4c9b-8f31-0a1b2c3d4e5f"
    fake = IdempotentPipelines(sagemaker)
    before = len(_executions(sagemaker))
    results = [
        start_approval.start_approval(copy.deepcopy(event), fake, PIPELINE) for _ in range(5)
    ]
    assert len(_executions(sagemaker)) == before + 1
    assert {r.execution_arn for r in results} == {results[0].execution_arn}
    # The handler itself sends the same token (and the same request) every time.
    assert len(fake.calls) == 5 and all(call == fake.calls[0] for call in fake.calls)


def test_two_events_for_one_package_start_one_evaluation(sagemaker: Any) -> None:
    """Tokens derive from the package ARN: the same registration announced twice (the governance
    account's event and the team account's forwarded one, two ids) starts one execution, while a
    new registration (a new version) is evaluated again."""
    first = _event("model_package_state_change_pending")
    forwarded = copy.deepcopy(first) | {"id": "e2d4c6b8-1a3f-4e5d-9c7b-6a5f4e3d2c1b"}
    fake = IdempotentPipelines(sagemaker)
    a = start_approval.start_approval(first, fake, PIPELINE)
    b = start_approval.start_approval(forwarded, fake, PIPELINE)
    assert a.client_request_token == b.client_request_token
    assert a.execution_arn == b.execution_arn
    newer = copy.deepcopy(first)
    arn = newer["detail"]["ModelPackageArn"]
    newer["detail"]["ModelPackageArn"] = arn.rsplit("/", 1)[0] + "/999"
    c = start_approval.start_approval(newer, fake, PIPELINE)
    assert c.client_request_token != a.client_request_token
    assert c.execution_arn != a.execution_arn


def test_moto_does_not_deduplicate_client_request_tokens(sagemaker: Any) -> None:
    """Finding: moto starts a new execution per call even with the same token (real SageMaker
    does not). Pinned so the fake above stays necessary and honest."""
    token = client_request_token("moto-gap")
    before = len(_executions(sagemaker))
    for _ in range(2):
        sagemaker.start_pipeline_execution(
            PipelineName=PIPELINE,
            PipelineParameters=[{"Name": "ModelPackageArn", "Value": "x"}],
            ClientRequestToken=token,
        )
    assert len(_executions(sagemaker)) == before + 2


def test_token_fits_the_api_and_is_stable() -> None:
    """32-128 characters, deterministic per package ARN, different ARNs differ."""
    token = client_request_token("844e2571-85d4-695f-b930-0153b71dcb42")
    assert len(token) == 64 and re.fullmatch(r"[0-9a-f]{64}", token)
    assert token == client_request_token("844e2571-85d4-695f-b930-0153b71dcb42")
    assert token != client_request_token("844e2571-85d4-695f-b930-0153b71dcb43")
    assert len(client_request_token("x")) == len(client_request_token("y" * 10_000)) == 64


@pytest.mark.parametrize(
    "name, reason",
    [
        ("model_package_state_change_approved", "ModelApprovalStatus is 'Approved'"),
        ("model_package_state_change_rejected", "ModelApprovalStatus is 'Rejected'"),
    ],
)
def test_other_statuses_are_ignored(name: str, reason: str) -> None:
    """Decided packages (including our own updates' events) start nothing."""
    result = start_approval.start_approval(_event(name), NoCalls(), PIPELINE)
    assert (result.action, result.reason) == ("ignored", f"{reason}, not PendingManualApproval")


def test_docs_sample_with_duplicated_source_is_not_mistaken_for_a_real_event() -> None:
    """json.load keeps the sample's last `source` (a list): such an event is ignored, no crash."""
    sample = json.loads(DOCS_SAMPLE.read_text())
    assert sample["source"] == ["aws.sagemaker"]
    result = start_approval.start_approval(sample, NoCalls(), PIPELINE)
    assert result.action == "ignored" and "source is ['aws.sagemaker']" in result.reason


def _pending(**changes: Any) -> dict[str, Any]:
    event = _event("model_package_state_change_pending")
    for key, value in changes.items():
        if key.startswith("detail__"):
            event["detail"][key[8:]] = value
        else:
            event[key] = value
    return event


@pytest.mark.parametrize(
    "event, reason",
    [
        (["not", "an", "object"], "event is list, not a JSON object"),
        (None, "event is NoneType, not a JSON object"),
        (_pending(id=""), "event has no 'id'"),
        (_pending(detail="oops"), "event has no 'detail' object"),
        (_pending(detail__ModelPackageArn=None), "is not a model package ARN"),
        (_pending(detail__ModelPackageArn="arn:aws:s3:::bucket/key"), "is not a model package ARN"),
    ],
    ids=["list", "none", "empty-id", "detail-string", "no-arn", "wrong-arn"],
)
def test_malformed_events_are_logged_not_raised(
    event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed event returns 'malformed' with its reason, logs it as JSON, calls nothing."""
    result = start_approval.start_approval(event, NoCalls(), PIPELINE)
    assert result.action == "malformed" and reason in result.reason
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert json.loads(record.getMessage())["reason"] == result.reason


def test_parse_event_reads_group_and_version() -> None:
    """The parsed package carries what the display name uses."""
    package = parse_event(_event("model_package_state_change_pending"))
    assert (package.group, package.version) == ("credit-risk-p-idy6c3e1fiqj-models", 3)


def test_sagemaker_errors_propagate_for_retry(sagemaker: Any) -> None:
    """An API failure raises, so Lambda retries (the token makes the retry safe)."""
    with pytest.raises(ClientError):
        start_approval.start_approval(
            _event("model_package_state_change_pending"), sagemaker, "no-such-pipeline"
        )


def test_lambda_handler_reads_environment(sagemaker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """lambda_handler wires env and the module-scope client to the core."""
    fake = IdempotentPipelines(sagemaker)
    monkeypatch.setitem(handlers.CLIENTS, "sagemaker", fake)
    monkeypatch.setenv("PIPELINE_NAME", PIPELINE)
    monkeypatch.setenv("POLICY_S3_URI", POLICY_URI)
    out = start_approval.lambda_handler(
        _pending(id="0f0e0d0c-0b0a-4909-8807-060504030201"), FakeLambdaContext()
    )
    assert out["action"] == "started" and out["execution_arn"].startswith("arn:aws:sagemaker:")
    assert fake.calls[0]["PipelineParameters"][1] == {"Name": "PolicyS3Uri", "Value": POLICY_URI}
    monkeypatch.delenv("PIPELINE_NAME")
    with pytest.raises(RuntimeError, match="PIPELINE_NAME is not set"):
        start_approval.lambda_handler(_pending(), FakeLambdaContext())


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for the subset the pattern file uses (exact values, nested fields)."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and _matches(sub, event[key]) for key, sub in pattern.items()
        )
    return event in pattern


def test_pattern_file_selects_pending_registrations_only() -> None:
    """The shared pattern matches the pending fixture and no decided one (moto's
    test_event_pattern is a stub, so the subset is matched here; servicecatalog tests route
    real events through moto's server)."""
    pattern = json.loads(PATTERN_FILE.read_text())
    assert pattern == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelApprovalStatus": ["PendingManualApproval"]},
    }
    assert _matches(pattern, _event("model_package_state_change_pending"))
    assert not _matches(pattern, _event("model_package_state_change_approved"))
    assert not _matches(pattern, _event("model_package_state_change_rejected"))


# ------------------------------------------------------------------------------ copy-artifacts

TEAM = "sagemaker-project-p-idy6c3e1fiqj"
GOVERNANCE = "clearance-governance-123456789012"
BODY = b'{"version": "1.0", "post_training_bias_metrics": {}}\n'
DECODED_KEY = "credit-risk/reports/model_bias/analysis (v3) + notes.json"


class CountingS3:
    """Counts copy_object calls; optionally lies about the copy's checksum."""

    def __init__(self, client: Any, wrong_checksum: bool = False) -> None:
        self._client = client
        self.copies = 0
        self.wrong_checksum = wrong_checksum

    def copy_object(self, **kwargs: Any) -> Any:
        self.copies += 1
        response = self._client.copy_object(**kwargs)
        if self.wrong_checksum:
            response["CopyObjectResult"]["ChecksumSHA256"] = base64.b64encode(b"0" * 32).decode()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def s3() -> Iterator[tuple[Any, str]]:
    # Nested inside the module's mock (the sagemaker fixture), moto keeps state between tests:
    # start every test from empty buckets.
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (TEAM, GOVERNANCE):
            if bucket in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                    client.delete_object(Bucket=bucket, Key=obj["Key"])
            else:
                client.create_bucket(Bucket=bucket)
        key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
        client.put_object(Bucket=TEAM, Key=DECODED_KEY, Body=BODY)
        yield client, key_id


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_put_event_copies_url_decoded_key_encrypted_and_verified(s3: tuple[Any, str]) -> None:
    """The fixture's encoded key ('+' for space, %2B, %28) lands at a deterministic key, SSE-KMS,
    with the copy's SHA-256 equal to the source's and the source recorded in metadata."""
    client, key_id = s3
    event = _event("s3_object_created_put")
    [result] = copy_records(event, client, GOVERNANCE, kms_key_id=key_id)
    dest = f"artifacts/{TEAM}/{DECODED_KEY}/null"
    assert result.action == "copied" and result.destination == f"s3://{GOVERNANCE}/{dest}"
    head = client.head_object(Bucket=GOVERNANCE, Key=dest, ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]
    assert head["ChecksumSHA256"] == _sha256_b64(BODY) == result.sha256
    assert head["Metadata"]["source-bucket"] == TEAM
    assert head["Metadata"]["source-etag"] == event["Records"][0]["s3"]["object"]["eTag"]
    assert client.get_object(Bucket=GOVERNANCE, Key=dest)["Body"].read() == BODY


def test_same_put_delivered_five_times_copies_once(s3: tuple[Any, str]) -> None:
    """Idempotent: after the first copy, redeliveries find a verified copy and do nothing."""
    client, key_id = s3
    counting = CountingS3(client)
    event = _event("s3_object_created_put")
    actions = [
        copy_records(event, counting, GOVERNANCE, kms_key_id=key_id)[0].action for _ in range(5)
    ]
    assert actions == ["copied"] + ["already-copied"] * 4
    assert counting.copies == 1


def test_without_kms_key_the_copy_uses_sse_s3(s3: tuple[Any, str]) -> None:
    """No KMS key configured: AES256 server-side encryption, never unencrypted."""
    client, _ = s3
    copy_records(_event("s3_object_created_put"), client, GOVERNANCE, prefix="")
    head = client.head_object(Bucket=GOVERNANCE, Key=f"{TEAM}/{DECODED_KEY}/null")
    assert head["ServerSideEncryption"] == "AES256"


def test_checksum_mismatch_fails_the_invocation(s3: tuple[Any, str]) -> None:
    """A copy whose checksum differs from the source raises (Lambda retries, then dead-letters)."""
    client, key_id = s3
    with pytest.raises(CopyError, match="checksum mismatch"):
        copy_records(
            _event("s3_object_created_put"),
            CountingS3(client, wrong_checksum=True),
            GOVERNANCE,
            kms_key_id=key_id,
        )


def test_source_overwritten_since_the_event_is_skipped(s3: tuple[Any, str]) -> None:
    """The copy is pinned to the announced ETag; a newer version waits for its own event."""
    client, key_id = s3
    client.put_object(Bucket=TEAM, Key=DECODED_KEY, Body=BODY + b"changed")
    [result] = copy_records(_event("s3_object_created_put"), client, GOVERNANCE, kms_key_id=key_id)
    assert result.action == "skipped" and "changed or disappeared" in result.reason
    assert "Contents" not in client.list_objects_v2(Bucket=GOVERNANCE)


def test_records_that_are_not_ours_or_malformed(s3: tuple[Any, str]) -> None:
    """Deletes are skipped, malformed records reported, the governance bucket never copied."""
    client, _ = s3
    put = _event("s3_object_created_put")["Records"][0]
    delete = copy.deepcopy(put) | {"eventName": "ObjectRemoved:Delete"}
    no_key = copy.deepcopy(put)
    del no_key["s3"]["object"]["key"]
    own = copy.deepcopy(put)
    own["s3"]["bucket"]["name"] = GOVERNANCE
    results = copy_records({"Records": [delete, no_key, own]}, NoCalls(), GOVERNANCE)
    assert [r.action for r in results] == ["skipped", "malformed", "skipped"]
    assert results[1].reason == "record has no s3.object.key"
    assert copy_records({"detail": {}}, NoCalls(), GOVERNANCE)[0].action == "malformed"


def test_destination_key_is_deterministic() -> None:
    """<prefix>/<bucket>/<key>/<version>, tolerant of slashes in the prefix."""
    assert destination_key("artifacts/", "b", "a/b.json") == "artifacts/b/a/b.json/null"
    assert destination_key("", "b", "k", "v1") == "b/k/v1"
    with pytest.raises(ValueError, match="not an S3 version id"):
        destination_key("", "b", "k", "../x")


def test_copy_lambda_handler_reads_environment(
    s3: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOVERNANCE_BUCKET, KMS_KEY_ID and ARTIFACT_PREFIX come from the environment."""
    client, key_id = s3
    monkeypatch.setitem(handlers.CLIENTS, "s3", client)
    monkeypatch.setenv("GOVERNANCE_BUCKET", GOVERNANCE)
    monkeypatch.setenv("KMS_KEY_ID", key_id)
    monkeypatch.setenv("ARTIFACT_PREFIX", "evidence")
    # The fixture's bucket is not named like a team artifact bucket: allow it here.
    monkeypatch.setenv("TEAM_BUCKETS_ONLY", "false")
    out = copy_artifacts.lambda_handler(_event("s3_object_created_put"), FakeLambdaContext())
    assert (
        out["results"][0]["destination"] == f"s3://{GOVERNANCE}/evidence/{TEAM}/{DECODED_KEY}/null"
    )
    monkeypatch.delenv("GOVERNANCE_BUCKET")
    with pytest.raises(RuntimeError, match="GOVERNANCE_BUCKET is not set"):
        copy_artifacts.lambda_handler(_event("s3_object_created_put"), FakeLambdaContext())
