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
from bake_support import SUPPORTED_COMBINATIONS, render_definition
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


# ------------------------------------------------------------------ rendered pipeline definitions
GROUP_ARN = (
    "arn:aws:sagemaker:us-east-1:222222222222:model-package-group/"
    "111111111111-credit-risk-p-abcdefghijkl"
)


@pytest.mark.parametrize("combination", [TABULAR, LLM], ids=["tabular", "llm"])
def test_rendered_team_pipeline_sends_only_valid_requests(
    bake_once: Any, combination: dict, tmp_path: Path
) -> None:
    """Each step of the team's definition, as the request SageMaker sends for it (processing,
    training, model, Clarify/quality checks, the cross-account CreateModelPackage), fits
    botocore's shapes: parameters at their defaults, expressions left to run time."""
    from clearance_dev.requests import definition_problems

    result = bake_once({**combination, "description": TRICKY})
    assert result.exception is None, result.exception
    kwargs = {
        "region": "us-east-1",
        "default_bucket": "sagemaker-p-abcdefghijkl-111111111111-artifacts",
        "model_package_group_name": GROUP_ARN,
    }
    definition = render_definition(result.project_path, kwargs, tmp_path / "definition.json")
    problems = definition_problems(definition)
    assert "RegisterModel" in problems and "DigestReports" in problems
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}
    register = next(s for s in definition["Steps"] if s["Name"] == "RegisterModel")
    assert register["Arguments"]["ModelPackageGroupName"] == GROUP_ARN


def test_the_definition_check_can_fail() -> None:
    """A bad default (instance type outside the enum) and a bad metadata value are caught."""
    from clearance_dev.requests import definition_problems

    definition = {
        "Parameters": [{"Name": "Type", "Type": "String", "DefaultValue": "ml.bogus"}],
        "Steps": [
            {
                "Name": "Register",
                "Type": "RegisterModel",
                "Arguments": {
                    **BASE,
                    "InferenceSpecification": {
                        **BASE["InferenceSpecification"],
                        "SupportedRealtimeInferenceInstanceTypes": [{"Get": "Parameters.Type"}],
                    },
                    "CustomerMetadataProperties": {"team:description": "a, b!"},
                },
            }
        ],
    }
    [problems] = definition_problems(definition).values()
    assert len(problems) == 2 and "ml.bogus" in problems[0] + problems[1]
