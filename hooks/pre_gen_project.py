"""Pre-generation hook: check every answer before cookiecutter writes a single file.

Cookiecutter renders this file with Jinja and runs it in the project directory (already created,
still empty); a non-zero exit makes cookiecutter delete that directory, so a refused bake leaves
nothing behind. On the first bad answer the hook prints one line to stderr,

    ERROR: <field>: <problem>. <how to fix>

and exits 1. It never uses `assert` (stripped under `python -O`).

The file stays valid Python before rendering: the only Jinja is inside the two string constants
below, so it can be imported, linted and unit-tested as it is. Because Jinja reads this whole file,
the code spells the template-syntax markers as "{" + "{" and never writes them literally.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

# The whole answer set as JSON. Jinja's `tojson` escapes every '"' inside a value as \" (and ', <,
# >, & as \uXXXX), and json.dumps puts ": " or ", " between tokens, so the rendered text never holds
# three quotes in a row: no answer can close the raw triple-quoted string early. Rendering the whole
# mapping (it starts with "{" and ends with "}") also avoids r""""value"""" at the edges.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""
# The answers as given, before cookiecutter rendered them (it renders key=value and extra_context
# answers as Jinja).
RENDERED_GIVEN_ANSWERS = r"""{{ _cookiecutter | default({}) | tojson }}"""

JINJA_MARKERS = ("{" + "{", "{" + "%", "{" + "#")
MARKERS_TEXT = ", ".join(JINJA_MARKERS)

# Keys whose cookiecutter.json default is a Jinja expression (derived from earlier answers).
# tests/hooks checks that this set matches cookiecutter.json.
DERIVED_KEYS = frozenset(
    {
        "project_slug",
        "module_name",
        "sagemaker_project_name",
        "model_package_group_name",
        "label_column",
        "positive_label",
    }
)

CHOICES: dict[str, tuple[str, ...]] = {
    "model_type": ("tabular", "llm"),
    "problem_type": ("binary_classification", "regression"),
    "source_provider": ("codeconnections", "codecommit"),
}

# Option pairs the template does not support: ONE list, checked by check_unsupported_combinations()
# and documented in the README. An LLM is evaluated by the HELM-style suite, which has no
# regression target; its variant ignores problem_type, so only the default value is accepted, which
# keeps the answers (and the registry metadata built from them) honest.
UNSUPPORTED_COMBINATIONS: tuple[tuple[Mapping[str, Any], str, str], ...] = (
    (
        {"model_type": "llm", "problem_type": "regression"},
        "regression does not apply to model_type llm (an LLM is judged by HELM-style evaluations, "
        "not by a regression target)",
        "Keep problem_type binary_classification (the LLM variant ignores it) "
        "or choose model_type tabular",
    ),
)

# Names already taken next to the model package under pipelines/: a module named like one of them
# would collide with it (pipelines/local.py vs pipelines/local/). tests/hooks checks that it covers
# what the template ships.
RESERVED_MODULE_NAMES = frozenset(
    {
        "pipelines",
        "local",
        "llm_local",
        "offline",
        "reports",
        "sample_data",
        "run_pipeline",
        "get_pipeline_definition",
        "llm",
        "tests",
        "test",
    }
)

SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MODULE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
# The AllowedPattern SageMaker and the Service Catalog product declare for the project name.
SAGEMAKER_PROJECT_PATTERN = re.compile(r"[a-zA-Z](-*[a-zA-Z0-9])*")
MODEL_PACKAGE_GROUP_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
INSTANCE_TYPE_PATTERN = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")
# Column names travel through CSV headers, Clarify configs and Python constants: identifiers only.
COLUMN_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A facet value is compared with CSV cells: no separators, quotes or leading/trailing spaces.
FACET_VALUE_PATTERN = re.compile(r"[A-Za-z0-9_.+-]+( [A-Za-z0-9_.+-]+)*")
INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+")

MAX_PROJECT_NAME = 64
MAX_SLUG = 64
MAX_MODULE = 64
MAX_DESCRIPTION = 256  # a SageMaker CustomerMetadataProperties value holds at most 256 characters
MAX_SAGEMAKER_PROJECT_NAME = 32
MAX_MODEL_PACKAGE_GROUP_NAME = 63
MAX_COLUMN = 64
MAX_VALUE = 64
MAX_INSTANCE_TYPE = 64
MAX_SHOWN = 60  # how much of a bad value the error line repeats

# Unicode bidirectional controls can make text read differently from what it is ("Trojan Source").
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


class AnswerError(Exception):
    """One bad answer: which field, what is wrong and how to fix it."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(field, problem, fix)
        self.field = field
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}. {self.fix}"


def shown(value: Any) -> str:
    """The value as a short Python literal: control characters escaped, length bounded."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 4] + "...'"


def require_text(field: str, value: Any, max_length: int) -> str:
    """A non-empty single line of at most max_length characters, free of control characters."""
    if not isinstance(value, str):
        raise AnswerError(
            field, f"must be text, got {type(value).__name__}", "Give a quoted string"
        )
    if not value.strip():
        raise AnswerError(field, "is empty", "Give a value")
    if value != value.strip():
        raise AnswerError(
            field, "has leading or trailing whitespace", "Remove the surrounding spaces"
        )
    if len(value) > max_length:
        raise AnswerError(
            field, f"is {len(value)} characters long, the limit is {max_length}", "Shorten it"
        )
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS:
            raise AnswerError(
                field,
                f"contains the control or line-break character U+{ord(char):04X}",
                "Use a single line of printable text",
            )
    if any(marker in value for marker in JINJA_MARKERS):
        raise AnswerError(field, f"contains template syntax ({MARKERS_TEXT})", "Remove the braces")
    return value


def require_pattern(
    field: str, value: Any, pattern: re.Pattern[str], max_length: int, rule: str
) -> str:
    """Text that fully matches pattern; rule says in words what the pattern allows."""
    text = require_text(field, value, max_length)
    if not pattern.fullmatch(text):
        raise AnswerError(field, f"{shown(text)} is not valid", f"Use {rule}")
    return text


def check_project_name(value: Any) -> None:
    """Free text, one line."""
    require_text("project_name", value, MAX_PROJECT_NAME)


def check_project_slug(value: Any) -> None:
    """The directory and distribution name."""
    require_pattern(
        "project_slug",
        value,
        SLUG_PATTERN,
        MAX_SLUG,
        f"lowercase letters, digits and single hyphens, starting with a letter, at most {MAX_SLUG} "
        "characters (e.g. credit-risk)",
    )


def check_module_name(value: Any) -> None:
    """A Python package name under pipelines/ that collides with nothing the template ships."""
    name = require_pattern(
        "module_name",
        value,
        MODULE_PATTERN,
        MAX_MODULE,
        "a lowercase Python identifier: letters, digits and underscores, starting with a letter "
        "(e.g. credit_risk)",
    )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise AnswerError(
            "module_name", f"{shown(name)} is a Python keyword", "Choose another name"
        )
    if name in RESERVED_MODULE_NAMES:
        raise AnswerError(
            "module_name",
            f"{shown(name)} collides with a name the template uses under pipelines/",
            "Choose another name, e.g. the project slug with underscores",
        )


def check_description(value: Any) -> None:
    """One line; quotes, backslashes and unicode are fine (they are carried through verbatim into
    the README). The model package's ``team:description`` metadata is the encoded form: the team
    pipeline's ``metadata_value`` turns every character CustomerMetadataProperties refuses (outside
    ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``: comma, quote, '!') into a space; a description with
    nothing left after that is refused here."""
    text = require_text("description", value, MAX_DESCRIPTION)
    if not any(char.isalnum() for char in text):
        raise AnswerError(
            "description",
            f"{shown(text)} has no letter or digit, so nothing of it fits the model package "
            "metadata (CustomerMetadataProperties allows letters, digits, spaces and _.:/=+-@)",
            "Describe the project in words",
        )


def check_aws_region(value: Any) -> None:
    """A region code, not a name."""
    require_pattern(
        "aws_region",
        value,
        REGION_PATTERN,
        MAX_VALUE,
        "a region code such as us-east-1 or eu-west-2",
    )


def check_sagemaker_project_name(value: Any) -> None:
    """SageMaker's own constraint on project names."""
    require_pattern(
        "sagemaker_project_name",
        value,
        SAGEMAKER_PROJECT_PATTERN,
        MAX_SAGEMAKER_PROJECT_NAME,
        f"1-{MAX_SAGEMAKER_PROJECT_NAME} letters, digits and hyphens, starting with a letter and "
        "not ending with a hyphen",
    )


def check_model_package_group_name(value: Any) -> None:
    """SageMaker's own constraint on model package group names."""
    require_pattern(
        "model_package_group_name",
        value,
        MODEL_PACKAGE_GROUP_PATTERN,
        MAX_MODEL_PACKAGE_GROUP_NAME,
        f"1-{MAX_MODEL_PACKAGE_GROUP_NAME} letters, digits and hyphens, starting with a letter or "
        "digit and not ending with a hyphen",
    )


def make_choice_check(field: str) -> Callable[[Any], None]:
    """A check that the answer is one of CHOICES[field]."""

    def check_choice(value: Any) -> None:
        allowed = CHOICES[field]
        if value not in allowed:
            raise AnswerError(
                field, f"{shown(value)} is not an option", f"Choose one of {', '.join(allowed)}"
            )

    check_choice.__name__ = f"check_{field}"
    return check_choice


def make_column_check(field: str) -> Callable[[Any], None]:
    """A check that the answer is a CSV-safe column identifier."""

    def check_column(value: Any) -> None:
        require_pattern(
            field,
            value,
            COLUMN_PATTERN,
            MAX_COLUMN,
            f"letters, digits and underscores, not starting with a digit, at most {MAX_COLUMN} "
            "characters",
        )

    check_column.__name__ = f"check_{field}"
    return check_column


def check_positive_label(value: Any) -> None:
    """Shape only; integer or number depends on problem_type (a cross-field check)."""
    require_text("positive_label", value, MAX_VALUE)


def check_facet_value(value: Any) -> None:
    """A category value or a numeric threshold, as it appears in the data."""
    require_pattern(
        "facet_value",
        value,
        FACET_VALUE_PATTERN,
        MAX_VALUE,
        "a value as it appears in the data (letters, digits, '_', '.', '+', '-', inner spaces) "
        "or a number",
    )


def make_instance_type_check(field: str) -> Callable[[Any], None]:
    """A check that the answer looks like a SageMaker instance type."""

    def check_instance_type(value: Any) -> None:
        require_pattern(
            field,
            value,
            INSTANCE_TYPE_PATTERN,
            MAX_INSTANCE_TYPE,
            "a SageMaker type like ml.m5.xlarge",
        )

    check_instance_type.__name__ = f"check_{field}"
    return check_instance_type


def make_boolean_check(field: str) -> Callable[[Any], None]:
    """A check that the answer is a JSON boolean (cookiecutter turns yes/no/true/false into one)."""

    def check_boolean(value: Any) -> None:
        if not isinstance(value, bool):
            raise AnswerError(field, f"{shown(value)} is not a boolean", "Answer true or false")

    check_boolean.__name__ = f"check_{field}"
    return check_boolean


check_include_pre_commit = make_boolean_check("include_pre_commit")
# The deploy side is tabular: the LLM variant ignores the answer (docs: Variants), as it ignores
# problem_type's default. Refusing llm + deploy would refuse the default LLM bake.
check_deploy = make_boolean_check("deploy")


# Field -> check, in cookiecutter.json order: the first error reported is the first bad answer.
FIELD_CHECKS: dict[str, Callable[[Any], None]] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "module_name": check_module_name,
    "description": check_description,
    "aws_region": check_aws_region,
    "sagemaker_project_name": check_sagemaker_project_name,
    "model_package_group_name": check_model_package_group_name,
    "model_type": make_choice_check("model_type"),
    "problem_type": make_choice_check("problem_type"),
    "label_column": make_column_check("label_column"),
    "positive_label": check_positive_label,
    "facet_column": make_column_check("facet_column"),
    "facet_value": check_facet_value,
    "source_provider": make_choice_check("source_provider"),
    "processing_instance_type": make_instance_type_check("processing_instance_type"),
    "training_instance_type": make_instance_type_check("training_instance_type"),
    "include_pre_commit": check_include_pre_commit,
    "deploy": check_deploy,
}


def check_fields_present(answers: Mapping[str, Any]) -> None:
    """Every question has an answer (a missing one means a stale replay file)."""
    for field in FIELD_CHECKS:
        if field not in answers:
            raise AnswerError(field, "has no answer", "Bake again without --replay, or answer it")


def check_not_evaluated_as_template(given: Mapping[str, Any]) -> None:
    """Refuse answers that cookiecutter evaluated as Jinja.

    Cookiecutter renders answers given as key=value or extra_context as templates, so an expression
    like 7*7 in double braces arrives here as "49". The given (unrendered) text is still in
    `_cookiecutter`. Derived keys legitimately hold an expression (their default); their rendered
    values are checked by pattern instead.
    """
    for field, value in given.items():
        if field in DERIVED_KEYS or not isinstance(value, str):
            continue
        if any(marker in value for marker in JINJA_MARKERS):
            raise AnswerError(
                field,
                "was given as a template expression, which cookiecutter evaluates",
                f"Give plain text without {MARKERS_TEXT}",
            )


def check_unsupported_combinations(answers: Mapping[str, Any]) -> None:
    """Reject the option pairs listed in UNSUPPORTED_COMBINATIONS."""
    for combination, problem, fix in UNSUPPORTED_COMBINATIONS:
        if all(answers.get(key) == value for key, value in combination.items()):
            field = list(combination)[-1]
            raise AnswerError(field, problem, fix)


def check_facet_differs_from_label(answers: Mapping[str, Any]) -> None:
    """Bias is measured across facet groups for the label: they must be different columns."""
    if str(answers["facet_column"]).casefold() == str(answers["label_column"]).casefold():
        raise AnswerError(
            "facet_column",
            f"{shown(answers['facet_column'])} is also the label column",
            "Choose the sensitive attribute column, which must differ from label_column",
        )


def check_positive_label_fits_problem_type(answers: Mapping[str, Any]) -> None:
    """Binary labels are integers (Clarify label values); regression needs a number."""
    label = answers["positive_label"]
    if answers["problem_type"] == "regression":
        try:
            threshold = float(label)
        except ValueError:
            threshold = math.nan
        if not math.isfinite(threshold):
            raise AnswerError(
                "positive_label",
                f"{shown(label)} is not a finite number, which regression needs as its threshold",
                "Give the favourable threshold, e.g. 5000",
            )
    elif not INTEGER_PATTERN.fullmatch(label):
        raise AnswerError(
            "positive_label",
            f"{shown(label)} is not an integer, which binary_classification labels are",
            "Give the favourable label value, e.g. 1",
        )


CROSS_FIELD_CHECKS: tuple[Callable[[Mapping[str, Any]], None], ...] = (
    check_unsupported_combinations,
    check_facet_differs_from_label,
    check_positive_label_fits_problem_type,
)


def validate(answers: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> None:
    """Raise AnswerError for the first problem: fields in question order, then across fields."""
    check_fields_present(answers)
    check_not_evaluated_as_template(given or {})
    for field, check in FIELD_CHECKS.items():
        check(answers[field])
    for check in CROSS_FIELD_CHECKS:
        check(answers)


def load_answers(rendered: str) -> dict[str, Any]:
    """Decode the rendered JSON; the unrendered source (the Jinja expression) is a usage error."""
    try:
        answers = json.loads(rendered)
    except json.JSONDecodeError as err:
        raise AnswerError(
            "hook", f"answers are not JSON ({err.msg})", "Run this hook through cookiecutter"
        ) from err
    if not isinstance(answers, dict):
        raise AnswerError("hook", "answers are not a mapping", "Run this hook through cookiecutter")
    return answers


def main() -> int:
    """Validate the rendered answers; print one ERROR line and return 1 on the first problem."""
    try:
        validate(load_answers(RENDERED_ANSWERS), load_answers(RENDERED_GIVEN_ANSWERS))
    except AnswerError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
