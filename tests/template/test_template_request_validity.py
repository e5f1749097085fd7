"""Request validity of the team repo: a description with a comma, a quote or '!' bakes, and the
CustomerMetadataProperties the baked pipeline registers still fit botocore's pattern; a description
with nothing left after encoding is refused with one ERROR line.

Issue 9: "Today a project description with a comma, a quote or ! bakes fine but breaks
CreateModelPackage ... the hook must refuse or encode such answers."
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bake_support import SUPPORTED_COMBINATIONS
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.contract import metadata
from clearance_dev.requests import validate

TRICKY = 'Loans, "v2" for O\'Brien! (beta); 100% ✓ — Crédit'
TABULAR = next(c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "tabular")
LLM = next(c for c in SUPPORTED_COMBINATIONS if c["model_type"] == "llm")
BASE = {
    "ModelPackageGroupName": "111111111111-credit-risk-p-abcdefghijkl",
    "ModelApprovalStatus": "PendingManualApproval",
    "InferenceSpecification": {
        "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    },
}


def _metadata_function(pipeline: Path) -> Any:
    """The baked pipeline's metadata_value, executed alone (no SageMaker SDK import)."""
    tree = ast.parse(pipeline.read_text(encoding="utf-8"))
    [node] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "metadata_value"]
    namespace: dict[str, Any] = {"re": re}
    exec(compile(ast.Module([node], []), str(pipeline), "exec"), namespace)  # noqa: S102
    return namespace["metadata_value"]


def test_the_unencoded_description_would_be_refused_by_the_api() -> None:
    """The finding itself: the raw description does not fit CustomerMetadataValue."""
    problems = validate(
        "sagemaker",
        "CreateModelPackage",
        {**BASE, "CustomerMetadataProperties": {"team:description": TRICKY}},
    )
    assert problems and "does not match" in problems[0]


@pytest.mark.parametrize("combination", [TABULAR, LLM], ids=["tabular", "llm"])
def test_tricky_description_bakes_and_registers_a_valid_request(
    bake_once: Any, combination: dict
) -> None:
    result = bake_once({**combination, "description": TRICKY})
    assert result.exception is None, result.exception
    root = Path(result.project_path)
    assert TRICKY in (root / "README.md").read_text(encoding="utf-8")  # verbatim for people
    # The LLM bake's pipeline_llm.py is renamed pipeline.py (post-gen hook).
    [pipeline] = list((root / "pipelines").glob("*/pipeline.py"))
    source = pipeline.read_text(encoding="utf-8")
    assert '"team:description": metadata_value(DESCRIPTION)' in source
    encode = _metadata_function(pipeline)
    value = encode(TRICKY)
    assert value == metadata.team_value(TRICKY) == "Loans v2 for O Brien beta 100 Crédit"
    request = {**BASE, "CustomerMetadataProperties": {"team:description": value}}
    assert validate("sagemaker", "CreateModelPackage", request) == []


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_contract_encoding_always_fits_the_api(text: str) -> None:
    """contract.metadata.team_value (the rule the baked pipeline copies) always yields a value
    botocore's pattern and length accept."""
    request = {
        **BASE,
        "CustomerMetadataProperties": {"team:description": metadata.team_value(text)},
    }
    assert validate("sagemaker", "CreateModelPackage", request) == []


@pytest.mark.parametrize("description", ["!!!", '"", ?'])
def test_hook_refuses_a_description_with_nothing_to_keep(tmp_path: Path, description: str) -> None:
    """One ERROR line, exit 1: cookiecutter stops before writing anything."""
    from cookiecutter.main import cookiecutter

    from clearance_dev.demo.common import REPO_ROOT

    code = (
        "import sys\n"
        "from cookiecutter.main import cookiecutter\n"
        "from cookiecutter.exceptions import FailedHookException\n"
        "try:\n"
        f"    cookiecutter({str(REPO_ROOT)!r}, no_input=True, output_dir={str(tmp_path)!r},\n"
        f"                 extra_context={{'description': {description!r}}})\n"
        "except FailedHookException:\n"
        "    sys.exit(1)\n"
    )
    assert cookiecutter  # the same entry point the team uses
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 1
    errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: description: ")
    assert "no letter or digit" in errors[0]
    assert not any(tmp_path.iterdir())
