"""Post-generation hook: remove the parts of the baked repo that the answers did not select.

Runs in the baked project directory. What an answer changes is in two tables:

- REMOVALS: (question, answer) -> paths to delete (files or whole directories);
- RENAMES: (question, answer) -> (source, target) moves, for the one either/or file the variants
  share a name for: the LLM variant's pipeline_llm.py becomes pipeline.py.

Then it deletes tool caches (CACHE_DIR_NAMES) that a developer's run left in the template tree.

A rename replaces its target, so removals and renames give the same result in any order: that is
why the tabular pipeline.py is not in the LLM removal list. A path listed in a table but missing
from the bake is a template bug: the hook prints one ERROR line and exits 1, and cookiecutter then
deletes the half-made project. No network, no installs.

The file stays valid Python before rendering (the only Jinja is inside the string constant below).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# See hooks/pre_gen_project.py for why the whole mapping goes through tojson into a raw string.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""

# Paths are relative to the baked project; "{module}" is the module_name answer.
MODULE_DIR = "pipelines/{module}"

# Files only the LLM variant uses: the evaluation package (with its
# processing entry point and datasets), the pipeline and their tests.
LLM_ONLY: tuple[str, ...] = (
    f"{MODULE_DIR}/llm",
    f"{MODULE_DIR}/pipeline_llm.py",
    "tests/test_llm_evaluations.py",
    "tests/test_llm_stats.py",
    "tests/test_llm_pipeline.py",
)

# The deploy side (issue 13): endpoint configuration as code, the deploy build step, buildspecs and
# their tests. Removed by `deploy: false`, and by `model_type: llm` (no endpoint for an LLM yet).
DEPLOY_ONLY: tuple[str, ...] = (
    "deploy",
    "tests/test_deploy.py",
)

# Files only the tabular variant uses: the local build, the sample data, the step scripts and their
# tests. pipeline.py is absent on purpose: the LLM rename replaces it.
TABULAR_ONLY: tuple[str, ...] = (
    "pipelines/local.py",
    "pipelines/reports.py",
    "pipelines/sample_data.py",
    f"{MODULE_DIR}/schema.py",
    f"{MODULE_DIR}/evidence.py",
    f"{MODULE_DIR}/preprocess.py",
    f"{MODULE_DIR}/predict.py",
    f"{MODULE_DIR}/train_local.py",
    "tests/test_local.py",
    "tests/test_pipeline.py",
    *DEPLOY_ONLY,
)

REMOVALS: dict[tuple[str, Any], tuple[str, ...]] = {
    ("model_type", "tabular"): LLM_ONLY,
    ("model_type", "llm"): TABULAR_ONLY,
    ("include_pre_commit", False): (".pre-commit-config.yaml",),
    ("deploy", False): DEPLOY_ONLY,
}

RENAMES: dict[tuple[str, Any], tuple[tuple[str, str], ...]] = {
    ("model_type", "llm"): ((f"{MODULE_DIR}/pipeline_llm.py", f"{MODULE_DIR}/pipeline.py"),),
}


# Tool caches a developer's run may have left inside the template directory (git ignores them, but
# cookiecutter copies whatever is on disk). A baked repo never ships them.
CACHE_DIR_NAMES = frozenset(
    {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis"}
)


class TemplateError(Exception):
    """The template and the tables above disagree."""


def selected(table: Mapping[tuple[str, Any], Any], answers: Mapping[str, Any]) -> list[Any]:
    """The table entries whose (question, answer) matches the answers, in table order."""
    return [entry for (question, answer), entry in table.items() if answers.get(question) == answer]


def resolve(project: Path, path: str, answers: Mapping[str, Any]) -> Path:
    """A table path inside the project, with {module} filled in."""
    return project / path.format(module=answers["module_name"])


def remove_paths(project: Path, paths: Iterable[str], answers: Mapping[str, Any]) -> list[Path]:
    """Delete each listed file or directory; a missing one is a template bug."""
    removed = []
    for path in paths:
        target = resolve(project, path, answers)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        else:
            raise TemplateError(f"{path} is listed for removal but the template did not bake it")
        removed.append(target)
    return removed


def rename_paths(
    project: Path, moves: Iterable[tuple[str, str]], answers: Mapping[str, Any]
) -> list[Path]:
    """Move each source onto its target, replacing the target if it exists."""
    renamed = []
    for source_path, target_path in moves:
        source = resolve(project, source_path, answers)
        target = resolve(project, target_path, answers)
        if not source.is_file():
            raise TemplateError(
                f"{source_path} is listed for renaming but the template did not bake it"
            )
        source.replace(target)
        renamed.append(target)
    return renamed


def remove_unselected_parts(project: Path, answers: Mapping[str, Any]) -> list[Path]:
    """Apply every REMOVALS entry the answers select; a path two entries share goes once."""
    removed: list[Path] = []
    seen: set[str] = set()
    for paths in selected(REMOVALS, answers):
        fresh = [path for path in paths if path not in seen]
        seen.update(fresh)
        removed += remove_paths(project, fresh, answers)
    return removed


def rename_variant_files(project: Path, answers: Mapping[str, Any]) -> list[Path]:
    """Apply every RENAMES entry the answers select."""
    renamed: list[Path] = []
    for moves in selected(RENAMES, answers):
        renamed += rename_paths(project, moves, answers)
    return renamed


def remove_tool_caches(project: Path) -> list[Path]:
    """Delete cache directories copied from a developer's working tree."""
    caches = sorted(
        path for path in project.rglob("*") if path.is_dir() and path.name in CACHE_DIR_NAMES
    )
    for cache in caches:
        if cache.exists():  # a cache nested in an already removed one is gone
            shutil.rmtree(cache)
    return caches


def main(project: Path | None = None, rendered: str = RENDERED_ANSWERS) -> int:
    """Remove what was not selected, then put the variant's files in place."""
    project = project or Path.cwd()
    answers = json.loads(rendered)
    try:
        remove_unselected_parts(project, answers)
        rename_variant_files(project, answers)
        remove_tool_caches(project)
    except TemplateError as err:
        print(
            f"ERROR: post_gen_project: {err}. Fix the table in hooks/post_gen_project.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
