"""run-pipeline: create or update the SageMaker Pipeline, start an execution and wait for it.

What the CodeBuild project runs on every push (see codebuild-buildspec.yml):

    run-pipeline --module-name pipelines.<package>.pipeline \\
        --role-arn "$SAGEMAKER_PIPELINE_ROLE_ARN" \\
        --tags '[{"Key": "sagemaker:project-name", "Value": "..."}]' \\
        --kwargs '{"region": "...", "role": "...", "default_bucket": "...", ...}'

Exit codes: 0 the execution succeeded (or was started, with --no-wait); 1 the execution failed
or stopped, or an AWS call failed (with its traceback); 2 bad command-line input (one
`ERROR: <field>: ...` line, nothing created).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from typing import Any

from pipelines._utils import (
    DEFAULT_REGION,
    UsageError,
    add_pipeline_arguments,
    check_kwargs,
    configure_logging,
    get_pipeline_custom_tags,
    import_pipeline_module,
    memoize_sdk_config_validation,
    parse_kwargs,
    parse_tags,
)

logger = logging.getLogger("run-pipeline")

# A pipeline run with Clarify shadow endpoints takes tens of minutes; CodeBuild's own timeout
# (default 60 min, up to 8 h) is the outer bound.
WAIT_DELAY_SECONDS = 60
WAIT_MAX_ATTEMPTS = 240
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run-pipeline",
        description="Create or update the pipeline, start an execution and wait for it.",
    )
    add_pipeline_arguments(
        parser,
        role_help="role ARN SageMaker Pipelines assumes to run the pipeline (required)",
        tags_help='JSON list of tags: [{"Key": ..., "Value": ...}]',
    )
    parser.add_argument("-description", "--description", default=None, help="pipeline description")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the execution has started instead of waiting for its end",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the SDK's logs")
    return parser


def run(
    module_name: str,
    kwargs: dict[str, Any],
    role_arn: str,
    tags: list[dict[str, str]],
    description: str | None = None,
    wait: bool = True,
    verbose: bool = False,
) -> int:
    """Upsert the pipeline, start it and (optionally) wait; returns the exit code."""
    module = import_pipeline_module(module_name)
    configure_logging(verbose)  # after the import: importing the SDK reconfigures logging
    check_kwargs(module, kwargs)
    memoize_sdk_config_validation()
    all_tags = get_pipeline_custom_tags(module_name, kwargs, tags)
    with contextlib.redirect_stdout(sys.stderr):  # the SDK print()s; keep stdout for results
        pipeline = module.get_pipeline(**kwargs)
        definition = json.loads(pipeline.definition())
    logger.info(
        "pipeline %s: %d steps (%s)",
        pipeline.name,
        len(definition["Steps"]),
        ", ".join(step["Name"] for step in definition["Steps"]),
    )
    response = pipeline.upsert(role_arn=role_arn, description=description, tags=all_tags)
    logger.info("upserted %s", response.get("PipelineArn"))
    execution = pipeline.start()
    logger.info("started execution %s", execution.arn)
    if not wait:
        return 0
    described = wait_for(execution)
    status = described.get("PipelineExecutionStatus")
    if status == "Succeeded":
        logger.info("execution %s: %s", execution.arn, status)
        return 0
    # Failed, stopped or still running after the wait: say which step, fail the build.
    reason = described.get("FailureReason", "")
    logger.error("execution %s did not succeed: %s %s", execution.arn, status, reason)
    for step in execution.list_steps():
        logger.error(
            "  %s: %s %s",
            step.get("StepName"),
            step.get("StepStatus"),
            step.get("FailureReason", ""),
        )
    return 1


def wait_for(
    execution: Any, delay: float = WAIT_DELAY_SECONDS, max_attempts: int = WAIT_MAX_ATTEMPTS
) -> dict[str, Any]:
    """Poll until the execution ends; the last DescribePipelineExecution response.

    Not the SDK's `execution.wait()`: its waiter knows only Succeeded and Failed, so a stopped
    execution would keep a CodeBuild job polling until the attempts run out.
    """
    for attempt in range(max_attempts):
        described = execution.describe()
        if described.get("PipelineExecutionStatus") in TERMINAL_STATUSES:
            return described
        if attempt + 1 < max_attempts:
            time.sleep(delay)
    return described


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        kwargs = parse_kwargs(args.kwargs)
        tags = parse_tags(args.tags)
        if not args.role_arn:
            raise UsageError(
                "--role-arn",
                "is required",
                "Pass the ARN of the role SageMaker Pipelines runs the pipeline as",
            )
        # The jobs run as the pipeline's role unless --kwargs names another one.
        kwargs.setdefault("role", args.role_arn)
        kwargs.setdefault("region", os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
        # `import sagemaker.mlops` creates a boto3 client and needs a region to do so.
        os.environ.setdefault("AWS_DEFAULT_REGION", kwargs["region"])
        return run(
            args.module_name,
            kwargs,
            role_arn=args.role_arn,
            tags=tags,
            description=args.description,
            wait=not args.no_wait,
            verbose=args.verbose,
        )
    except UsageError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
