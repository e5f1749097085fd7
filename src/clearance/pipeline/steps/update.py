"""Update step: checks.json -> the evidence, then one update_model_package call.

    python -m clearance.pipeline.steps.update --checks /opt/ml/processing/checks/checks.json \
        [--publish-checks-prefix s3://<governance bucket>/<pipeline name>/checks] \
        [--evidence-dir /opt/ml/processing/evidence]

The status, the approval description naming the failed checks and the clearance:* metadata go in
one ``update_model_package`` call (``clearance.registry.apply_decision``). A package that is no
longer PendingManualApproval is left as it is, and the step says so. A rejection is a successful
run. An unreadable or self-contradicting checks.json exits 2 without touching the registry.

Order (issue 9): the evidence is written BEFORE the status. checks.json is already in the
governance bucket (the Evaluate step's output); with ``--evidence-dir``,
``clearance.pipeline.steps.after_decision`` then writes the model card and the HTML report
(``clearance.evidence.publish``) while the package is still pending, and only then is the decision
recorded. A failure writing the evidence fails the step (exit 3) and leaves the package
PendingManualApproval: never decided without its evidence. After a recorded decision the evidence
hook runs once more (idempotent: the card is unchanged) so the HTML page shows the new registry
status; a failure of that refresh is logged, not fatal (the evidence already exists).
With --publish-checks-prefix the step first writes checks.json to
<prefix>/<group>/<version>/checks.json in the governance bucket (a key per package, so each team's
deploy role can be granted its own packages' only) and the same update call records
clearance:checks-uri and clearance:checks-version-id (that object's S3 version): the deploy gate
reads the decision's checks.json there and refuses if it was replaced since.
After the decision, ``clearance.pipeline.steps.after_decision`` writes the model card and HTML
report (``clearance.evidence.publish``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearance import registry
from clearance.contract.status import PENDING
from clearance.decide.checks import ChecksError, load_checks
from clearance.pipeline import steps
from clearance.pipeline.steps import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    ArgumentParser,
    InputError,
    error,
)

LOGGER = logging.getLogger("clearance.pipeline.steps.update")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m clearance.pipeline.steps.update",
        description="Record the Evaluate step's decision in the model registry.",
    )
    parser.add_argument("--checks", required=True, type=Path)
    parser.add_argument(
        "--publish-checks-prefix",
        default=None,
        help="s3://bucket/prefix: publish checks.json per package there and record where",
    )
    parser.add_argument(
        "--evidence-dir",
        type=Path,
        default=None,
        help="where the evidence hook writes the HTML report (default: no evidence)",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace, clients: tuple[Any, Any] | None = None) -> int:
    """The step; ``clients`` = (sagemaker, s3) to reuse, else created for the package's region."""

    try:
        decision = load_checks(args.checks)
        region = steps.region_from_arn(decision.model_package_arn)
    except ChecksError as exc:
        error(f"--checks: {exc}. Pass the checks.json the Evaluate step wrote")
        return EXIT_INVALID
    except InputError as exc:
        error(f"--checks: model_package_arn in {args.checks}: {exc}")
        return EXIT_INVALID

    steps.log_code_location()
    sm, s3 = clients or steps.aws_clients(region)
    arn = decision.model_package_arn
    if args.evidence_dir is not None:
        current = sm.describe_model_package(ModelPackageName=arn).get("ModelApprovalStatus")
        if current == PENDING:
            # Evidence first: an exception here fails the step with the package still pending.
            evidence = steps.after_decision(sm, s3, arn, args.checks, args.evidence_dir)
            LOGGER.info("evidence (before the decision): %s", evidence)
    location = None
    if args.publish_checks_prefix:
        location = publish_checks(s3, args.publish_checks_prefix, decision)
    result = registry.apply_decision(sm, decision, checks_location=location)
    # registry logs the change itself; stdout gets the one line a person scans for.
    print(_describe(result))

    if args.evidence_dir is not None and getattr(result, "updated", False):
        try:
            steps.after_decision(sm, s3, arn, args.checks, args.evidence_dir)
        except Exception:  # noqa: BLE001 - the evidence exists; only the page's status line is stale
            LOGGER.warning("refreshing the evidence after the decision failed", exc_info=True)
    return EXIT_OK


def publish_checks(s3: Any, prefix: str, decision: Any) -> dict[str, str]:
    """Write checks.json to <prefix>/<group>/<version>/checks.json; its URI and S3 VersionId."""
    from clearance.contract.metadata import CHECKS_URI, CHECKS_VERSION_ID

    group, version = decision.model_package_arn.split(":model-package/", 1)[1].split("/")
    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    key = "/".join(part for part in (key_prefix.strip("/"), group, version, "checks.json") if part)
    response = s3.put_object(
        Bucket=bucket, Key=key, Body=decision.to_bytes(), ContentType="application/json"
    )
    location = {CHECKS_URI: f"s3://{bucket}/{key}"}
    if response.get("VersionId") and response["VersionId"] != "null":
        location[CHECKS_VERSION_ID] = response["VersionId"]
    return location


def _describe(result: object) -> str:
    message = getattr(result, "message", None)
    if isinstance(message, str) and message:
        return message
    return str(result)


def main(argv: Sequence[str] | None = None, clients: tuple[Any, Any] | None = None) -> int:
    args = parse_args(argv)
    steps.setup_logging()
    try:
        return run(args, clients)
    except Exception as exc:  # noqa: BLE001 - the step fails with one line
        LOGGER.exception("update failed")
        error(f"update: {type(exc).__name__}: {exc}. See the log above")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
