"""The EventBridge pattern matches PendingManualApproval registrations and nothing else.

moto's ``test_event_pattern`` is a stub (it answers True for everything), so these tests route real
``put_events`` calls through a rule with the pattern to an SQS target on moto's server, and read
what arrived. The non-matching events prove the matching is real.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sc_helpers import PATTERN_FILE, REPO_ROOT, load_template

from clearance_dev.standin import LocalAWS

EVENT_SAMPLE = (
    REPO_ROOT
    / "tests"
    / "fixtures"
    / "aws-formats"
    / "eventbridge-model-package-state-change"
    / "event.json"
)
GROUP = "credit-risk-p-idy6c3e1fiqj"


def _registration(status: str, group: str = GROUP, version: int = 1) -> dict[str, Any]:
    """A state-change event shaped like the documented sample, with the given status."""
    # json.load keeps the doc sample's second (list-valued) "source"; real events carry the string.
    sample = json.loads(EVENT_SAMPLE.read_text(encoding="utf-8"))
    detail = copy.deepcopy(sample["detail"])
    detail["ModelApprovalStatus"] = status
    detail["ModelPackageGroupName"] = group
    detail["ModelPackageVersion"] = version
    detail["ModelPackageArn"] = (
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
    )
    return {
        "Source": "aws.sagemaker",
        "DetailType": sample["detail-type"],
        "Resources": [detail["ModelPackageArn"]],
        "Detail": json.dumps(detail),
    }


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS(region="us-east-1") as local:
        yield local


def _delivered(aws: LocalAWS, pattern: dict[str, Any], events: list[dict[str, Any]]) -> list[Any]:
    """Put the events through a rule with ``pattern``; return the details the SQS target got."""
    events_client, sqs = aws.client("events"), aws.client("sqs")
    name = f"pattern-{abs(hash(json.dumps(pattern, sort_keys=True))) % 10**8}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events_client.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events_client.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    try:
        result = events_client.put_events(Entries=events)
        assert result["FailedEntryCount"] == 0
        received = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                break
            received.extend(json.loads(m["Body"])["detail"] for m in batch)
        return received
    finally:
        events_client.remove_targets(Rule=name, Ids=["queue"])
        events_client.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)


def _shared_pattern() -> dict[str, Any]:
    if not PATTERN_FILE.is_file():
        pytest.fail(f"{PATTERN_FILE.relative_to(REPO_ROOT)} is missing (APPROVAL-CORE ships it)")
    return json.loads(PATTERN_FILE.read_text(encoding="utf-8"))


def test_shared_pattern_delivers_pending_and_not_decided_packages(aws: LocalAWS) -> None:
    """Pending is delivered; Approved and Rejected (the approval's own updates) are not."""
    received = _delivered(
        aws,
        _shared_pattern(),
        [
            _registration("Approved", version=1),
            _registration("PendingManualApproval", version=2),
            _registration("Rejected", version=3),
        ],
    )
    assert [(d["ModelPackageVersion"], d["ModelApprovalStatus"]) for d in received] == [
        (2, "PendingManualApproval")
    ]


def test_shared_pattern_ignores_other_sources(aws: LocalAWS) -> None:
    """The same detail from another source or detail-type starts nothing."""
    spoofed = _registration("PendingManualApproval")
    spoofed["Source"] = "my.app"
    other_type = _registration("PendingManualApproval")
    other_type["DetailType"] = "SageMaker Model Package Group State Change"
    assert _delivered(aws, _shared_pattern(), [spoofed, other_type]) == []


def test_team_forwarding_pattern_keeps_to_its_own_group(aws: LocalAWS) -> None:
    """The team rule (shared pattern + its group) forwards its own pending packages only."""
    rule = load_template(REPO_ROOT / "servicecatalog" / "model-build-product.yaml")["Resources"][
        "ForwardPendingPackagesRule"
    ]
    pattern = json.loads(json.dumps(rule["Properties"]["EventPattern"]))
    pattern["detail"]["ModelPackageGroupName"] = [GROUP]
    received = _delivered(
        aws,
        pattern,
        [
            _registration("PendingManualApproval", group=GROUP, version=1),
            _registration("PendingManualApproval", group="another-team-mpg", version=2),
            _registration("Approved", group=GROUP, version=3),
        ],
    )
    assert [(d["ModelPackageGroupName"], d["ModelPackageVersion"]) for d in received] == [
        (GROUP, 1)
    ]
