"""Named option combinations for the bake tests, and helpers that inspect a baked repo.

The supported combinations are built as cookiecutter-data-science builds its matrix: the product
of the options that interact (they change files or each other's validity), filtered by the hook's
own list of unsupported pairs, then the independent options cycled over that product, so every
value of every option appears at least once without multiplying the bakes.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# The template repository the bake tests bake: this checkout, or a scratch copy while developing.
TEMPLATE_ROOT = Path(os.environ.get("CLEARANCE_TEMPLATE_ROOT", str(REPO_ROOT))).resolve()
TEMPLATE_DIR = TEMPLATE_ROOT / ("{" + "{cookiecutter.project_slug}}")
TEMPLATE_MODULE = "{" + "{cookiecutter.module_name}}"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
RUFF = VENV_BIN / "ruff"
PYTHON = VENV_BIN / "python"

# Options that change the file set or each other's validity: their full product is tried.
INTERACTING_OPTIONS: dict[str, list[Any]] = {
    "model_type": ["tabular", "llm"],
    "problem_type": ["binary_classification", "regression"],
}
# Options that change rendered values only (or one file on their own): cycled over the product.
INDEPENDENT_OPTIONS: dict[str, list[Any]] = {
    "source_provider": ["codeconnections", "codecommit"],
    "include_pre_commit": [True, False],
    "deploy": [True, False],
    "aws_region": ["us-east-1", "eu-west-2"],
}


def load_pre_gen_hook() -> ModuleType:
    """The pre-gen hook (valid Python before rendering), for its UNSUPPORTED_COMBINATIONS."""
    spec = importlib.util.spec_from_file_location(
        "pre_gen_project_for_bakes", TEMPLATE_ROOT / "hooks" / "pre_gen_project.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("hooks/pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PRE_GEN = load_pre_gen_hook()


def is_supported(combination: Mapping[str, Any]) -> bool:
    """Not one of the pairs the pre-gen hook refuses."""
    return not any(
        all(combination.get(key) == value for key, value in unsupported.items())
        for unsupported, _, _ in PRE_GEN.UNSUPPORTED_COMBINATIONS
    )


def build_supported_combinations() -> list[dict[str, Any]]:
    """Product of interacting options, validity filter, independent options cycled."""
    product = [
        dict(zip(INTERACTING_OPTIONS, values, strict=True))
        for values in itertools.product(*INTERACTING_OPTIONS.values())
    ]
    valid = [combination for combination in product if is_supported(combination)]
    cycles = {key: itertools.cycle(values) for key, values in INDEPENDENT_OPTIONS.items()}
    return [
        {**combination, **{key: next(cycle) for key, cycle in cycles.items()}}
        for combination in valid
    ]


SUPPORTED_COMBINATIONS: list[dict[str, Any]] = build_supported_combinations()

# (answers, field named in the ERROR line, first words of its problem). The option pairs come from
# the hook's one list; the others are cross-field rules.
UNSUPPORTED_COMBINATIONS: list[tuple[dict[str, Any], str, str]] = [
    *[
        (dict(combination), list(combination)[-1], problem.split(" (")[0])
        for combination, problem, _ in (PRE_GEN.UNSUPPORTED_COMBINATIONS)
    ],
    ({"facet_column": "approved"}, "facet_column", "'approved' is also the label column"),
    ({"problem_type": "regression", "positive_label": "high"}, "positive_label", "'high' is not a"),
    ({"positive_label": "yes"}, "positive_label", "'yes' is not an integer"),
]


MAX_ID_VALUE = 24


def value_id(value: Any) -> str:
    """Option values as they read in an id: booleans as JSON, long values shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if len(text) > MAX_ID_VALUE:
        return f"{text[:8]}...({len(text)}-chars)"
    return text


def combination_id(combination: Mapping[str, Any]) -> str:
    """`key:value-key:value`, the readable test id."""
    return "-".join(f"{key}:{value_id(value)}" for key, value in combination.items())


def relative_files(root: Path) -> set[str]:
    """Every file under root, as POSIX paths relative to it."""
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, text) of every file that is UTF-8 text (binary files have a NUL byte)."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        yield path, data.decode("utf-8")


LEFTOVER_PATTERNS = ("{" + "{", "{" + "%", "cookiecutter.")


def leftovers(root: Path) -> list[str]:
    """`path:line: text` for each line still holding template syntax."""
    found = []
    for path, text in text_files(root):
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern in line for pattern in LEFTOVER_PATTERNS):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def run_ruff(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Ruff from the shared venv on the baked repo, with its own config and no cache written."""
    return subprocess.run(
        [str(RUFF), *args, "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of each `name==version` line of a requirements file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normalize(match.group(1))] = match.group(3)
    return found


def python_string_values(path: Path) -> set[str]:
    """String constants of a Python file and the strings each json.loads("<literal>") holds."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    values: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            values.add(node.value)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "loads"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            values |= json_strings(json.loads(node.args[0].value))
    return values


def json_strings(document: Any) -> set[str]:
    """Every string inside a decoded JSON document (keys excluded)."""
    if isinstance(document, str):
        return {document}
    if isinstance(document, dict):
        return set().union(*(json_strings(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(json_strings(value) for value in document))
    return set()


def import_file(path: Path, name: str) -> ModuleType:
    """Import one baked file (standard-library-only modules such as schema.py) by path."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def render_definition(project: Path, kwargs: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """The baked repo's offline pipeline definition (``pipelines.get_pipeline_definition
    --offline``, its own entry point, in a subprocess), written to OUT and returned parsed."""
    completed = subprocess.run(
        [sys.executable, "-m", "pipelines.get_pipeline_definition", "--offline"]
        + ["--kwargs", json.dumps(dict(kwargs)), "-f", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))
