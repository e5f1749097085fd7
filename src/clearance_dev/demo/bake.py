"""Stage: bake the team project with cookiecutter's Python API."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clearance_dev.demo.common import DemoError


def bake(template: Path, out_dir: Path, extra_context: Mapping[str, Any] | None = None) -> Path:
    """Bake the team template with cookiecutter's Python API; returns the baked repo path.

    cookiecutter's replay and cache directories are pointed under ``out_dir`` so the demo writes
    nothing to the home directory. A failed bake (the pre-gen hook prints its own ERROR line) is
    one DemoError line.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    _require_template(template)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    config = out_dir.parent / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(out_dir.parent / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(out_dir.parent / 'replay'))}\n",
        encoding="utf-8",
    )
    try:
        baked = cookiecutter(
            str(template),
            no_input=True,
            output_dir=str(out_dir),
            config_file=str(config),
            extra_context=dict(extra_context or {}),
        )
    except CookiecutterException as exc:
        raise DemoError(
            f"bake: cookiecutter failed ({type(exc).__name__}: {exc}). "
            "The template's own message is above"
        ) from None
    return Path(baked)


def _require_template(template: Path) -> None:
    if not (template / "cookiecutter.json").is_file():
        raise DemoError(f"--template: {template} has no cookiecutter.json. Run from the repo root")


def template_answers(
    template: Path, extra_context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The answers a --no-input bake uses (derived names rendered), from cookiecutter's own API."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    _require_template(template)
    context = generate_context(
        context_file=str(template / "cookiecutter.json"),
        extra_context=dict(extra_context or {}),
    )
    return dict(prompt_for_config(context, no_input=True))


# -------------------------------------------------------------------------------------- build
