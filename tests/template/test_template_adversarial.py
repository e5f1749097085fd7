"""Bad, unsupported and adversarial answers: refused with one ERROR line, or carried verbatim."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from bake_support import (
    TEMPLATE_ROOT,
    UNSUPPORTED_COMBINATIONS,
    VENV_BIN,
    combination_id,
    leftovers,
    python_string_values,
    run_ruff,
)
from cookiecutter.exceptions import (
    FailedHookException,
    OutputDirExistsException,
    UndefinedVariableInTemplate,
)

OPEN_EXPR = "{" + "{"
INJECTION = "\"; import os; os.system('touch pwned') #"

# (answers, field the ERROR line names, first words of the problem after "<field>: ").
REFUSED_ANSWERS: list[tuple[dict[str, Any], str, str]] = [
    ({"description": "two\nlines"}, "description", "contains the control or line-break character"),
    ({"description": "tab\there"}, "description", "contains the control or line-break character"),
    ({"description": "x" * 300}, "description", "is 300 characters long, the limit is 256"),
    ({"description": OPEN_EXPR + " 7*7 }}"}, "description", "was given as a template expression"),
    ({"project_name": "x" * 100}, "project_name", "is 100 characters long"),
    ({"project_name": "bidi \u202e txt"}, "project_name", "contains the control"),
    ({"project_name": "3D Credit"}, "project_slug", "'3d-credit' is not valid"),
    ({"project_slug": "../escape"}, "project_slug", "'../escape' is not valid"),
    ({"module_name": INJECTION}, "module_name", "'\"; import os; os.system"),
    ({"module_name": "class"}, "module_name", "'class' is a Python keyword"),
    ({"module_name": "local"}, "module_name", "'local' collides"),
    ({"aws_region": "US-EAST-1"}, "aws_region", "'US-EAST-1' is not valid"),
    ({"aws_region": "eu-west-2; rm -rf ~"}, "aws_region", "'eu-west-2; rm -rf ~' is not valid"),
    ({"aws_region": "mars-north-1"}, "aws_region", "'mars-north-1' is not valid"),
    ({"sagemaker_project_name": "a" * 33}, "sagemaker_project_name", "is 33 characters long"),
    ({"sagemaker_project_name": "1credit"}, "sagemaker_project_name", "'1credit' is not valid"),
    ({"sagemaker_project_name": "credit_risk"}, "sagemaker_project_name", "'credit_risk' is not"),
    ({"model_package_group_name": "m" * 64}, "model_package_group_name", "is 64 characters long"),
    ({"model_package_group_name": "models-"}, "model_package_group_name", "'models-' is not"),
    ({"label_column": "credit limit"}, "label_column", "'credit limit' is not valid"),
    ({"facet_column": "a,b"}, "facet_column", "'a,b' is not valid"),
    ({"facet_value": 'F"'}, "facet_value", "'F\"' is not valid"),
    ({"processing_instance_type": "ml.m5.xlarge; rm -rf /"}, "processing_instance_type", "'ml.m5"),
    ({"training_instance_type": "m5.xlarge"}, "training_instance_type", "'m5.xlarge' is not"),
]

# Answers cookiecutter itself refuses before any hook runs.
REFUSED_BY_COOKIECUTTER: list[tuple[dict[str, Any], type[Exception]]] = [
    ({"model_type": "vision"}, ValueError),
    ({"include_pre_commit": "maybe"}, ValueError),
    ({"description": OPEN_EXPR + " undefined_name }}"}, UndefinedVariableInTemplate),
    # An empty slug renders the project directory as the output directory itself.
    ({"project_name": "!!!"}, OutputDirExistsException),
]

# One legal bake full of awkward characters: every one must arrive verbatim.
AWKWARD_DESCRIPTION = (
    "Quotes \"double\" 'single' \"\"\"triple\"\"\" '''triple''' back\\slash ünïcode ✓ "
    "<b>&amp;</b> " + INJECTION + " \\"
)
AWKWARD_PROJECT_NAME = 'Crédit O\'Brien "Risk" ✓'


def failed_output(tmpdir: Any) -> list[str]:
    """Anything the failed bakes left under the cookies output root (empty bakeNN dirs aside)."""
    root = Path(str(tmpdir)) / "cookies"
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*") if path.name[:4] != "bake"
    )


def error_lines(err: str) -> list[str]:
    """The lines of captured stderr that start with ERROR."""
    return [line for line in err.splitlines() if line.startswith("ERROR:")]


def assert_refused_by_hook(
    result: Any, capfd: pytest.CaptureFixture[str], tmpdir: Any, field: str, words: str
) -> None:
    """The bake failed in the pre-gen hook with exactly one ERROR line and left nothing behind."""
    assert result.exit_code == -1
    assert isinstance(result.exception, FailedHookException)
    lines = error_lines(capfd.readouterr().err)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ERROR: {field}: {words}"), lines[0]
    assert failed_output(tmpdir) == []


@pytest.mark.parametrize(
    ("answers", "field", "words"),
    REFUSED_ANSWERS,
    ids=[combination_id(a) for a, _, _ in REFUSED_ANSWERS],
)
def test_bad_answer_is_refused_with_one_error_line(
    cookies: Any,
    tmpdir: Any,
    capfd: pytest.CaptureFixture[str],
    answers: dict[str, Any],
    field: str,
    words: str,
) -> None:
    """The pre-gen hook fails the bake with ERROR: <field>: <problem>. <fix>, leaving nothing."""
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE_ROOT))
    assert_refused_by_hook(result, capfd, tmpdir, field, words)


@pytest.mark.parametrize(
    ("answers", "field", "words"),
    UNSUPPORTED_COMBINATIONS,
    ids=[combination_id(a) for a, _, _ in UNSUPPORTED_COMBINATIONS],
)
def test_unsupported_combination_is_refused(
    cookies: Any,
    tmpdir: Any,
    capfd: pytest.CaptureFixture[str],
    answers: dict[str, Any],
    field: str,
    words: str,
) -> None:
    """Each unsupported combination raises FailedHookException, names its field, leaves nothing."""
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE_ROOT))
    assert_refused_by_hook(result, capfd, tmpdir, field, words)


@pytest.mark.parametrize(
    ("answers", "error"),
    REFUSED_BY_COOKIECUTTER,
    ids=[combination_id(a) for a, _ in REFUSED_BY_COOKIECUTTER],
)
def test_answer_refused_by_cookiecutter_leaves_nothing(
    cookies: Any, tmpdir: Any, answers: dict[str, Any], error: type[Exception]
) -> None:
    """Invalid choices, non-booleans, undefined names, empty slugs: cookiecutter fails, cleanly."""
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE_ROOT))
    assert isinstance(result.exception, error)
    assert failed_output(tmpdir) == []


def test_absolute_slug_directory_is_removed_again(
    cookies: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """An absolute slug makes cookiecutter create that directory; the refused bake removes it."""
    target = tmp_path / "elsewhere"
    result = cookies.bake(extra_context={"project_slug": str(target)}, template=str(TEMPLATE_ROOT))
    assert isinstance(result.exception, FailedHookException)
    assert error_lines(capfd.readouterr().err)[0].startswith("ERROR: project_slug: ")
    assert not target.exists()


@pytest.fixture(scope="module")
def awkward(bake_once: Any) -> Any:
    """One bake whose free-text answers hold quotes, backslashes, unicode and injection shapes."""
    return bake_once(
        {
            "project_name": AWKWARD_PROJECT_NAME,
            "description": AWKWARD_DESCRIPTION,
            "facet_value": "Non binary",
        }
    )


@pytest.fixture(scope="module")
def awkward_project(awkward: Any) -> Path:
    """The awkward bake's directory (the bake must have succeeded)."""
    if awkward.exception is not None:
        pytest.fail(f"bake failed: {awkward.exception!r}")
    return Path(awkward.project_path)


def test_awkward_answers_bake(awkward: Any) -> None:
    """Legal but awkward answers bake; the derived names are plain ASCII."""
    assert awkward.exception is None, repr(awkward.exception)
    assert awkward.context["project_slug"] == "credit-o-brien-risk"
    assert awkward.context["module_name"] == "credit_o_brien_risk"
    assert awkward.context["sagemaker_project_name"] == "credit-o-brien-risk"


def test_awkward_answers_reach_python_verbatim(awkward_project: Path) -> None:
    """The description arrives in the baked Python as the same string (parsed, not grepped)."""
    values: set[str] = set()
    for path in awkward_project.rglob("*.py"):
        values |= python_string_values(path)
    assert AWKWARD_DESCRIPTION in values


def test_awkward_answers_reach_readme_and_pyproject_verbatim(awkward_project: Path) -> None:
    """README shows the project name and description as typed; pyproject parses."""
    readme = (awkward_project / "README.md").read_text(encoding="utf-8")
    assert AWKWARD_PROJECT_NAME in readme
    assert AWKWARD_DESCRIPTION in readme
    tomllib.loads((awkward_project / "pyproject.toml").read_text(encoding="utf-8"))


def test_awkward_bake_is_clean(awkward_project: Path) -> None:
    """No leftover template syntax, ruff check and format clean, nothing executed."""
    project = awkward_project
    assert leftovers(project) == []
    for args in (("check",), ("format", "--check")):
        completed = run_ruff(project, *args)
        assert completed.returncode == 0, completed.stdout
    assert not list(project.parent.rglob("pwned")) and not Path("pwned").exists()


def test_cookiecutter_cli_refuses_with_the_error_line(tmp_path: Path) -> None:
    """The command a user runs: exit status non-zero, our ERROR line on stderr, nothing written."""
    completed = subprocess.run(
        [str(VENV_BIN / "cookiecutter"), str(TEMPLATE_ROOT), "--no-input", "-o", str(tmp_path)]
        + ["aws_region=Frankfurt"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert (
        "ERROR: aws_region: 'Frankfurt' is not valid. Use a region code such as us-east-1 or "
        "eu-west-2\n" in completed.stderr
    )
    assert list(tmp_path.iterdir()) == []
