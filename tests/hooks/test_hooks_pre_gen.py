"""Unit tests of hooks/pre_gen_project.py: validators, cross-field rules, the rendered script."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hooks_support import HOOKS_DIR, TEMPLATE_DIR, load_module, make_context, render_hook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPEN_EXPR = "{" + "{"

# Answers each field check must accept.
VALID_ANSWERS: dict[str, list[Any]] = {
    "project_name": ["Credit Risk", "Crédit Risque «bêta» ✓", 'O\'Brien "Loans" \\ v2', "x" * 64],
    "project_slug": ["credit-risk", "a", "a1-b2-c3", "x" * 64],
    "module_name": ["credit_risk", "a1", "credit__risk_", "x" * 64],
    "description": [
        "One line with \"quotes\", 'apostrophes', back\\slashes and ünïcode ✓",
        'He said """hi""" and left \\',
        "\"; import os; os.system('x') #",
        "x" * 256,
    ],
    "aws_region": ["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-2", "cn-north-1"],
    "sagemaker_project_name": ["credit-risk", "a", "A" * 32, "a--b", "Credit9"],
    "model_package_group_name": ["credit-risk-models", "1abc", "a" * 63, "a--b"],
    "model_type": ["tabular", "llm"],
    "problem_type": ["binary_classification", "regression"],
    "label_column": ["approved", "_x", "Credit_Limit2", "x" * 64],
    "positive_label": ["1", "5000", "0.5", "-1e3"],
    "facet_column": ["gender", "age_band"],
    "facet_value": ["F", "40", "-1.5", "Non binary", "a+b", "x" * 64],
    "source_provider": ["codeconnections", "codecommit"],
    "processing_instance_type": ["ml.m5.xlarge", "ml.g5.12xlarge", "ml.trn1n.32xlarge"],
    "training_instance_type": ["ml.m5.xlarge", "ml.p4d.24xlarge"],
    "include_pre_commit": [True, False],
    "deploy": [True, False],
}

# Answers each field check must reject; the error names that field.
INVALID_ANSWERS: dict[str, list[Any]] = {
    "project_name": [
        "",
        "   ",
        " leading",
        "two\nlines",
        "tab\there",
        "x" * 65,
        "bidi\u202eevil",
        "nul\x00",
        OPEN_EXPR + " 7*7 }}",
        12,
        None,
    ],
    "project_slug": ["Credit-Risk", "1credit", "credit_risk", "credit--risk", "-x", "x-", "crédit"]
    + ["x" * 65, "a b", "../escape"],
    "module_name": ["Credit", "1x", "credit-risk", "class", "match", "local", "sample_data"]
    + ["_private", "x" * 65, "crédit", "os.path"],
    "description": [
        "",
        "!!!",
        '"", ?',
        "a\nb",
        "a\r\nb",
        "x" * 257,
        "line\u2028sep",
        "{" + "% if x %}",
    ],
    "aws_region": ["US-EAST-1", "us-east", "useast1", "us-east-1a", "North Virginia", "us-east-12"],
    "sagemaker_project_name": ["1abc", "a" * 33, "abc-", "-abc", "a_b", "a b", ""],
    "model_package_group_name": ["a" * 64, "-abc", "abc-", "a_b", ""],
    "model_type": ["TABULAR", "vision", "", None],
    "problem_type": ["multiclass", "Regression"],
    "source_provider": ["github", "codestar"],
    "label_column": ["1st", "credit limit", "a,b", 'a"b', "x" * 65, "", "é"],
    "positive_label": ["", "a\nb", "x" * 65],
    "facet_column": ["1st", "gen der", "a;b", "x" * 65],
    "facet_value": ["a,b", '"F"', " F", "", "x" * 65, "F\n", "a'b"],
    "processing_instance_type": ["m5.xlarge", "ml.m5", "ML.M5.XLARGE", "ml.m5.xlarge; rm -rf /"],
    "training_instance_type": ["ml..xlarge", "ml.m5.xlarge "],
    "include_pre_commit": ["true", "y", 1, None],
    "deploy": ["yes", 0, None],
}

CASES_VALID = [(field, value) for field, values in VALID_ANSWERS.items() for value in values]
CASES_INVALID = [(field, value) for field, values in INVALID_ANSWERS.items() for value in values]


def case_id(case: Any) -> str:
    """Short readable ids for parametrized values."""
    text = repr(case)
    return text if len(text) <= 30 else text[:27] + "..."


def defaults(**changes: Any) -> dict[str, Any]:
    """The --no-input answers, with some replaced."""
    answers = {
        key: value
        for key, value in make_context()["cookiecutter"].items()
        if not key.startswith("_")
    }
    answers.update(changes)
    return answers


@pytest.mark.parametrize(("field", "value"), CASES_VALID, ids=case_id)
def test_field_check_accepts_valid_answer(pre_gen: ModuleType, field: str, value: Any) -> None:
    """Each field check passes the answers the template supports."""
    pre_gen.FIELD_CHECKS[field](value)


@pytest.mark.parametrize(("field", "value"), CASES_INVALID, ids=case_id)
def test_field_check_rejects_invalid_answer(pre_gen: ModuleType, field: str, value: Any) -> None:
    """Each field check raises AnswerError naming its field, with a problem and a fix."""
    with pytest.raises(pre_gen.AnswerError) as caught:
        pre_gen.FIELD_CHECKS[field](value)
    assert caught.value.field == field
    assert caught.value.problem and caught.value.fix
    message = str(caught.value)
    assert message.startswith(f"{field}: ") and "\n" not in message and "\r" not in message
    assert len(message) < 400


def test_every_question_has_a_field_check(pre_gen: ModuleType, cookiecutter_json: dict) -> None:
    """FIELD_CHECKS covers exactly the questions of cookiecutter.json, in question order."""
    questions = [key for key in cookiecutter_json if not key.startswith("_")]
    assert list(pre_gen.FIELD_CHECKS) == questions


def test_every_question_has_a_prompt(cookiecutter_json: dict) -> None:
    """__prompts__ explains every question and names no unknown key."""
    questions = {key for key in cookiecutter_json if not key.startswith("_")}
    assert set(cookiecutter_json["__prompts__"]) == questions
    for key, prompt in cookiecutter_json["__prompts__"].items():
        if isinstance(cookiecutter_json[key], list):
            assert set(prompt) == {"__prompt__", *cookiecutter_json[key]}, key


def test_toggles_are_json_booleans(cookiecutter_json: dict) -> None:
    """include_pre_commit is a JSON boolean, not a "y"/"n" string."""
    assert cookiecutter_json["include_pre_commit"] is True
    assert cookiecutter_json["deploy"] is True


def test_choices_match_cookiecutter_json(pre_gen: ModuleType, cookiecutter_json: dict) -> None:
    """The hook's enumerations are the lists cookiecutter.json offers."""
    lists = {
        key: tuple(value)
        for key, value in cookiecutter_json.items()
        if isinstance(value, list) and not key.startswith("_")
    }
    assert pre_gen.CHOICES == lists


def test_derived_keys_match_cookiecutter_json(pre_gen: ModuleType, cookiecutter_json: dict) -> None:
    """DERIVED_KEYS are exactly the questions whose default is a Jinja expression."""
    derived = {
        key
        for key, value in cookiecutter_json.items()
        if not key.startswith("_") and isinstance(value, str) and OPEN_EXPR in value
    }
    assert set(pre_gen.DERIVED_KEYS) == derived


def test_reserved_module_names_cover_the_template(pre_gen: ModuleType) -> None:
    """No module_name may collide with a file or folder the template ships under pipelines/."""
    shipped = {
        path.stem
        for path in (TEMPLATE_DIR / "pipelines").iterdir()
        if OPEN_EXPR not in path.name and pre_gen.MODULE_PATTERN.fullmatch(path.stem)
    }
    assert shipped <= set(pre_gen.RESERVED_MODULE_NAMES)


def test_default_answers_are_valid(pre_gen: ModuleType) -> None:
    """The --no-input bake passes every check."""
    context = make_context()
    pre_gen.validate(context["cookiecutter"], context["_cookiecutter"])


def test_regression_defaults_are_valid(pre_gen: ModuleType) -> None:
    """Choosing regression derives a numeric positive label and a regression label column."""
    context = make_context({"problem_type": "regression"})
    assert context["cookiecutter"]["label_column"] == "credit_limit"
    assert context["cookiecutter"]["positive_label"] == "5000"
    pre_gen.validate(context["cookiecutter"], context["_cookiecutter"])


def test_long_project_name_derives_valid_sagemaker_names(pre_gen: ModuleType) -> None:
    """The derived SageMaker project name is cut to 32 characters without a trailing hyphen."""
    context = make_context({"project_name": "abcdefghij abcdefghij abcdefghi xx"})
    answers = context["cookiecutter"]
    assert answers["sagemaker_project_name"] == "abcdefghij-abcdefghij-abcdefghi"
    assert answers["model_package_group_name"] == "abcdefghij-abcdefghij-abcdefghi-models"
    pre_gen.validate(answers, context["_cookiecutter"])


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"model_type": "llm", "problem_type": "regression"}, "problem_type", "does not apply"),
        ({"facet_column": "approved"}, "facet_column", "also the label column"),
        ({"facet_column": "Approved"}, "facet_column", "also the label column"),
        ({"positive_label": "yes"}, "positive_label", "not an integer"),
        ({"positive_label": "1.5"}, "positive_label", "not an integer"),
        (
            {"problem_type": "regression", "label_column": "limit", "positive_label": "high"},
            "positive_label",
            "not a finite number",
        ),
        (
            {"problem_type": "regression", "label_column": "limit", "positive_label": "nan"},
            "positive_label",
            "not a finite number",
        ),
        (
            {"problem_type": "regression", "label_column": "limit", "positive_label": "inf"},
            "positive_label",
            "not a finite number",
        ),
    ],
    ids=["llm-regression", "facet-is-label", "facet-is-label-case", "binary-yes", "binary-float"]
    + ["regression-word", "regression-nan", "regression-inf"],
)
def test_cross_field_rule_rejects(
    pre_gen: ModuleType, changes: dict, field: str, words: str
) -> None:
    """Rules spanning answers name the field to change."""
    with pytest.raises(pre_gen.AnswerError) as caught:
        pre_gen.validate(defaults(**changes))
    assert caught.value.field == field
    assert words in caught.value.problem


def test_unsupported_combinations_is_the_one_list(pre_gen: ModuleType) -> None:
    """Every listed unsupported combination is rejected and nothing else in the option product."""
    choices = pre_gen.CHOICES
    rejected = set()
    for model_type in choices["model_type"]:
        for problem_type in choices["problem_type"]:
            answers = defaults(model_type=model_type, problem_type=problem_type)
            if problem_type == "regression":
                answers.update(label_column="credit_limit", positive_label="5000")
            try:
                pre_gen.validate(answers)
            except pre_gen.AnswerError:
                rejected.add((model_type, problem_type))
    listed = {
        (combo["model_type"], combo["problem_type"])
        for combo, _, _ in pre_gen.UNSUPPORTED_COMBINATIONS
    }
    assert rejected == listed == {("llm", "regression")}


def test_missing_answer_is_reported(pre_gen: ModuleType) -> None:
    """A stale replay file without a newer question fails on that question."""
    answers = defaults()
    del answers["facet_value"]
    with pytest.raises(pre_gen.AnswerError, match="has no answer") as caught:
        pre_gen.validate(answers)
    assert caught.value.field == "facet_value"


def test_answer_evaluated_as_template_is_refused(pre_gen: ModuleType) -> None:
    """An extra_context answer holding Jinja (which cookiecutter evaluates) is refused."""
    with pytest.raises(pre_gen.AnswerError, match="template expression") as caught:
        pre_gen.validate(defaults(description="49"), {"description": OPEN_EXPR + " 7*7 }}"})
    assert caught.value.field == "description"


def test_derived_default_expressions_are_not_refused(pre_gen: ModuleType) -> None:
    """The derived keys' own Jinja defaults are expected in the given answers."""
    context = make_context()
    assert OPEN_EXPR in context["_cookiecutter"]["project_slug"]
    pre_gen.check_not_evaluated_as_template(context["_cookiecutter"])


def test_error_message_shape(pre_gen: ModuleType) -> None:
    """AnswerError reads `<field>: <problem>. <fix>`; long values are shortened."""
    with pytest.raises(pre_gen.AnswerError) as caught:
        pre_gen.FIELD_CHECKS["aws_region"]("x" * 1000)
    assert str(caught.value) == "aws_region: is 1000 characters long, the limit is 64. Shorten it"
    assert pre_gen.shown("y" * 1000) == "'" + "y" * 55 + "...'"


def run_rendered_hook(tmp_path: Path, extra: dict[str, Any] | None) -> subprocess.CompletedProcess:
    """Render the pre-gen hook for these answers and run it like cookiecutter does."""
    script = tmp_path / "pre_gen_project.py"
    script.write_text(render_hook("pre_gen_project", make_context(extra)), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_rendered_hook_accepts_defaults(tmp_path: Path) -> None:
    """The rendered script exits 0 silently for the default answers."""
    completed = run_rendered_hook(tmp_path, None)
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")


def test_rendered_hook_prints_one_error_line(tmp_path: Path) -> None:
    """A bad answer gives exit 1 and exactly one ERROR line on stderr, nothing on stdout."""
    completed = run_rendered_hook(tmp_path, {"aws_region": "US-East"})
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == (
        "ERROR: aws_region: 'US-East' is not valid. Use a region code such as us-east-1 or "
        "eu-west-2\n"
    )


def test_rendered_hook_refuses_evaluated_expression(tmp_path: Path) -> None:
    """An expression given on the command line is evaluated by cookiecutter and then refused."""
    completed = run_rendered_hook(tmp_path, {"project_name": OPEN_EXPR + " 7*7 }}"})
    assert completed.returncode == 1
    assert completed.stderr.startswith("ERROR: project_name: was given as a template expression")


def test_unrendered_hook_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """Run without cookiecutter, the hook reports a usage error rather than a traceback."""
    module = load_module(HOOKS_DIR / "pre_gen_project.py", "pre_gen_direct")
    assert module.main() == 1
    assert capsys.readouterr().err.startswith("ERROR: hook: answers are not JSON")


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hook_has_jinja_only_in_its_answer_constants(name: str) -> None:
    """Rendering changes only the RENDERED_* lines, so the hook is the Python that was linted."""
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8").splitlines()
    rendered = render_hook(name, make_context()).splitlines()
    assert len(source) == len(rendered)
    changed = [before for before, after in zip(source, rendered, strict=True) if before != after]
    assert changed and all(line.startswith("RENDERED_") for line in changed)


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_hooks_never_assert(name: str) -> None:
    """Hooks explain errors instead of asserting (asserts vanish under python -O)."""
    tree = ast.parse((HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(min_size=0, max_size=40))
def test_any_answer_survives_rendering_verbatim(value: str) -> None:
    """Any text (quotes, triple quotes, backslashes) survives tojson inside the raw string."""
    context = make_context()
    context["cookiecutter"]["description"] = value + '"""' + value + "\\"
    namespace: dict[str, Any] = {"__name__": "rendered_pre_gen"}
    exec(compile(render_hook("pre_gen_project", context), "<hook>", "exec"), namespace)  # noqa: S102
    answers = namespace["load_answers"](namespace["RENDERED_ANSWERS"])
    assert answers["description"] == value + '"""' + value + "\\"
