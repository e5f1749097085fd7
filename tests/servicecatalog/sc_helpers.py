"""Shared loaders for the Service Catalog tests (a uniquely named module: `conftest` is ambiguous).

Templates are read with cfn-lint's decoder, which understands CloudFormation's short tags (`!Ref`,
`!Sub`, ...) that plain `yaml.safe_load` rejects, and returns them as `{"Ref": ...}` mappings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "servicecatalog"
TEMPLATE_PATHS = sorted(TEMPLATE_DIR.glob("*.yaml"))
PATTERN_FILE = REPO_ROOT / "src" / "clearance" / "patterns" / "model_package_pending.json"

# tools/ is not a package on sys.path in the test run; the tests import package.py and publish.py.
if str(REPO_ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "tools"))


def load_template(path: Path) -> dict[str, Any]:
    """A template as plain dicts/lists; fails the test on a YAML or decode error."""
    template, matches = decode_str(path.read_text(encoding="utf-8"))
    assert not matches, f"{path.name}: cannot decode: {matches}"
    assert isinstance(template, dict)
    return json.loads(json.dumps(template))


def expand_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources, with each `Fn::ForEach` body included once (loop variable left unresolved)."""
    return _expand(template.get("Resources", {}))


def _expand(fragment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = {}
    for name, body in fragment.items():
        if name.startswith("Fn::ForEach::"):
            _var, _collection, inner = body
            resources.update(_expand(inner))  # loops may nest
        else:
            resources[name] = body
    return resources


def walk(node: Any) -> Iterator[Any]:
    """Every node of a decoded template, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def branches(node: Any) -> list[Any]:
    """Both outcomes of an `Fn::If` (recursively); `AWS::NoValue` outcomes dropped."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _cond, yes, no = node["Fn::If"]
        return branches(yes) + branches(no)
    if isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}:
        return []
    return [node]


BUNDLE_ARGS = [
    "--region",
    "us-east-1",
    "--bundle-bucket",
    "clearance-bundle-test",
    "--governance-account-id",
    "111111111111",
    "--organization-id",
    "o-exampleorg01",
    "--team-account-ids",
    "222222222222,333333333333",
    "--registry-admin-arns",
    "arn:aws:iam::111111111111:role/governance-admin",
    "--studio-role-arns",
    "arn:aws:iam::222222222222:role/service-role/AmazonSageMaker-ExecutionRole-Test",
    "--answer",
    "project_name=Credit Risk",
]
