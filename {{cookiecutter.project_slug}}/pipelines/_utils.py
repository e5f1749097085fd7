"""Shared plumbing of the console scripts `run-pipeline` and `get-pipeline-definition`."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

# Baked from the cookiecutter answers, rendered as JSON so any legal answer stays verbatim.
_ANSWERS: dict[str, str] = json.loads(
    r"""
{
  "module_name": {{ cookiecutter.module_name | tojson }},
  "aws_region": {{ cookiecutter.aws_region | tojson }}
}
"""  # noqa: E501 (answers are as long as they were typed)
)
DEFAULT_MODULE = f"pipelines.{_ANSWERS['module_name']}.pipeline"
DEFAULT_REGION = _ANSWERS["aws_region"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "pipelines-cli"


class UsageError(Exception):
    """Bad command-line input; str() is the one line the user sees after `ERROR: `."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")
        self.field = field


def add_pipeline_arguments(parser: argparse.ArgumentParser, role_help: str, tags_help: str) -> None:
    """The arguments run-pipeline and get-pipeline-definition share (seed-code spellings)."""
    parser.add_argument(
        "-n",
        "--module-name",
        default=DEFAULT_MODULE,
        help=f"module that defines get_pipeline() (default: {DEFAULT_MODULE})",
    )
    parser.add_argument(
        "-kwargs", "--kwargs", default=None, help="get_pipeline() keyword arguments as JSON"
    )
    parser.add_argument("-role-arn", "--role-arn", default=None, help=role_help)
    parser.add_argument("-tags", "--tags", default=None, help=tags_help)


def parse_json_arg(field: str, text: str | None, expected: type, example: str) -> Any:
    """Parse a JSON command-line value (the buildspec sends JSON, not Python literals)."""
    if text is None:
        return expected()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            field, f"is not valid JSON ({error.msg} at character {error.pos})", f"Pass {example}"
        ) from None
    if not isinstance(value, expected):
        problem = f"must be a JSON {expected.__name__}, got {type(value).__name__}"
        raise UsageError(field, problem, f"Pass {example}")
    return value


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """`--kwargs`: a JSON object of get_pipeline() keyword arguments."""
    example = """a JSON object such as '{"region": "us-east-1"}'"""
    return parse_json_arg("--kwargs", text, dict, example)


def parse_tags(text: str | None) -> list[dict[str, str]]:
    """`--tags`: a JSON list of {"Key": ..., "Value": ...} objects."""
    example = """a JSON list such as '[{"Key": "k", "Value": "v"}]'"""
    tags = parse_json_arg("--tags", text, list, example)
    for index, tag in enumerate(tags):
        if (
            not isinstance(tag, dict)
            or set(tag) != {"Key", "Value"}
            or not all(isinstance(value, str) for value in tag.values())
        ):
            raise UsageError(
                "--tags",
                f"item {index} is not an object with string Key and Value",
                'Write each tag as {"Key": "name", "Value": "text"}',
            )
    return tags


def import_pipeline_module(module_name: str) -> ModuleType:
    """Import the module that defines get_pipeline() (e.g. pipelines.<name>.pipeline)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only a missing module *named by the user* is a usage error; a missing dependency of
        # an existing module is a broken install and keeps its traceback.
        if error.name is None or not _is_prefix_of(error.name, module_name):
            raise
        raise UsageError(
            "--module-name",
            f"no module named {module_name!r}",
            "Pass the dotted path of a module that defines get_pipeline(), e.g. "
            "pipelines.<package>.pipeline",
        ) from None
    if not callable(getattr(module, "get_pipeline", None)):
        raise UsageError(
            "--module-name",
            f"module {module_name!r} defines no get_pipeline()",
            "Pass the module that defines get_pipeline(region, role, ...)",
        )
    return module


def _is_prefix_of(missing: str, module_name: str) -> bool:
    return module_name == missing or module_name.startswith(missing + ".")


def check_kwargs(module: ModuleType, kwargs: dict[str, Any]) -> None:
    """Fail with one line when --kwargs does not fit get_pipeline()'s signature."""
    signature = inspect.signature(module.get_pipeline)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        names = ", ".join(signature.parameters)
        raise UsageError(
            "--kwargs", str(error), f"get_pipeline() takes these keys: {names}"
        ) from None


def get_pipeline_driver(module_name: str, kwargs: dict[str, Any]) -> Any:
    """Import the module and build its pipeline with the given keyword arguments."""
    module = import_pipeline_module(module_name)
    check_kwargs(module, kwargs)
    return module.get_pipeline(**kwargs)


def get_pipeline_custom_tags(
    module_name: str, kwargs: dict[str, Any], tags: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Tags for the pipeline: the module's get_pipeline_custom_tags() hook, if it has one."""
    module = import_pipeline_module(module_name)
    hook = getattr(module, "get_pipeline_custom_tags", None)
    if hook is None:
        return tags
    accepted = inspect.signature(hook).parameters
    project = {
        key: kwargs.get(key)
        for key in ("sagemaker_project_name", "sagemaker_project_id")
        if key in accepted
    }
    return hook(list(tags), kwargs.get("region"), **project)


def memoize_sdk_config_validation() -> None:
    """Validate the SageMaker SDK config once, not on every lookup.

    SDK v3 re-validates the whole SDK config against its JSON schema on each config lookup
    (`get_sagemaker_config_value`), about 0.1-0.3 s each and some 140 lookups per build of this
    pipeline: with any config file present (even the telemetry opt-out) a definition took ~25 s
    instead of ~5 s. Validation is a pure function of the config, so one success per distinct
    config is enough; an invalid config still fails every time.
    """
    from sagemaker.core.config.config_manager import SageMakerConfig

    original = SageMakerConfig.validate_sagemaker_config
    if getattr(original, "_memoized", False):
        return
    validated: set[str] = set()

    def validate(sagemaker_config: dict | None = None) -> None:
        key = json.dumps(sagemaker_config, sort_keys=True, default=str)
        if key not in validated:
            original(sagemaker_config)
            validated.add(key)

    validate._memoized = True  # type: ignore[attr-defined]
    SageMakerConfig.validate_sagemaker_config = staticmethod(validate)


class _QuietLibraries(logging.Filter):
    """Drop the SDK's and botocore's records below WARNING, whatever levels they set."""

    PREFIXES = ("sagemaker", "botocore", "boto3", "urllib3", "s3transfer")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and not _expected_warning(record):
            return True
        return not record.name.split(".")[0].startswith(self.PREFIXES)


def _expected_warning(record: logging.LogRecord) -> bool:
    # Logged for every step: the SDK drops job names from the definition, as it should.
    return record.name.startswith("sagemaker") and "Popping out" in record.getMessage()


def configure_logging(verbose: bool) -> None:
    """Our INFO logs on stderr; the SDK's chatter only with --verbose.

    Importing SDK v3 calls logging.basicConfig() (root at INFO) unless the root logger already
    has a handler, and some of its code sets DEBUG on its own loggers while it runs, so levels
    alone cannot quiet it: a filter on our handler does. Called before the pipeline module is
    imported and again after; it replaces only its own handler.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    if not verbose:
        handler.addFilter(_QuietLibraries())
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def check_output_directory(path: Path) -> None:
    """Fail before any work when the output file's directory is missing."""
    if not Path(path).parent.is_dir():
        raise UsageError(
            "--file-name", f"directory {str(Path(path).parent)!r} does not exist", "Create it first"
        )


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a failed write leaves no half-written definition."""
    path = Path(path)
    check_output_directory(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
