"""The Verify step and the champion lookup in the authorization matrix (verify_cases.py): its
calls are allowed by the templates; other teams' lookups, writes to the pinned wheel and reads
of wheels outside the code prefix are denied."""

from __future__ import annotations

import pytest
from authz_harness import decide, world
from verify_cases import verify_denied, verify_flow, writable_by_the_job


@pytest.fixture(scope="module")
def decided():
    w = world()
    groups = [verify_flow(w), verify_denied(w), writable_by_the_job(w)]
    decisions = iter(decide([call for group in groups for _, call in group]))
    return [[(why, next(decisions)) for why, _ in group] for group in groups]


def test_every_call_of_the_verify_step_is_allowed(decided) -> None:
    flow, _, _ = decided
    assert len(flow) >= 15
    refused = [
        f"{why}: {d.call.action} {d.call.resource} -> {d.decision}"
        for why, d in flow
        if not d.allowed
    ]
    ignored = [
        f"{why}: {d.call.action} ignored {key}"
        for why, d in flow
        for key in d.ignored_context_keys
        if not key.startswith("aws:")
    ]
    assert not refused + ignored, "\n".join(refused + ignored)


def test_lookups_of_other_teams_and_writes_to_the_wheel_are_denied(decided) -> None:
    _, denied, _ = decided
    assert len(denied) >= 30
    allowed = [f"{why}: {d.call.action} {d.call.resource}" for why, d in denied if d.allowed]
    assert not allowed, "\n".join(allowed)
    explicit = {why for why, d in denied if d.decision == "ExplicitlyDenied"}
    # The registry admins' RCP is what stops the governance admins (who hold s3:*) writing it.
    assert "governance-admin replaces the Verify wheel" in explicit


def test_the_job_could_write_a_wheel_under_its_output_prefix(decided) -> None:
    """Why the wheel is beside the code bundle: the pipeline's own prefix is the job's to write."""
    _, _, writable = decided
    assert all(d.allowed for _, d in writable)
