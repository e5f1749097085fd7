"""contract.names: central-registry group names, their length budget, evidence locations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearance.contract import names

# botocore's EntityName (ModelPackageGroupName) and BucketName bounds.
ENTITY = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
LONGEST = "a" + "b-c" * 10 + "d"  # 32 characters, the SageMaker project name limit

project_names = st.from_regex(r"\A[a-zA-Z](-?[a-zA-Z0-9]){0,15}\Z")
project_ids = st.from_regex(r"\Ap-[a-z0-9]{1,12}\Z")
accounts = st.from_regex(r"\A[0-9]{12}\Z")


def test_longest_names_fit_without_truncation() -> None:
    assert len(LONGEST) == 32
    group = names.group_name("111111111111", LONGEST, "p-abcdefghijkl")
    assert len(group) == 60 <= names.GROUP_MAX and ENTITY.match(group)
    key = names.parse_group_name(group)
    assert key is not None
    assert len(names.team_bucket(key)) == 47 <= 63


@given(accounts, project_names, project_ids)
def test_group_name_round_trips_and_fits_the_api(account: str, project: str, pid: str) -> None:
    group = names.group_name(account, project, pid)
    assert ENTITY.match(group) and len(group) <= 63
    assert names.parse_group_name(group) == names.ProjectKey(account, project, pid)


def test_two_teams_with_the_same_project_name_never_collide() -> None:
    a = names.group_name("111111111111", "credit-risk", "p-abcdefghijkl")
    b = names.group_name("444444444444", "credit-risk", "p-abcdefghijkl")
    assert a != b
    ka, kb = names.parse_group_name(a), names.parse_group_name(b)
    assert ka and kb and names.team_bucket(ka) != names.team_bucket(kb)


@pytest.mark.parametrize(
    ("account", "project", "pid", "problem"),
    [
        ("11111111111", "credit", "p-abc", "12 digits"),
        ("111111111111", "credit risk", "p-abc", "project name"),
        ("111111111111", LONGEST + "x", "p-abc", "project name"),
        ("111111111111", "credit", "p-ABC", "project id"),
        ("111111111111", "credit", "p-abcdefghijklm", "project id"),
    ],
)
def test_bad_parts_are_refused(account: str, project: str, pid: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        names.group_name(account, project, pid)


@pytest.mark.parametrize("name", ["credit-risk", "111111111111-credit", "x-p-abc", "", None])
def test_other_group_names_are_not_central_registry_groups(name: object) -> None:
    assert names.parse_group_name(name) is None  # type: ignore[arg-type]


def test_same_scheme_as_the_registry_groups_lambda() -> None:
    """The governance template's inline function builds the same name (one scheme, two copies)."""
    template = (
        Path(__file__).parents[2] / "servicecatalog" / "governance-product.yaml"
    ).read_text()
    assert 'return f"{team}-{project}-{pid}"' in template
    assert r'NAME = re.compile(r"^[a-zA-Z](-*[a-zA-Z0-9]){0,31}$")' in template
    assert r'PID = re.compile(r"^p-[a-z0-9]{1,12}$")' in template
    assert (
        "sagemaker-${SageMakerProjectId}-${AWS::AccountId}-artifacts"
        in (Path(__file__).parents[2] / "servicecatalog" / "model-build-product.yaml").read_text()
    )


def test_copy_keys_are_injective_per_version() -> None:
    assert names.copy_key("b", "k", "v1") == "artifacts/b/k/v1"
    assert names.copy_key("b", "k", None) == "artifacts/b/k/null"
    assert names.copies_prefix("b", "k") == "artifacts/b/k/"
    # key "a" version "X" and key "a/X" (unversioned) never meet
    assert names.copy_key("b", "a", "X") != names.copy_key("b", "a/X", None)
    with pytest.raises(ValueError):
        names.copy_key("b", "k", "v/1")
