"""Load the cookiecutter hooks the way cookiecutter runs them: rendered by its StrictEnvironment."""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from cookiecutter.utils import create_env_with_context

REPO_ROOT = Path(__file__).resolve().parents[2]
HOOKS_DIR = REPO_ROOT / "hooks"
COOKIECUTTER_JSON = REPO_ROOT / "cookiecutter.json"
TEMPLATE_DIR = REPO_ROOT / "{{cookiecutter.project_slug}}"


def make_context(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context cookiecutter hands its hooks for a --no-input bake with these answers."""
    context = generate_context(context_file=str(COOKIECUTTER_JSON), extra_context=dict(extra or {}))
    # main.cookiecutter() keeps the given (unrendered) answers under _cookiecutter before prompting.
    context["_cookiecutter"] = {
        key: copy.deepcopy(value)
        for key, value in context["cookiecutter"].items()
        if not key.startswith("_")
    }
    context["cookiecutter"].update(prompt_for_config(context, no_input=True))
    context["cookiecutter"]["_template"] = str(REPO_ROOT)
    context["cookiecutter"]["_output_dir"] = "/nonexistent"
    context["cookiecutter"]["_repo_dir"] = str(REPO_ROOT)
    context["cookiecutter"]["_checkout"] = None
    return context


def render_hook(name: str, context: Mapping[str, Any]) -> str:
    """The hook's source as cookiecutter renders it before running it."""
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    env = create_env_with_context(dict(context))
    return env.from_string(source).render(**context)


def load_module(path: Path, module_name: str) -> ModuleType:
    """Import a file as a module without touching sys.path."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
