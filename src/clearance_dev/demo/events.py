"""Stage: each registration's state-change event on the stand-in's EventBridge, routed to the
start-approval handler."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clearance
from clearance.handlers.start_approval import start_approval
from clearance_dev.demo.common import EVENT_DETAIL_TYPE, EVENT_SOURCE, DemoError
from clearance_dev.demo.register import _jsonable


def state_change_event(described: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    """The EventBridge event SageMaker emits for a package, from its describe_model_package.

    Shape of the documented sample (reference-formats/eventbridge-model-package-state-change),
    with the real string ``source`` (the documented sample repeats the key as a list).
    """
    detail = _jsonable(dict(described))
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [described["ModelPackageArn"]],
        "detail": detail,
    }


EVENT_RULE = "clearance-model-package-pending"
EVENT_QUEUE = "clearance-approval-events"


def pending_pattern() -> str:
    """The shared EventBridge pattern (the same file the CloudFormation embeds)."""
    path = Path(clearance.__file__).resolve().parent / "patterns" / "model_package_pending.json"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"event pattern: cannot read {path} ({exc.strerror})") from None


def route_pending_events(events: Any, sqs: Any) -> str:
    """An EventBridge rule with the shared pattern on the stand-in, delivering to a queue.

    The governance product targets the start-approval Lambda; the stand-in runs no Lambda, so the
    rule's target is a queue the demo drains into the handler's core. Only events the pattern
    matches reach the handler, exactly as in the account.
    """
    queue_url = sqs.create_queue(QueueName=EVENT_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=EVENT_RULE, EventPattern=pending_pattern(), State="ENABLED")
    events.put_targets(Rule=EVENT_RULE, Targets=[{"Id": "start-approval", "Arn": queue_arn}])
    return queue_url


def emit_state_change(events: Any, described: Mapping[str, Any]) -> None:
    """Play SageMaker: emit the package's state-change event on the default bus.

    (A real account does not let anyone but SageMaker put ``aws.sagemaker`` events; the stand-in
    does, which is what lets the rule's pattern be exercised here.)
    """
    detail = _jsonable(dict(described))
    response = events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "Resources": [described["ModelPackageArn"]],
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise DemoError(f"EventBridge: put_events failed: {response.get('Entries')}")


def receive_events(sqs: Any, queue_url: str, expected: int, timeout_s: float = 20) -> list[dict]:
    """Drain the rule's queue until ``expected`` events arrived (bounded wait)."""
    received: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while len(received) < expected and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in response.get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    if len(received) != expected:
        raise DemoError(
            f"EventBridge: {len(received)} of {expected} events matched the rule's pattern "
            f"({EVENT_RULE}); check src/clearance/patterns/model_package_pending.json"
        )
    return received


def deliver_event(event: Mapping[str, Any], sm: Any, pipeline_name: str, **kwargs: Any) -> Any:
    """Hand the event to the start-approval handler's core, as the Lambda would (``account``:
    the registry's account, as the Lambda's ACCOUNT_ID)."""

    return start_approval(dict(event), sm, pipeline_name, **kwargs)


# ------------------------------------------------------------------------ local pipeline runner
