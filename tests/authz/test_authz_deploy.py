"""The deploy roles in the authorization matrix: none can decide or rewire; the flow's calls are
allowed except the listed governance-side gaps (tests/authz/deploy_cases.py)."""

from __future__ import annotations

import pytest

# The harness comes with the central-registry work (branch trust-infra); until it is merged, this
# module has nothing to run against.
harness = pytest.importorskip("authz_harness", reason="the authorization harness is not merged")

from deploy_cases import DEPLOY_ROLES, KNOWN_GAPS, deploy_calls, gap_key  # noqa: E402


@pytest.fixture(scope="module")
def decided():
    w = harness.world()
    denied, flow = deploy_calls(w)
    decisions = harness.decide(denied + flow)
    return w, decisions[: len(denied)], decisions[len(denied) :]


def test_no_deploy_role_decides_rewires_or_reads_another_team(decided) -> None:
    _, denied, _ = decided
    allowed = [
        f"{d.call.principal}: {d.call.action} {d.call.resource} {d.call.context}"
        for d in denied
        if d.allowed
    ]
    assert not allowed, "\n".join(allowed)
    assert set(DEPLOY_ROLES) <= {d.call.principal for d in denied}


def test_the_deploy_flow_is_allowed_but_for_the_known_gaps(decided) -> None:
    w, _, flow = decided
    refused = {
        gap_key(d.call.principal, d.call.action, d.call.resource, w): d.decision
        for d in flow
        if not d.allowed
    }
    assert set(refused) == set(KNOWN_GAPS), refused
