"""Fixtures for the hook unit tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hooks_support import COOKIECUTTER_JSON, HOOKS_DIR, load_module, make_context, render_hook


@pytest.fixture
def rendered_hook(tmp_path: Path) -> Callable[[str, Mapping[str, Any] | None], ModuleType]:
    """Render a hook for the given answers into tmp_path and import it."""

    def render_and_load(name: str, extra: Mapping[str, Any] | None = None) -> ModuleType:
        path = tmp_path / f"{name}.py"
        path.write_text(render_hook(name, make_context(extra)), encoding="utf-8")
        return load_module(path, f"rendered_{name}")

    return render_and_load


@pytest.fixture(scope="session")
def pre_gen() -> ModuleType:
    """The unrendered pre-gen hook: valid Python, so its validators can be called directly."""
    return load_module(HOOKS_DIR / "pre_gen_project.py", "pre_gen_project_unrendered")


@pytest.fixture(scope="session")
def post_gen() -> ModuleType:
    """The unrendered post-gen hook."""
    return load_module(HOOKS_DIR / "post_gen_project.py", "post_gen_project_unrendered")


@pytest.fixture(scope="session")
def cookiecutter_json() -> dict[str, Any]:
    """cookiecutter.json as written."""
    return json.loads(COOKIECUTTER_JSON.read_text(encoding="utf-8"))
