"""Bake every named supported combination once and check the baked repo from every side."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from bake_support import (
    PYTHON,
    REPO_ROOT,
    SUPPORTED_COMBINATIONS,
    TEMPLATE_DIR,
    TEMPLATE_MODULE,
    combination_id,
    import_file,
    leftovers,
    pins,
    python_string_values,
    relative_files,
    run_ruff,
    text_files,
)

# The exact files of each variant, "{module}" standing for module_name. A file added to or dropped
# from the template must be added or dropped here too: a stray or missing file fails the bake test.
SHARED_FILES = [
    ".gitignore",
    "Makefile",
    "README.md",
    "codebuild-buildspec.yml",
    "pyproject.toml",
    "requirements.txt",
    "requirements-nodeps.txt",
    "pipelines/__init__.py",
    "pipelines/_utils.py",
    "pipelines/get_pipeline_definition.py",
    "pipelines/offline.py",
    "pipelines/run_pipeline.py",
    "pipelines/{module}/__init__.py",
    "pipelines/{module}/digest.py",
    "pipelines/{module}/pipeline.py",
    "tests/conftest.py",
]
TABULAR_FILES = [
    "pipelines/local.py",
    "pipelines/reports.py",
    "pipelines/sample_data.py",
    "pipelines/{module}/evidence.py",
    "pipelines/{module}/predict.py",
    "pipelines/{module}/preprocess.py",
    "pipelines/{module}/schema.py",
    "pipelines/{module}/train_local.py",
    "tests/test_local.py",
    "tests/test_pipeline.py",
]
LLM_FILES = [
    "pipelines/{module}/llm/__init__.py",
    "pipelines/{module}/llm/data/bbq_annotations.jsonl",
    "pipelines/{module}/llm/data/bold_templates.json",
    "pipelines/{module}/llm/data/memorization_sources.txt",
    "pipelines/{module}/llm/data/misinfo_headlines.jsonl",
    "pipelines/{module}/llm/datasets.py",
    "pipelines/{module}/llm/evaluations.py",
    "pipelines/{module}/llm/metrics.py",
    "pipelines/{module}/llm/model.py",
    "pipelines/{module}/llm/processing_entry.py",
    "pipelines/{module}/llm/report.py",
    "pipelines/{module}/llm/requirements-nodeps.txt",
    "pipelines/{module}/llm/requirements.txt",
    "pipelines/{module}/llm/runner.py",
    "pipelines/{module}/llm/scorers.py",
    "pipelines/{module}/llm/stats.py",
    "tests/test_llm_evaluations.py",
    "tests/test_llm_pipeline.py",
    "tests/test_llm_stats.py",
]
PRE_COMMIT_FILES = [".pre-commit-config.yaml"]
# The deploy side: tabular bakes with deploy true (the LLM variant ignores the answer).
DEPLOY_FILES = [
    "deploy/build.py",
    "deploy/buildspec.yml",
    "deploy/endpoint-config-template.yml",
    "deploy/prod-config.json",
    "deploy/promote-buildspec.yml",
    "deploy/staging-config.json",
    "deploy/test/buildspec.yml",
    "deploy/test/payload.py",
    "tests/test_deploy.py",
]


def expected_files(answers: dict[str, Any]) -> set[str]:
    """The file list for these answers, from the literal lists above."""
    files = SHARED_FILES + (TABULAR_FILES if answers["model_type"] == "tabular" else LLM_FILES)
    if answers["include_pre_commit"]:
        files = files + PRE_COMMIT_FILES
    if answers["deploy"] and answers["model_type"] == "tabular":
        files = files + DEPLOY_FILES
    return {path.format(module=answers["module_name"]) for path in files}


@pytest.fixture(scope="module", params=SUPPORTED_COMBINATIONS, ids=combination_id)
def baked(request: pytest.FixtureRequest, bake_once: Any) -> Any:
    """One bake per combination, shared by every test of this module."""
    return bake_once(request.param)


@pytest.fixture(scope="module")
def project(baked: Any) -> Path:
    """The baked repo's directory (the bake must have succeeded)."""
    if baked.exception is not None:
        pytest.fail(f"bake failed: {baked.exception!r}")
    return Path(baked.project_path)


@pytest.fixture(scope="module")
def answers(baked: Any) -> dict[str, Any]:
    """The rendered answers of this bake."""
    return dict(baked.context)


def test_bake_succeeds(baked: Any) -> None:
    """Exit code 0, no exception, and the directory named after the slug."""
    assert baked.exit_code == 0
    assert baked.exception is None
    assert baked.project_path.name == baked.context["project_slug"]
    assert baked.project_path.is_dir()


def test_baked_files_are_exactly_the_variant_list(project: Path, answers: dict[str, Any]) -> None:
    """No stray file and no missing file."""
    actual = relative_files(project)
    expected = expected_files(answers)
    assert sorted(actual - expected) == [], "stray files"
    assert sorted(expected - actual) == [], "missing files"


def test_no_template_syntax_is_left(project: Path) -> None:
    """No text file holds an unrendered expression, statement or cookiecutter reference."""
    assert leftovers(project) == []


def test_ruff_check_passes(project: Path) -> None:
    """The baked Python passes ruff check with the baked repo's own configuration."""
    completed = run_ruff(project, "check")
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_ruff_format_check_passes(project: Path) -> None:
    """The baked Python is ruff-formatted as baked."""
    completed = run_ruff(project, "format", "--check")
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_config_file_parses(project: Path) -> None:
    """Every JSON, JSON Lines, YAML and TOML file parses."""
    parsed = []
    for path in sorted(project.rglob("*")):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            assert all(isinstance(json.loads(line), dict) for line in lines if line.strip()), path
        elif path.suffix in (".yml", ".yaml"):
            yaml.safe_load(path.read_text(encoding="utf-8"))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            continue
        parsed.append(path.name)
    assert "pyproject.toml" in parsed and "codebuild-buildspec.yml" in parsed


def test_pyproject_declares_the_seed_code_scripts(project: Path, answers: dict[str, Any]) -> None:
    """Console scripts, package discovery and the root's ruff configuration, unchanged."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {
        "run-pipeline": "pipelines.run_pipeline:main",
        "get-pipeline-definition": "pipelines.get_pipeline_definition:main",
    }
    root = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["ruff"]["line-length"] == root["tool"]["ruff"]["line-length"]
    assert pyproject["tool"]["ruff"]["lint"]["select"] == root["tool"]["ruff"]["lint"]["select"]


def test_buildspec_runs_the_pipeline_with_project_tags(
    project: Path, answers: dict[str, Any]
) -> None:
    """The CodeBuild buildspec installs the repo and calls run-pipeline on this module."""
    buildspec = yaml.safe_load((project / "codebuild-buildspec.yml").read_text(encoding="utf-8"))
    commands = [
        command for phase in buildspec["phases"].values() for command in phase.get("commands", [])
    ]
    script = "\n".join(commands)
    assert "pip install" in script
    run = [command for command in commands if "run-pipeline" in command]
    assert len(run) == 1
    assert f"pipelines.{answers['module_name']}.pipeline" in run[0]
    assert "sagemaker:project-name" in run[0] and "sagemaker:project-id" in run[0]


def test_makefile_local_target_runs_the_variant_build(
    project: Path, answers: dict[str, Any]
) -> None:
    """`make -n local` (a dry run parsed by make itself) calls this variant's local build."""
    completed = subprocess.run(
        ["make", "-s", "-n", "local", f"PYTHON={PYTHON}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    if answers["model_type"] == "llm":
        expected = f"{PYTHON} -m pipelines.{answers['module_name']}.llm.runner"
    else:
        expected = f"{PYTHON} -m pipelines.local"
    assert completed.stdout.startswith(expected), completed.stdout
    assert "--output-dir" in completed.stdout


def test_requirement_pins_match_the_template_repo(project: Path) -> None:
    """Every version the baked repo pins is the version the template repo pins (no drift)."""
    baked_pins: dict[str, str] = {}
    for path in sorted(project.rglob("requirements*.txt")):
        baked_pins |= pins(path)
    root_pins = pins(REPO_ROOT / "requirements.txt") | pins(REPO_ROOT / "requirements-nodeps.txt")
    assert "sagemaker" in baked_pins and "xgboost-cpu" in baked_pins
    drift = {
        name: (version, root_pins.get(name))
        for name, version in baked_pins.items()
        if root_pins.get(name) != version
    }
    assert drift == {}


def test_pre_commit_config_runs_ruff_at_the_pinned_version(
    project: Path, answers: dict[str, Any]
) -> None:
    """When included, pre-commit runs ruff at the version requirements pin."""
    path = project / ".pre-commit-config.yaml"
    if not answers["include_pre_commit"]:
        assert not path.exists()
        return
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    ruff_repos = [repo for repo in config["repos"] if "ruff-pre-commit" in repo["repo"]]
    assert len(ruff_repos) == 1
    assert ruff_repos[0]["rev"] == f"v{pins(REPO_ROOT / 'requirements.txt')['ruff']}"
    assert {hook["id"] for hook in ruff_repos[0]["hooks"]} >= {"ruff-format"}


def test_answers_reach_the_python_constants(project: Path, answers: dict[str, Any]) -> None:
    """Names, region, instance types and description arrive in the baked Python verbatim."""
    values: set[str] = set()
    for path in project.rglob("*.py"):
        values |= python_string_values(path)
    for key in (
        "sagemaker_project_name",
        "model_package_group_name",
        "description",
        "aws_region",
        "processing_instance_type",
        "training_instance_type",
    ):
        assert answers[key] in values, key


def test_pipeline_can_only_register_pending_packages(
    project: Path, answers: dict[str, Any]
) -> None:
    """No ModelApprovalStatus pipeline parameter: the baked pipeline always registers
    PendingManualApproval, and CodeBuild registers into the central registry group's ARN."""
    module = project / "pipelines" / answers["module_name"]
    for name in ("pipeline.py", "pipeline_llm.py"):
        path = module / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert 'REGISTRATION_STATUS = "PendingManualApproval"' in text, name
        assert "approval_status=REGISTRATION_STATUS" in text, name
        assert 'name="ModelApprovalStatus"' not in text, name
    buildspec = (project / "codebuild-buildspec.yml").read_text(encoding="utf-8")
    assert '\\"model_package_group_name\\": \\"${MODEL_PACKAGE_GROUP_ARN}\\"' in buildspec


# Answers the LLM variant does not use (the README says so).
LLM_IGNORED = {"problem_type", "label_column", "positive_label", "facet_column", "facet_value"}


def test_every_answer_reaches_the_baked_repo(project: Path, answers: dict[str, Any]) -> None:
    """An answer that appears nowhere in the bake changes nothing: it should not be asked."""
    text = "\n".join(content for _, content in text_files(project))
    ignored = LLM_IGNORED if answers["model_type"] == "llm" else set()
    unused = [
        key
        for key, value in answers.items()
        if not key.startswith("_")
        and isinstance(value, str)
        and key not in ignored
        and value not in text
    ]
    assert unused == []


# Developer caches in the template tree, which the post-gen hook deletes from every bake.
CACHE_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis"}
TABULAR_COMBINATIONS = [c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "tabular"]
LLM_COMBINATIONS = [c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "llm"]


def baked_project(bake_once: Any, combination: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The shared bake of a combination, failing the test if the bake failed."""
    result = bake_once(combination)
    if result.exception is not None:
        pytest.fail(f"bake failed: {result.exception!r}")
    return Path(result.project_path), dict(result.context)


@pytest.mark.parametrize("combination", TABULAR_COMBINATIONS, ids=combination_id)
def test_schema_holds_the_answers(bake_once: Any, combination: dict[str, Any]) -> None:
    """The tabular schema module (standard library only) exposes the label and facet answers."""
    project, answers = baked_project(bake_once, combination)
    schema = import_file(
        project / "pipelines" / answers["module_name"] / "schema.py",
        f"baked_schema_{answers['problem_type']}",
    )
    assert schema.PROBLEM_TYPE == answers["problem_type"]
    assert schema.LABEL == answers["label_column"]
    assert schema.FACET == answers["facet_column"]
    assert schema.FACET_VALUE == answers["facet_value"]
    assert schema.POSITIVE_LABEL == answers["positive_label"]
    assert schema.HEADERS[0] == answers["label_column"]


@pytest.mark.parametrize("combination", LLM_COMBINATIONS, ids=combination_id)
def test_llm_package_is_copied_byte_for_byte(bake_once: Any, combination: dict[str, Any]) -> None:
    """pipelines/<module>/llm/ (code and datasets) is copied, never rendered."""
    project, answers = baked_project(bake_once, combination)
    source = TEMPLATE_DIR / "pipelines" / TEMPLATE_MODULE / "llm"
    copied = project / "pipelines" / answers["module_name"] / "llm"
    names = {name for name in relative_files(source) if not CACHE_PARTS & set(name.split("/"))}
    assert any(name.startswith("data/") for name in names)
    assert relative_files(copied) == names
    for name in sorted(names):
        assert (copied / name).read_bytes() == (source / name).read_bytes(), name


def test_readme_names_the_project(project: Path, answers: dict[str, Any]) -> None:
    """The baked README carries the project name and the description verbatim."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert answers["project_name"] in readme
    assert answers["description"] in readme


@pytest.mark.parametrize(("answer", "present"), [("no", False), ("yes", True)])
def test_command_line_toggle_strings_become_booleans(
    bake_once: Any, answer: str, present: bool
) -> None:
    """`include_pre_commit=no` on the command line bakes like the JSON boolean false."""
    project, answers = baked_project(bake_once, {"include_pre_commit": answer})
    assert answers["include_pre_commit"] is present
    assert (project / ".pre-commit-config.yaml").exists() is present
