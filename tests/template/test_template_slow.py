"""Slow tier: the baked repo's own tests and its `make local` run, as a team would run them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bake_support import PYTHON, TEMPLATE_ROOT, combination_id

pytestmark = pytest.mark.slow

# Baked afresh (not shared with the fast tier): running tests and builds writes caches and build/
# into the repo, which the exact-file-list tests must never see.
TABULAR_DEFAULTS: list[dict[str, Any]] = [
    {"model_type": "tabular", "problem_type": "binary_classification"},
    {"model_type": "tabular", "problem_type": "regression"},
]
# The LLM bake's own tests take under a minute (their one slow test loads the embedded model), so
# they run here; its `make local` (the full evaluation) is left to the LLM flow's own slow test.
LLM_DEFAULT: dict[str, Any] = {"model_type": "llm"}

REPORTS = {
    "data_bias/analysis.json": "pre_training_bias_metrics",
    "model_bias/analysis.json": "post_training_bias_metrics",
    "explainability/analysis.json": "explanations",
    "model_quality/statistics.json": None,  # binary_classification_metrics or regression_metrics
}
# Generous bound so a hung subprocess fails the test instead of the whole run; not a speed check.
SUBPROCESS_TIMEOUT_S = 1800


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command in the baked repo with the test environment (no AWS, no network)."""
    return subprocess.run(
        command,
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=SUBPROCESS_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def fresh_bake(cookies_session: Any) -> Callable[[dict[str, Any]], tuple[Path, dict[str, Any]]]:
    """Bake a combination for the slow checks, once per module."""
    bakes: dict[str, tuple[Path, dict[str, Any]]] = {}

    def bake(answers: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        key = json.dumps(answers, sort_keys=True)
        if key not in bakes:
            result = cookies_session.bake(extra_context=answers, template=str(TEMPLATE_ROOT))
            if result.exception is not None:
                pytest.fail(f"bake failed: {result.exception!r}")
            bakes[key] = (Path(result.project_path), dict(result.context))
        return bakes[key]

    return bake


@pytest.mark.parametrize("answers", [*TABULAR_DEFAULTS, LLM_DEFAULT], ids=combination_id)
def test_baked_repo_tests_pass(fresh_bake: Callable, answers: dict[str, Any]) -> None:
    """`pytest` inside the baked repo passes, its own slow tests included."""
    project, _ = fresh_bake(answers)
    completed = run([str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert " passed" in completed.stdout


@pytest.mark.parametrize("answers", TABULAR_DEFAULTS, ids=combination_id)
def test_make_local_writes_the_four_reports(fresh_bake: Callable, answers: dict[str, Any]) -> None:
    """`make local` writes Clarify and Model Monitor shaped reports under build/local/reports."""
    project, answers = fresh_bake(answers)
    completed = run(["make", "-C", str(project), "local", f"PYTHON={PYTHON}"], project)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    reports = project / "build" / "local" / "reports"
    for relative, key in REPORTS.items():
        document = json.loads((reports / relative).read_text(encoding="utf-8"))
        if key is not None:
            assert key in document, relative
    explanations = json.loads((reports / "explainability/analysis.json").read_text())
    assert explanations["explanations"]["kernel_shap"]
    statistics = json.loads((reports / "model_quality/statistics.json").read_text())
    expected_kind = (
        "regression_metrics"
        if answers["problem_type"] == "regression"
        else "binary_classification_metrics"
    )
    assert expected_kind in statistics
    # The data-quality baseline of data/baseline.csv (DriftCheckBaselines.ModelDataQuality).
    baseline = project / "build" / "local" / "baselines" / "data_quality"
    quality = json.loads((baseline / "statistics.json").read_text(encoding="utf-8"))
    constraints = json.loads((baseline / "constraints.json").read_text(encoding="utf-8"))
    names = [feature["name"] for feature in quality["features"]]
    assert names == [f"_c{i}" for i in range(len(names))] and len(names) > 1
    assert [feature["name"] for feature in constraints["features"]] == names
