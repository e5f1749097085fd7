"""Entry points of the approval pipeline's processing steps (what SageMaker runs in the container).

    python -m clearance.pipeline.steps.evaluate --model-package-arn ARN \
        --policy /opt/ml/processing/policy \
        --output-dir /opt/ml/processing/checks [--allowed-buckets b1,b2] [--overrides-dir D]
    python -m clearance.pipeline.steps.update --checks /opt/ml/processing/checks/checks.json \
        [--evidence-dir /opt/ml/processing/evidence]

Thin wrappers over :mod:`clearance.registry` and :mod:`clearance.decide.checks`: argument parsing,
one ``ERROR: <field>: <problem>. <fix>`` line on bad input, exit codes. A rejection is a successful
run (exit 0); only "could not decide" fails the step, and then nothing is written to the registry.

Exit codes (:mod:`clearance.contract.exitcodes`, the table every command uses): 0 decided
(Approved or Rejected) / updated or already decided, 2 invalid input (policy, arguments,
checks.json), 3 an AWS call or anything unexpected failed (nothing decided).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from clearance.contract import args as contract_args
from clearance.contract import exitcodes
from clearance.contract.arns import MODEL_PACKAGE_ARN
from clearance.contract.errors import ClearanceError
from clearance.evidence import publish

LOGGER = logging.getLogger(__name__)

EXIT_OK = exitcodes.OK
EXIT_FAILED = exitcodes.AWS  # an AWS call (or anything unexpected) failed: nothing decided
EXIT_INVALID = exitcodes.USAGE


class InputError(ClearanceError):
    """Bad user input; ``str()`` is the ``<field>: <problem>. <fix>`` line."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(field, problem, fix)


class ArgumentParser(contract_args.ArgumentParser):
    """The one parser helper (:mod:`clearance.contract.args`); errors name the field "arguments"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("error_field", "arguments")
        super().__init__(*args, **kwargs)


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
    LOGGER.info("clearance code from %s", Path(__file__).resolve().parents[2])


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

    :func:`clearance.evidence.publish.after_decision` does the work. Called by the Update step and
    therefore by ``make demo``, which runs the same step.
    """
    return publish.after_decision(sm, s3, package_arn, checks_path, out_dir)
