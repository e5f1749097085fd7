"""The baked team repo writes exactly the team:* metadata keys of clearance.contract.metadata.

The keys are a contract between the team's registration and the governance evidence (model cards,
audit, HTML report); the demo's registration writes the same keys.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from bake_support import SUPPORTED_COMBINATIONS, combination_id

from clearance.contract import metadata
from clearance_dev.demo.register import team_metadata

# One tabular and one LLM bake (the default answers of each variant are enough: the keys do not
# depend on the other options).
COMBINATIONS = [
    next(c for c in SUPPORTED_COMBINATIONS if c["model_type"] == kind)
    for kind in ("tabular", "llm")
]


def _metadata_dicts(root: Path) -> list[tuple[Path, ast.Dict]]:
    """Every dict literal under pipelines/ whose keys include a team:* string."""
    found = []
    for path in sorted((root / "pipelines").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant)
                and isinstance(k.value, str)
                and k.value.startswith(metadata.TEAM_PREFIX)
                for k in node.keys
            ):
                found.append((path, node))
    return found


@pytest.mark.parametrize("combination", COMBINATIONS, ids=combination_id)
def test_baked_registration_writes_the_contract_keys(bake_once: Any, combination: dict) -> None:
    """The team pipeline's CustomerMetadataProperties keys are exactly contract.metadata's."""
    result = bake_once(combination)
    if result.exception is not None:
        pytest.fail(f"bake failed: {result.exception!r}")
    dicts = _metadata_dicts(Path(result.project_path))
    assert dicts, "no team:* metadata found in the baked pipelines"
    for path, node in dicts:
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        assert keys == set(metadata.TEAM_KEYS), path


def test_baked_facet_is_the_facet_column(bake_once: Any) -> None:
    """team:facet is the facet column name (schema.FACET), the one format the contract defines."""
    combination = COMBINATIONS[0]
    result = bake_once(combination)
    if result.exception is not None:
        pytest.fail(f"bake failed: {result.exception!r}")
    values = [
        v
        for _, node in _metadata_dicts(Path(result.project_path))
        for k, v in zip(node.keys, node.values, strict=True)
        if isinstance(k, ast.Constant) and k.value == metadata.TEAM_FACET
    ]
    assert len(values) == 1, "the tabular pipeline writes team:facet once"
    value = values[0]
    assert isinstance(value, ast.Attribute) and value.attr == "FACET"
    assert isinstance(value.value, ast.Name) and value.value.id == "schema"


def test_demo_registration_writes_the_same_keys() -> None:
    """The demo registers with the same keys and the same facet format as the team pipeline."""
    written = team_metadata(
        {
            "sagemaker_project_name": "credit-risk",
            "description": "d",
            "problem_type": "binary_classification",
            "label_column": "approved",
            "facet_column": "gender",
            "facet_value": "F",
            "model_type": "tabular",
        }
    )
    assert set(written) == set(metadata.TEAM_KEYS)
    assert written[metadata.TEAM_FACET] == "gender"
