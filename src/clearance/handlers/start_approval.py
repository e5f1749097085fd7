"""start-approval Lambda: a model package registered as PendingManualApproval starts the approval
pipeline for exactly that package.

EventBridge delivers "SageMaker Model Package State Change" events at least once (and Lambda's
async invocation retries), and with the central registry one registration can arrive twice with
different event ids (emitted in the governance account, and forwarded from the team account). The
pipeline execution's ``ClientRequestToken`` is therefore derived from the package ARN: SageMaker
starts at most one execution per token, so one package version is evaluated once however many
events announce it, while a new registration (a new version, a new ARN) is evaluated again.

Only packages of this account's registry are started (``ACCOUNT_ID``, when set: the central
registry lives in the governance account, and an event naming a package elsewhere is ignored and
counted). Ignored and malformed events are counted (``IgnoredEvents``, ``MalformedEvents``; see
:mod:`clearance.handlers`).

Environment: ``PIPELINE_NAME`` (required), ``ACCOUNT_ID`` (optional, the governance account),
``POLICY_S3_URI`` (optional; passed as the ``PolicyS3Uri`` pipeline parameter, otherwise the
pipeline's default applies), ``LOG_LEVEL``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from clearance.contract.arns import MODEL_PACKAGE_ARN
from clearance.contract.errors import ClearanceError
from clearance.contract.status import PENDING
from clearance.handlers import (
    IGNORED,
    MALFORMED,
    MetricSink,
    cached_client,
    configure_logging,
    count,
    handler_metrics,
    log,
)

if TYPE_CHECKING:
    from clearance.handlers import LambdaContext

__all__ = [
    "StartResult",
    "client_request_token",
    "display_name",
    "handle",
    "lambda_handler",
    "parse_event",
    "start_approval",
]

LOG = logging.getLogger(__name__)

DETAIL_TYPE = "SageMaker Model Package State Change"
SOURCE = "aws.sagemaker"
ARN_PATTERN = MODEL_PACKAGE_ARN  # the one strict pattern: clearance.contract.arns
# botocore: PipelineExecutionName (the display name) [a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}.
MAX_DISPLAY_NAME = 82
TOKEN_NAMESPACE = "clearance-start-approval:"
SERVICE = "start-approval"


class EventError(ClearanceError, ValueError):
    """The event is not a usable model package state change; ``str()`` says why."""

    def __init__(self, message: str) -> None:
        self.field, self.problem, self.fix = "event", message, ""
        Exception.__init__(self, message)


@dataclass(frozen=True)
class PendingPackage:
    event_id: str
    model_package_arn: str
    group: str | None
    version: int | None


@dataclass(frozen=True)
class StartResult:
    """What the handler did: ``started``, ``ignored`` (not for us) or ``malformed``."""

    action: str
    reason: str
    event_id: str | None = None
    model_package_arn: str | None = None
    execution_arn: str | None = None
    client_request_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Ignored(Exception):
    """A well-formed event this function does not act on (another status, source or type)."""


def client_request_token(model_package_arn: str) -> str:
    """The idempotency token for one package version: 64 hex characters.

    StartPipelineExecution's ClientRequestToken must be 32-128 characters; hashing keeps any ARN
    within the limits, and the namespace keeps the token distinct from other callers' tokens
    derived from the same ARN.
    """
    return hashlib.sha256((TOKEN_NAMESPACE + model_package_arn).encode("utf-8")).hexdigest()


def display_name(package: PendingPackage) -> str:
    """A readable execution name that fits the API pattern, e.g. ``credit-risk-models-v3``."""
    base = package.group or package.model_package_arn.rsplit("/", 2)[-2]
    if package.version is not None:
        base = f"{base}-v{package.version}"
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-")[:MAX_DISPLAY_NAME].rstrip("-")
    return cleaned or "clearance-approval"


def parse_event(event: Any, *, account: str | None = None) -> PendingPackage:
    """The pending package an event announces. Raises EventError (malformed) or Ignored.

    ``account``: the registry's account; a package of any other account is ignored.
    """
    if not isinstance(event, Mapping):
        raise EventError(f"event is {type(event).__name__}, not a JSON object")
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

    typed = EventBridgeEvent(dict(event))  # powertools' typed view of the envelope
    source = typed.get("source")
    detail_type = typed.get("detail-type")
    if source != SOURCE:
        # The developer guide's sample repeats "source" as a list; real events carry the string.
        raise Ignored(f"source is {source!r}, not {SOURCE!r}")
    if detail_type != DETAIL_TYPE:
        raise Ignored(f"detail-type is {detail_type!r}, not {DETAIL_TYPE!r}")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise EventError("event has no 'id' (needed for the idempotency token)")
    detail = typed.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("event has no 'detail' object")
    status = detail.get("ModelApprovalStatus")
    if status != PENDING:
        raise Ignored(f"ModelApprovalStatus is {status!r}, not {PENDING}")
    arn = detail.get("ModelPackageArn")
    if not isinstance(arn, str) or not ARN_PATTERN.match(arn):
        raise EventError(f"detail.ModelPackageArn {str(arn)[:200]!r} is not a model package ARN")
    owner = ARN_PATTERN.match(arn).group("account")  # type: ignore[union-attr]
    if account is not None and owner != account:
        raise Ignored(f"package of account {owner}, not of this registry's account {account}")
    group = detail.get("ModelPackageGroupName")
    version = detail.get("ModelPackageVersion")
    return PendingPackage(
        event_id=event_id,
        model_package_arn=arn,
        group=group if isinstance(group, str) and group else None,
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
    )


def start_approval(
    event: Any,
    sm: Any,
    pipeline_name: str,
    *,
    policy_s3_uri: str | None = None,
    account: str | None = None,
    metrics: MetricSink | None = None,
) -> StartResult:
    """Start the approval pipeline for the package ``event`` announces (the pure core).

    Returns ``ignored``/``malformed`` results instead of raising for events it cannot act on, so a
    bad event is logged and dropped rather than retried forever. Errors from SageMaker propagate:
    Lambda retries the invocation, and the same token makes the retry safe.
    """
    try:
        package = parse_event(event, account=account)
    except Ignored as exc:
        result = StartResult("ignored", str(exc), _event_id(event))
        log(LOG, logging.INFO, "event ignored", **result.to_json())
        count(metrics, IGNORED)
        return result
    except EventError as exc:
        result = StartResult("malformed", str(exc), _event_id(event))
        log(LOG, logging.ERROR, "malformed event", **result.to_json())
        count(metrics, MALFORMED)
        return result

    token = client_request_token(package.model_package_arn)
    parameters = [{"Name": "ModelPackageArn", "Value": package.model_package_arn}]
    if policy_s3_uri:
        parameters.append({"Name": "PolicyS3Uri", "Value": policy_s3_uri})
    response = sm.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineExecutionDisplayName=display_name(package),
        # Identical for every event of one package: a repeated token with other parameters is an
        # error in SageMaker (the event id is in the log line below instead).
        PipelineExecutionDescription=f"Clearance approval of {package.model_package_arn}"[:3072],
        PipelineParameters=parameters,
        ClientRequestToken=token,
    )
    result = StartResult(
        "started",
        f"approval pipeline {pipeline_name} started",
        package.event_id,
        package.model_package_arn,
        response.get("PipelineExecutionArn"),
        token,
    )
    log(LOG, logging.INFO, "approval started", **result.to_json())
    return result


# The name the demo and older callers use for the core.
handle = start_approval


def _event_id(event: Any) -> str | None:
    if isinstance(event, Mapping) and isinstance(event.get("id"), str):
        return event["id"]
    return None


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """Lambda entry point. Returns the result as JSON (visible in test invocations)."""
    configure_logging()
    pipeline_name = os.environ.get("PIPELINE_NAME")
    if not pipeline_name:
        # A deployment error, not an event problem: fail loudly so the invocation is retried and
        # lands in the dead-letter queue after the fix is deployed.
        raise RuntimeError("PIPELINE_NAME is not set. Set it to the approval pipeline's name")
    metrics = handler_metrics(SERVICE)
    try:
        result = start_approval(
            event,
            cached_client("sagemaker"),
            pipeline_name,
            policy_s3_uri=os.environ.get("POLICY_S3_URI") or None,
            account=os.environ.get("ACCOUNT_ID") or None,
            metrics=metrics,
        )
    finally:
        metrics.flush_metrics()
    return result.to_json()
