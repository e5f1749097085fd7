"""Lambda handlers: thin ``lambda_handler(event, context)`` functions over pure, injected cores.

- :mod:`clearance.handlers.start_approval`: EventBridge "SageMaker Model Package State Change"
  (PendingManualApproval) -> ``start_pipeline_execution`` of the approval pipeline, idempotent per
  event id.
- :mod:`clearance.handlers.copy_artifacts`: S3 ObjectCreated notification in a team bucket ->
  encrypted, checksum-verified copy into the governance bucket under a deterministic key.

Each core takes its boto3 client as an argument; the handlers create clients once per execution
environment (module scope, lazily so importing the module needs no region) and reuse them.
Logs are one JSON object per line so CloudWatch Logs Insights can filter on fields.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Protocol

__all__ = ["CLIENTS", "LambdaContext", "cached_client", "configure_logging", "log"]


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
