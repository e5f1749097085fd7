"""Permission coverage: every call the two-account flow makes is allowed by the templates.

FLOW (tests/authz/authz_cases.py) lists the calls by role, including the ones SageMaker makes with a
role on its behalf (processing and training jobs, Clarify's sm-clarify-* shadow endpoints, model
cards). Calls recorded from the demo (botocore event hooks, one JSON object per call:
{"principal": <name in authz_harness.PRINCIPALS or a role ARN>, "action": "service:Action",
"resource": "<one ARN>", "context": {...}}) go in tests/authz/recorded_calls.json; each must be
allowed too. Decisions come from authz_harness.decide(), the same simulator as the matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from authz_cases import flow_calls
from authz_harness import Call, decide, world

RECORDED = Path(__file__).with_name("recorded_calls.json")


def _recorded() -> list[tuple[str, Call]]:
    if not RECORDED.is_file():
        return []
    calls = json.loads(RECORDED.read_text(encoding="utf-8"))
    return [
        (
            f"recorded: {c['action']}",
            Call(c["principal"], c["action"], c["resource"], c.get("context", {})),
        )
        for c in calls
    ]


def _denied(cases: list[tuple[str, Call]]) -> list[str]:
    """Calls not allowed, and calls whose service condition keys the simulator ignored (a key
    that does not apply to the action would make the allow meaningless)."""
    decisions = decide([call for _, call in cases])
    wrong = [
        f"{why}: {d.call.principal} {d.call.action} {d.call.resource} -> {d.decision}"
        for (why, _), d in zip(cases, decisions, strict=True)
        if not d.allowed
    ]
    wrong += [
        f"{why}: {d.call.action} ignored {key}"
        for (why, _), d in zip(cases, decisions, strict=True)
        for key in d.ignored_context_keys
        if not key.startswith("aws:")
    ]
    return wrong


def test_every_flow_call_is_allowed() -> None:
    """The two-account flow works with exactly the templates' policies."""
    cases = flow_calls(world())
    assert len(cases) >= 45
    denied = _denied(cases)
    assert not denied, "\n".join(denied)


@pytest.mark.parametrize(
    "role",
    ["team-pipeline", "approval-role", "copy-role", "registry-groups-role", "team-launch-role"],
)
def test_each_role_of_the_flow_is_covered(role: str) -> None:
    """No role of the flow is missing from the table (a missing role proves nothing)."""
    assert any(call.principal == role for _, call in flow_calls(world()))


def test_recorded_calls_are_allowed() -> None:
    """Calls the demo recorded (when the code side has recorded them) are allowed."""
    cases = _recorded()
    denied = _denied(cases) if cases else []
    assert not denied, "\n".join(denied)
