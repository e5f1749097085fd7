"""get-pipeline-definition: print the JSON definition of the SageMaker Pipeline.

    get-pipeline-definition --offline                      # no AWS account, no network
    get-pipeline-definition --offline --file-name build/pipeline-definition.json
    get-pipeline-definition --kwargs '{"region": "eu-west-1", "default_bucket": "my-bucket"}'

`--offline` answers the SDK's S3/STS calls with an in-process stand-in (pipelines/offline.py) and
uses a fake role, so a pull request can show the definition it would deploy. Without it the
definition is built against the AWS account of the current credentials (scripts are uploaded to
the default bucket, as `run-pipeline` does).

Exit codes: 0 printed, 2 bad command-line input (one `ERROR: <field>: ...` line), 1 any other
failure (with its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from pipelines._utils import (
    DEFAULT_REGION,
    UsageError,
    add_pipeline_arguments,
    check_kwargs,
    check_output_directory,
    configure_logging,
    import_pipeline_module,
    memoize_sdk_config_validation,
    parse_kwargs,
    parse_tags,
    write_atomically,
)

logger = logging.getLogger("get-pipeline-definition")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="get-pipeline-definition",
        description="Print the JSON definition of the pipeline that get_pipeline() builds.",
    )
    add_pipeline_arguments(
        parser,
        role_help="role ARN the jobs run as (kwargs role)",
        tags_help="JSON list of tags; checked and accepted so run-pipeline's arguments work here "
        "too, but tags are not part of a definition",
    )
    parser.add_argument(
        "-f", "--file-name", type=Path, default=None, help="write here instead of stdout"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="no AWS account and no network: in-process S3/STS stand-in and a fake role",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the SDK's logs")
    return parser


def render_definition(module_name: str, kwargs: dict[str, Any], verbose: bool = False) -> str:
    """Build the pipeline and return its definition, pretty-printed JSON."""
    module = import_pipeline_module(module_name)
    configure_logging(verbose)  # after the import: importing the SDK reconfigures logging
    check_kwargs(module, kwargs)
    memoize_sdk_config_validation()
    # The SDK print()s (e.g. ModelTrainer's output config); stdout is for the definition only.
    with contextlib.redirect_stdout(sys.stderr):
        definition = module.get_pipeline(**kwargs).definition()
    return json.dumps(json.loads(definition), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        kwargs = parse_kwargs(args.kwargs)
        parse_tags(args.tags)
        if args.file_name is not None:
            check_output_directory(args.file_name)
        if args.role_arn and "role" not in kwargs:
            kwargs["role"] = args.role_arn
        kwargs.setdefault("region", os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION)
        if args.offline:
            from pipelines.offline import offline_aws

            buckets = (kwargs["default_bucket"],) if kwargs.get("default_bucket") else ()
            with offline_aws(kwargs["region"], buckets=buckets) as aws:
                kwargs.setdefault("role", aws.role_arn)
                text = render_definition(args.module_name, kwargs, args.verbose)
        else:
            # `import sagemaker.mlops` creates a boto3 client and needs a region to do so.
            os.environ.setdefault("AWS_DEFAULT_REGION", kwargs["region"])
            text = render_definition(args.module_name, kwargs, args.verbose)
    except UsageError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    if args.file_name is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomically(args.file_name, text)
        except UsageError as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 2
        logger.info("wrote %s", args.file_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
