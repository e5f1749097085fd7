"""The authorization matrix: who can bypass the clearance? Nobody.

Policies rendered from servicecatalog/*.yaml (and the shipped guardrails) with concrete accounts,
decided by @cloud-copilot/iam-simulate (tools/authz; AGPL, test-only). See docs/threat-model.md.
"""

from __future__ import annotations

from collections import Counter

import pytest
from authz_cases import (
    DANGEROUS_ACTIONS,
    MATRIX_PRINCIPALS,
    NOT_APPLICABLE,
    expected_allowed,
    launch_escapes,
    matrix_calls,
)
from authz_harness import Decision, decide, ensure_simulator, world


@pytest.fixture(scope="module")
def matrix() -> list[tuple[str, str, Decision]]:
    w = world()
    cells = matrix_calls(w)
    decisions = decide([call for _, _, call in cells])
    return [(p, a, d) for (p, a, _), d in zip(cells, decisions, strict=True)]


def test_simulator_is_installed() -> None:
    """No silent skip: without Node and `npm ci --prefix tools/authz` this suite fails."""
    assert ensure_simulator().name.startswith("node")


def test_matrix_covers_every_principal_and_dangerous_action(
    matrix: list[tuple[str, str, Decision]],
) -> None:
    cells = {(p, a) for p, a, _ in matrix}
    expected = {(p, a) for p in MATRIX_PRINCIPALS for a in DANGEROUS_ACTIONS} - NOT_APPLICABLE
    assert cells == expected
    assert len(MATRIX_PRINCIPALS) == 7 and len(DANGEROUS_ACTIONS) == 8


@pytest.mark.parametrize("principal", MATRIX_PRINCIPALS)
def test_nobody_bypasses_the_clearance(
    matrix: list[tuple[str, str, Decision]], principal: str
) -> None:
    """Every dangerous call is denied for this principal (the approval role's decision excepted)."""
    wrong = [
        f"{a}: {d.call.action} {d.call.resource} {d.call.context} -> {d.decision}"
        for p, a, d in matrix
        if p == principal and d.allowed != expected_allowed(p, a, d.call)
    ]
    assert not wrong, "\n".join(wrong)


def test_only_the_approval_role_decides(matrix: list[tuple[str, str, Decision]]) -> None:
    allowed = {(p, d.call.action) for p, _, d in matrix if d.allowed}
    assert allowed == {("approval-role", "sagemaker:UpdateModelPackage")}
    counts = Counter(d.allowed for _, _, d in matrix)
    assert counts[False] >= 100 and counts[True] == 3, counts


def test_no_context_key_was_ignored(matrix: list[tuple[str, str, Decision]]) -> None:
    """A condition key the simulator drops (wrong for the action) would make a test vacuous."""
    ignored = {
        (d.call.action, key)
        for _, _, d in matrix
        for key in d.ignored_context_keys
        if not key.startswith("aws:")
    }
    assert not ignored, ignored


def test_edges_are_denied() -> None:
    """Boundary escapes, forged or foreign events, foreign Lambda calls, admin tampering."""
    cases = launch_escapes(world())
    decisions = decide([call for _, call in cases])
    allowed = [why for (why, _), d in zip(cases, decisions, strict=True) if d.allowed]
    assert not allowed, allowed
    ignored = [
        (why, key)
        for (why, _), d in zip(cases, decisions, strict=True)
        for key in d.ignored_context_keys
        if not key.startswith("aws:")
    ]
    assert not ignored, ignored


def test_report_prints_the_matrix_and_exits_zero() -> None:
    """The printable matrix (for the demo) agrees with the design: exit 0, all cells as designed."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("authz_report.py")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "54 cells, 150 calls: 147 denied, 3 allowed" in result.stdout


def test_what_the_guardrails_add(matrix: list[tuple[str, str, Decision]]) -> None:
    """Without the shipped SCPs and RCP, the templates alone still keep every team principal and
    the outside account away from the central registry and the evidence; the guardrails are what
    stop a registry of one's own account, and the governance account's own admins."""
    calls = [d.call for _, _, d in matrix]
    bare = decide(calls, guardrails=False)
    opened = {
        (p, a, d.call.action, d.call.resource.rsplit(":", 1)[1])
        for (p, a, d), without in zip(matrix, bare, strict=True)
        if without.allowed and not d.allowed
    }
    assert opened, "the guardrails must be load-bearing"
    own_registry = {o for o in opened if o[3].startswith("model-package/shadow-group/")}
    governance_admin = {o for o in opened if o[0] == "governance-admin"} - own_registry
    assert opened == own_registry | governance_admin
    assert {a for _, a, _, _ in governance_admin} == {
        "edit clearance:* metadata",
        "overwrite the policy or approval code",
        "start the approval with a chosen policy",
    }
    assert {p for p, *_ in own_registry} == {"team-developer", "team-admin", "governance-admin"}
