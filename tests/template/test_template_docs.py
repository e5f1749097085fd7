"""The options table in docs/template.md says what cookiecutter.json and its __prompts__ say."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "template.md"
TABLE_HEADER = "| Option | Default | Question | Choices |"


def cell(text: str) -> str:
    """Markdown table cell text: pipes escaped so Jinja filters do not split the cell."""
    return text.replace("|", "\\|")


def default_answers() -> dict[str, Any]:
    """What a --no-input bake answers (derived defaults rendered from the earlier defaults)."""
    context = generate_context(context_file=str(REPO_ROOT / "cookiecutter.json"))
    return dict(prompt_for_config(context, no_input=True))


def default_cell(raw: Any, rendered: Any) -> str:
    """The default as the table shows it; a derived one is marked as such."""
    if isinstance(rendered, bool):
        rendered = "true" if rendered else "false"
    derived = isinstance(raw, str) and "{" + "{" in raw
    return f"`{cell(str(rendered))}`" + (" (derived)" if derived else "")


def expected_rows(cookiecutter_json: dict[str, Any]) -> list[str]:
    """One table row per question, in question order, built from cookiecutter.json."""
    prompts = cookiecutter_json["__prompts__"]
    defaults = default_answers()
    rows = []
    for key, value in cookiecutter_json.items():
        if key.startswith("_"):
            continue
        prompt = prompts[key]
        if isinstance(prompt, dict):
            question = prompt["__prompt__"]
            choices = "<br>".join(cell(prompt[choice]) for choice in value)
        else:
            question, choices = prompt, ""
        rows.append(
            f"| `{key}` | {default_cell(value, defaults[key])} | {cell(question)} | {choices} |"
        )
    return rows


def load_hook(name: str) -> Any:
    """A hook module, unrendered (it is valid Python)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_for_docs", REPO_ROOT / "hooks" / f"{name}.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented_rows() -> list[str]:
    """The rows of the options table in docs/template.md (header and rule excluded)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_options_table_matches_prompts() -> None:
    """Every question appears once, in order, with its default, prompt text and choice labels.

    No extra row: a documented option cookiecutter.json does not ask fails too.
    """
    cookiecutter_json = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    documented, expected = documented_rows(), expected_rows(cookiecutter_json)
    missing = [row for row in expected if row not in documented]
    extra = [row for row in documented if row not in expected]
    assert not missing, (
        "docs/template.md lacks (or has another text for) these rows:\n" + "\n".join(missing)
    )
    assert not extra, "docs/template.md has rows cookiecutter.json does not ask:\n" + "\n".join(
        extra
    )
    assert documented == expected, "the rows are not in cookiecutter.json's question order"


def test_constraints_list_every_unsupported_combination() -> None:
    """The Constraints section names each pair the pre-gen hook refuses."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Constraints", 1)[1].split("\n## ", 1)[0]
    assert "`model_type: llm` with `problem_type: regression`" in section


def test_variants_section_lists_every_removed_path() -> None:
    """Each path the post-gen hook removes is named in the Variants section."""
    post_gen = load_hook("post_gen_project")
    section = DOC.read_text(encoding="utf-8").split("## Variants", 1)[1].split("\n## ", 1)[0]
    for paths in post_gen.REMOVALS.values():
        for path in paths:
            shown = path.format(module="<module>")
            assert f"`{shown}`" in section or f"`{shown}/`" in section, shown
