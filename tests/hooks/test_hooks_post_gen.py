"""Unit tests of hooks/post_gen_project.py: the removal and rename tables on a scratch project."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hooks_support import TEMPLATE_DIR

MODULE = "credit_risk"
TEMPLATE_MODULE = "{" + "{cookiecutter.module_name}}"


def table_paths(post_gen: ModuleType, module: str = MODULE) -> set[str]:
    """Every path the tables mention, with the module filled in."""
    paths = {path for paths in post_gen.REMOVALS.values() for path in paths}
    paths |= {path for moves in post_gen.RENAMES.values() for move in moves for path in move}
    return {path.format(module=module) for path in paths}


def make_project(root: Path, post_gen: ModuleType) -> Path:
    """A scratch project with every table path (a directory gets a file inside) and shared files."""
    project = root / "project"
    for relative in sorted(table_paths(post_gen)) + ["README.md", "pipelines/__init__.py"]:
        target = project / relative
        if target.suffix:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"# {relative}\n", encoding="utf-8")
        else:
            (target / "inner").mkdir(parents=True, exist_ok=True)
            (target / "inner" / "file.py").write_text("# inner\n", encoding="utf-8")
    return project


def listing(project: Path) -> set[str]:
    """Relative paths of every file under project."""
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}


def answers(**changes: Any) -> dict[str, Any]:
    """Answers the post-gen hook reads (module_name and the table keys)."""
    return {"module_name": MODULE, "model_type": "tabular", "include_pre_commit": True, **changes}


def under(paths: tuple[str, ...], files: set[str]) -> set[str]:
    """The files that a list of table paths covers."""
    prefixes = [path.format(module=MODULE) for path in paths]
    return {f for f in files if any(f == p or f.startswith(p + "/") for p in prefixes)}


@pytest.fixture
def project(tmp_path: Path, post_gen: ModuleType) -> Path:
    """A fresh scratch project."""
    return make_project(tmp_path, post_gen)


def test_tabular_removes_llm_only_files(post_gen: ModuleType, project: Path) -> None:
    """model_type tabular deletes exactly the LLM-only paths and renames nothing."""
    before = listing(project)
    assert post_gen.main(project, json.dumps(answers())) == 0
    assert listing(project) == before - under(post_gen.LLM_ONLY, before)
    assert (project / f"pipelines/{MODULE}/pipeline.py").read_text() == (
        f"# pipelines/{MODULE}/pipeline.py\n"
    )


def test_llm_removes_tabular_files_and_renames_its_pipeline(
    post_gen: ModuleType, project: Path
) -> None:
    """model_type llm deletes the tabular-only paths and puts pipeline_llm.py at pipeline.py."""
    before = listing(project)
    assert post_gen.main(project, json.dumps(answers(model_type="llm"))) == 0
    expected = before - under(post_gen.TABULAR_ONLY, before)
    expected.discard(f"pipelines/{MODULE}/pipeline_llm.py")
    assert listing(project) == expected
    assert (project / f"pipelines/{MODULE}/pipeline.py").read_text() == (
        f"# pipelines/{MODULE}/pipeline_llm.py\n"
    )


@pytest.mark.parametrize("include", [True, False])
def test_pre_commit_config_follows_the_toggle(
    post_gen: ModuleType, project: Path, include: bool
) -> None:
    """include_pre_commit false removes .pre-commit-config.yaml; true keeps it."""
    post_gen.main(project, json.dumps(answers(include_pre_commit=include)))
    assert (project / ".pre-commit-config.yaml").exists() is include


@pytest.mark.parametrize("model_type", ["tabular", "llm"])
@pytest.mark.parametrize("deploy", [True, False])
def test_deploy_side_follows_the_toggle_and_the_variant(
    post_gen: ModuleType, project: Path, model_type: str, deploy: bool
) -> None:
    """deploy/ stays only for tabular with deploy true; llm + false removes it once, no error."""
    assert post_gen.main(project, json.dumps(answers(model_type=model_type, deploy=deploy))) == 0
    kept = model_type == "tabular" and deploy
    assert (project / "deploy").exists() is kept
    assert (project / "tests/test_deploy.py").exists() is kept


def test_order_of_removals_and_renames_does_not_matter(
    post_gen: ModuleType, tmp_path: Path
) -> None:
    """Renaming before removing gives the same tree as removing before renaming."""
    llm = answers(model_type="llm", include_pre_commit=False)
    first = make_project(tmp_path / "a", post_gen)
    post_gen.remove_unselected_parts(first, llm)
    post_gen.rename_variant_files(first, llm)
    second = make_project(tmp_path / "b", post_gen)
    post_gen.rename_variant_files(second, llm)
    post_gen.remove_unselected_parts(second, llm)
    assert listing(first) == listing(second)
    assert (first / f"pipelines/{MODULE}/pipeline.py").read_text() == (
        second / f"pipelines/{MODULE}/pipeline.py"
    ).read_text()


def test_variant_lists_are_disjoint(post_gen: ModuleType) -> None:
    """No path is both LLM-only and tabular-only, and the shared pipeline.py is in neither."""
    assert not set(post_gen.LLM_ONLY) & set(post_gen.TABULAR_ONLY)
    assert f"{post_gen.MODULE_DIR}/pipeline.py" not in set(
        post_gen.LLM_ONLY + post_gen.TABULAR_ONLY
    )


def test_table_paths_exist_in_the_template(post_gen: ModuleType) -> None:
    """Every path the tables name is shipped by the template (else every bake of it would fail)."""
    template_paths = table_paths(post_gen, module=TEMPLATE_MODULE)
    template_paths.discard(f"pipelines/{TEMPLATE_MODULE}/pipeline.py")  # a rename target
    missing = sorted(path for path in template_paths if not (TEMPLATE_DIR / path).exists())
    assert missing == []


def test_missing_listed_path_fails_with_one_error_line(
    post_gen: ModuleType, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table path the bake lacks is a template bug: one ERROR line and exit 1, no traceback."""
    (project / f"pipelines/{MODULE}/llm").rename(project / "moved")
    assert post_gen.main(project, json.dumps(answers())) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ERROR: post_gen_project: pipelines/{module}/llm is listed for removal")


def test_missing_rename_source_fails(
    post_gen: ModuleType, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The LLM variant without pipeline_llm.py fails rather than ship the tabular pipeline."""
    (project / f"pipelines/{MODULE}/pipeline_llm.py").unlink()
    assert post_gen.main(project, json.dumps(answers(model_type="llm"))) == 1
    assert "pipeline_llm.py is listed for renaming" in capsys.readouterr().err


def test_rendered_hook_reads_the_answers(
    rendered_hook: Callable[..., ModuleType], tmp_path: Path
) -> None:
    """Rendered by cookiecutter's environment, the hook sees module_name and the toggles."""
    module = rendered_hook("post_gen_project", {"project_name": "Loan Limits", "model_type": "llm"})
    rendered = json.loads(module.RENDERED_ANSWERS)
    assert (rendered["module_name"], rendered["model_type"]) == ("loan_limits", "llm")
    assert rendered["include_pre_commit"] is True


def test_tool_caches_copied_from_the_template_are_removed(
    post_gen: ModuleType, project: Path
) -> None:
    """__pycache__, .ruff_cache and friends never reach a baked repo, wherever they sit."""
    for cache in (
        "pipelines/__pycache__",
        "tests/.ruff_cache/0.1",
        ".pytest_cache",
        "a/.hypothesis",
    ):
        (project / cache).mkdir(parents=True)
        (project / cache / "junk.bin").write_bytes(b"\0")
    before = listing(project)
    assert post_gen.main(project, json.dumps(answers())) == 0
    after = listing(project)
    assert not [path for path in after if "cache" in path or ".hypothesis" in path]
    assert after == {
        path for path in before - under(post_gen.LLM_ONLY, before) if not path.endswith("junk.bin")
    }
