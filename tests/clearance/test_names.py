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


def _template_group_name() -> object:
    """The governance template's inline group_name (registry-groups Lambda), executed alone."""
    text = (Path(__file__).parents[2] / "servicecatalog" / "governance-product.yaml").read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "def group_name(" in line)
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = [lines[start][indent:]]
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line[indent:])
    # An older template kept the pattern in a module-level NAME; the compacted Lambda inlines it.
    name_line = next(
        (line.strip() for line in lines if line.strip().startswith("NAME = re.compile")), ""
    )
    namespace: dict[str, object] = {"re": re}
    exec(name_line + "\n" + "\n".join(body), namespace)  # noqa: S102 - our template
    return namespace["group_name"]


@given(accounts, project_names, project_ids)
def test_same_scheme_as_the_registry_groups_lambda(account: str, project: str, pid: str) -> None:
    """The Lambda that creates the group and this contract name every project identically."""
    template_group_name = _template_group_name()
    assert template_group_name(account, project, pid) == names.group_name(account, project, pid)
    assert (
        "sagemaker-${SageMakerProjectId}-${AWS::AccountId}-artifacts"
        in (Path(__file__).parents[2] / "servicecatalog" / "model-build-product.yaml").read_text()
    )


def test_hyphens_do_not_stretch_a_project_name_past_32_characters() -> None:
    """The pattern alone counts no hyphen: 'a-b-c-...' of 63 characters matches it. The contract
    refuses it (SageMaker's ProjectEntityName max is 32), so no group name passes 63."""
    stretched = "-".join("abcdefghijklmnopqrstuvwxyz012345")  # 63 characters, matches the pattern
    assert names.PROJECT_NAME.match(stretched)
    with pytest.raises(ValueError, match="project name"):
        names.group_name("111111111111", stretched, "p-abcdefghijkl")


def test_copy_keys_are_injective_per_version() -> None:
    assert names.copy_key("b", "k", "v1") == "artifacts/b/k/v1"
    assert names.copy_key("b", "k", None) == "artifacts/b/k/null"
    assert names.copies_prefix("b", "k") == "artifacts/b/k/"
    # key "a" version "X" and key "a/X" (unversioned) never meet
    assert names.copy_key("b", "a", "X") != names.copy_key("b", "a/X", None)
    with pytest.raises(ValueError):
        names.copy_key("b", "k", "v/1")


def test_overrides_and_model_cards_are_keyed_by_account_and_project(tmp_path: Path) -> None:
    """Team B naming its project like team A's gets neither A's override nor A's card name."""
    from clearance.evidence.card_limits import card_name_for
    from clearance.evidence.package import PackageInfo
    from clearance.policy import DEFAULT_POLICY_PATH, load_policy, resolve_policy

    team_a = names.group_name("111111111111", "credit-risk", "p-abcdefghijkl")
    team_b = names.group_name("444444444444", "credit-risk", "p-abcdefghijkl")
    default = load_policy(DEFAULT_POLICY_PATH)
    dropped = default.rules[0].id
    (tmp_path / f"{team_a}.yaml").write_text(
        f"version: 1\nremove_rules:\n  - id: {dropped}\n    reason: team A's exemption\n",
        encoding="utf-8",
    )
    a = resolve_policy(default, tmp_path, team_a)
    b = resolve_policy(default, tmp_path, team_b)
    assert dropped not in {r.id for r in a.rules} and a.id.endswith(team_a)
    assert b is default

    def card(group: str) -> str:
        arn = f"arn:aws:sagemaker:us-east-1:222222222222:model-package/{group}/1"
        return card_name_for(
            PackageInfo.from_describe(
                {"ModelPackageArn": arn, "ModelPackageGroupName": group, "ModelPackageVersion": 1}
            )
        )

    assert card(team_a) == f"{team_a}-1" and card(team_b) == f"{team_b}-1"
