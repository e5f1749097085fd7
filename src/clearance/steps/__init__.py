"""Entry points of the approval pipeline's processing steps (what SageMaker runs in the container).

    python -m clearance.steps.evaluate --model-package-arn ARN --policy /opt/ml/processing/policy \
        --output-dir /opt/ml/processing/checks [--allowed-buckets b1,b2] [--overrides-dir D]
    python -m clearance.steps.update --checks /opt/ml/processing/checks/checks.json \
        [--evidence-dir /opt/ml/processing/evidence]

Thin wrappers over :mod:`clearance.registry` and :mod:`clearance.checks`: argument parsing, one
``ERROR: <field>: <problem>. <fix>`` line on bad input, exit codes. A rejection is a successful run
(exit 0); only "could not decide" fails the step, and then nothing is written to the registry.

Exit codes: 0 decided (Approved or Rejected) / updated or already decided, 1 AWS or unexpected
failure, 2 invalid input (policy, arguments, checks.json).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

LOGGER = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

# arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version> (or unversioned).
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<name>[A-Za-z0-9](-*[A-Za-z0-9]){0,62})(/(?P<version>\d+))?$"
)


class InputError(Exception):
    """Bad user input; ``str()`` is the ``<field>: <problem>. <fix>`` line."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the house error format: one ``ERROR:`` line naming the fix, exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"ERROR: arguments: {message}. See {self.prog} --help\n")


def error(message: str) -> None:
    """The one error line a person reads (stderr)."""
    print(f"ERROR: {message}", file=sys.stderr, flush=True)


def setup_logging() -> None:
    # CloudWatch keeps the processing job's stdout/stderr; INFO shows what the step did.
    logging.basicConfig(
        level=os.environ.get("CLEARANCE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # botocore's credential discovery is noise here.
    logging.getLogger("botocore").setLevel(logging.WARNING)


def log_code_location() -> None:
    """Which code decides: in a processing job, the shipped clearance.zip."""
    LOGGER.info("clearance code from %s", Path(__file__).resolve().parent.parent)


def region_from_arn(arn: str) -> str:
    """The package's region: the steps never hard-code one and need no AWS_DEFAULT_REGION."""
    match = MODEL_PACKAGE_ARN.match(arn)
    if not match:
        raise InputError(
            "--model-package-arn",
            f"{arn!r} is not a model package ARN",
            "Pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
        )
    return match.group("region")


def aws_clients(region: str) -> tuple[Any, Any]:
    """SageMaker and S3 clients for ``region`` (boto3 honours AWS_ENDPOINT_URL for the stand-in)."""
    import boto3
    from botocore.config import Config

    # Standard retry mode backs off on throttling: a burst of registrations starts many steps.
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    session = boto3.session.Session(region_name=region)
    return session.client("sagemaker", config=config), session.client("s3", config=config)


def after_decision(sm: Any, s3: Any, package_arn: str, checks_path: Path, out_dir: Path) -> Any:
    """The evidence hook: model card + HTML report for a decision already in the registry.

    ``clearance.evidence.after_decision`` does the work when the module is
    shipped; without it the decision stands and this returns None. Called by the Update step and
    therefore by ``make demo``, which runs the same step.
    """
    try:
        evidence = importlib.import_module("clearance.evidence")
    except ModuleNotFoundError as exc:
        if exc.name != "clearance.evidence":
            raise
        LOGGER.info("clearance.evidence is not installed; no model card or HTML report")
        return None
    hook = getattr(evidence, "after_decision", None)
    if hook is None:
        LOGGER.info("clearance.evidence has no after_decision; no model card or HTML report")
        return None
    return hook(sm, s3, package_arn, checks_path, out_dir)
