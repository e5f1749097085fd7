"""Stage: who could bypass the clearance? The authorization matrix, the permission coverage of the
calls this run recorded, and the validity of every request it sent.

- Request validity: every recorded request against botocore's shapes, patterns, lengths and enums
  included (:mod:`clearance_dev.requests`).
- Permission coverage: each recorded call of the flow (who made it, what, on which ARN) must be
  allowed for that principal by the templates.
- The matrix: self-approve, change a status, edit ``clearance:*``, replace a group policy,
  overwrite evidence or policy, start the approval with a chosen policy, read another team's
  reports, for every principal, plus the edges (rewiring events, the launch role's boundary).

Decisions come from the authorization harness (tests/authz: the templates rendered with the two
accounts, asked of @cloud-copilot/iam-simulate); nothing here decides. The harness is test-only
(AGPL simulator, never shipped), so this stage imports it from the repository checkout; without
Node or ``npm ci --prefix tools/authz`` it says so and the demo fails.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clearance_dev.accounts import ROLES
from clearance_dev.demo.common import REPO_ROOT
from clearance_dev.permissions import needed
from clearance_dev.requests import load_requests, validate_request

HARNESS_DIR = REPO_ROOT / "tests" / "authz"


def _harness() -> tuple[Any, Any]:
    if str(HARNESS_DIR) not in sys.path:
        sys.path.insert(0, str(HARNESS_DIR))
    import authz_cases
    import authz_harness

    return authz_harness, authz_cases


def evaluate(calls_path: Path, region: str) -> dict[str, Any]:
    """Everything the summary prints, as data (also written to authz.json by the flow)."""
    requests = load_requests([calls_path])
    invalid = []
    for request in requests:
        problems = validate_request(request)
        if problems:
            invalid.append(
                f"{request.principal} {request.service}:{request.operation}: {problems[0]}"
            )
    result: dict[str, Any] = {
        "requests": len(requests),
        "invalid_requests": invalid,
    }
    accounts = {principal: account for principal, (account, _) in ROLES.items()}
    wanted = needed(requests, region, accounts)
    unique = list(
        {
            (n.principal, n.action, n.resource, tuple(sorted(n.context.items()))): n for n in wanted
        }.values()
    )
    # The harness's recorded-calls format (tests/authz/recorded_calls.json is a snapshot of it).
    result["recorded_calls"] = [
        {
            "principal": n.principal,
            "action": n.action,
            "resource": n.resource,
            "context": dict(n.context),
        }
        for n in unique
    ]
    try:
        harness, cases = _harness()
        harness.ensure_simulator()
    except Exception as exc:  # noqa: BLE001 - reported, and the demo fails
        result["unavailable"] = f"{type(exc).__name__}: {exc}"
        return result
    w = harness.world()
    coverage = [harness.Call(n.principal, n.action, n.resource, dict(n.context)) for n in unique]
    cells = cases.matrix_calls(w)
    edges = cases.launch_escapes(w)
    decisions = harness.decide(coverage + [c for *_, c in cells] + [c for _, c in edges])
    covered = decisions[: len(coverage)]
    matrix = decisions[len(coverage) : len(coverage) + len(cells)]
    edge_decisions = decisions[len(coverage) + len(cells) :]

    result["coverage"] = {
        "calls": len(coverage),
        "principals": sorted({n.principal for n in unique}),
        "denied": [
            f"{d.call.principal} {d.call.action} {d.call.resource} -> {d.decision}"
            for d in covered
            if not d.allowed
        ],
    }
    by_action: dict[str, Counter[str]] = defaultdict(Counter)
    unexpected = []
    for (principal, name, call), decision in zip(cells, matrix, strict=True):
        expected = cases.expected_allowed(principal, name, call)
        by_action[name]["allowed" if decision.allowed else "denied"] += 1
        if decision.allowed:
            by_action[name][f"allowed:{principal}"] += 1
        if decision.allowed != expected:
            unexpected.append(f"{principal} / {name}: {call.action} -> {decision.decision}")
    result["matrix"] = {
        "principals": len(cases.MATRIX_PRINCIPALS),
        "actions": len(cases.DANGEROUS_ACTIONS),
        "calls": len(cells),
        "by_action": {k: dict(v) for k, v in by_action.items()},
        "unexpected": unexpected,
    }
    result["edges"] = {
        "calls": len(edges),
        "allowed": [why for (why, _), d in zip(edges, edge_decisions, strict=True) if d.allowed],
        "names": [why for why, _ in edges],
    }
    return result


def ok(result: Mapping[str, Any]) -> bool:
    return (
        "unavailable" not in result
        and not result["invalid_requests"]
        and not result["coverage"]["denied"]
        and not result["matrix"]["unexpected"]
        and not result["edges"]["allowed"]
    )


def print_summary(result: Mapping[str, Any], stream: Any = None) -> None:
    stream = stream or sys.stderr
    line = lambda text="": print(text, file=stream)  # noqa: E731
    line()
    valid = result["requests"] - len(result["invalid_requests"])
    line(
        f"  Request validity: {valid} of {result['requests']} recorded requests fit botocore's "
        "shapes (patterns, lengths, enums)"
    )
    for problem in result["invalid_requests"][:5]:
        line(f"      INVALID {problem}")
    if "unavailable" in result:
        line(f"  Authorization matrix: NOT EVALUATED ({result['unavailable']})")
        return
    cov = result["coverage"]
    line(
        f"  Permission coverage: {cov['calls'] - len(cov['denied'])} of {cov['calls']} recorded "
        f"calls allowed by the templates ({', '.join(cov['principals'])})"
    )
    for denied in cov["denied"][:5]:
        line(f"      DENIED {denied}")
    m = result["matrix"]
    line(
        f"  Authorization matrix (iam-simulate on the rendered templates): {m['principals']} "
        f"principals x {m['actions']} dangerous actions, {m['calls']} calls"
    )
    for name, counts in m["by_action"].items():
        allowed = [k.split(":", 1)[1] for k in counts if k.startswith("allowed:")]
        verdict = (
            "DENIED for every principal"
            if not allowed
            else f"DENIED except {', '.join(allowed)} (the approval role deciding: by design)"
        )
        line(f"    {name:<42} {counts.get('denied', 0):>3} denied  {verdict}")
    for wrong in m["unexpected"][:5]:
        line(f"      UNEXPECTED {wrong}")
    e = result["edges"]
    state = "all DENIED" if not e["allowed"] else f"ALLOWED: {', '.join(e['allowed'])}"
    line(f"    rewiring and escape attempts ({e['calls']}: forged events, boundaries...) {state}")
