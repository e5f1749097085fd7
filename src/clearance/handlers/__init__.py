"""Lambda handlers: thin ``lambda_handler(event, context)`` functions over pure, injected cores.

- :mod:`clearance.handlers.start_approval`: EventBridge "SageMaker Model Package State Change"
  (PendingManualApproval) -> ``start_pipeline_execution`` of the approval pipeline, idempotent per
  event id.
- :mod:`clearance.handlers.copy_artifacts`: S3 ObjectCreated notification in a team bucket ->
  encrypted, checksum-verified copy into the governance bucket under a deterministic key.

Each core takes its boto3 client as an argument; the handlers create clients once per execution
environment (module scope, lazily so importing the module needs no region) and reuse them.
Logs are one JSON object per line so CloudWatch Logs Insights can filter on fields.

Metrics: every malformed record, ignored event and skipped object is counted with
aws-lambda-powertools' ``Metrics`` (CloudWatch embedded metric format on stdout, no API call):
namespace ``Clearance``, dimension ``service`` = the handler's name, metric names
``MalformedEvents``, ``IgnoredEvents``, ``SkippedObjects``: the alarms of
servicecatalog/governance-product.yaml (``HandlerEventAlarms``) watch exactly these. The cores take
any object with ``add_metric(name, unit, value)`` (tests pass a recorder).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Protocol

__all__ = [
    "CLIENTS",
    "IGNORED",
    "MALFORMED",
    "METRICS_NAMESPACE",
    "SKIPPED",
    "LambdaContext",
    "MetricSink",
    "cached_client",
    "configure_logging",
    "count",
    "handler_metrics",
    "log",
]

METRICS_NAMESPACE = "Clearance"
MALFORMED = "MalformedEvents"
IGNORED = "IgnoredEvents"
SKIPPED = "SkippedObjects"
METRIC_NAMES = (MALFORMED, IGNORED, SKIPPED)


class MetricSink(Protocol):
    """What the cores need of powertools' ``Metrics``."""

    def add_metric(self, name: str, unit: Any, value: float) -> None: ...


def count(metrics: MetricSink | None, name: str) -> None:
    """Add 1 to ``name`` (a no-op without a sink)."""
    if metrics is not None:
        metrics.add_metric(name=name, unit="Count", value=1)


def handler_metrics(service: str) -> Any:
    """powertools ``Metrics`` for one handler; the caller flushes (``flush_metrics()``)."""
    from aws_lambda_powertools import Metrics

    metrics = Metrics(namespace=METRICS_NAMESPACE, service=service)
    # Always emit a zero-valued line per invocation, so an alarm sees data rather than "missing".
    for name in METRIC_NAMES:
        metrics.add_metric(name=name, unit="Count", value=0)
    return metrics


class LambdaContext(Protocol):
    """The part of the Lambda context object the handlers use (for typing only)."""

    aws_request_id: str
    function_name: str


def configure_logging() -> None:
    """Level from LOG_LEVEL (default INFO). Lambda installs its own handler on the root logger."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.getLogger("clearance").setLevel(getattr(logging, level, logging.INFO))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=getattr(logging, level, logging.INFO), format="%(message)s")


def log(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with ``fields`` as one JSON object."""
    logger.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


# boto3 clients by service name, created on first use (importing a handler needs no region) and
# reused across invocations of one execution environment. Tests put fakes in here.
CLIENTS: dict[str, Any] = {}


def cached_client(service: str) -> Any:
    """The execution environment's one boto3 client for ``service``."""
    if service not in CLIENTS:
        import boto3

        CLIENTS[service] = boto3.client(service)
    return CLIENTS[service]
