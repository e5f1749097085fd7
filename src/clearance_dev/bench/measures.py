"""The measurements: (a) policy throughput, (b) decision latency, (c) a registration burst."""

from __future__ import annotations

import statistics
import time
from typing import Any

from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.decide.checks import evaluate
from clearance_dev.bench.registry import Registry, _percentile
from clearance_dev.bench.reports import (
    EXPECTED,
    THROUGHPUT_SECONDS,
    default_policy,
    realistic_reports,
)
from clearance_dev.progress import Progress

# --------------------------------------------------------------------------- (a) throughput


def bench_throughput(seconds: float = THROUGHPUT_SECONDS) -> dict[str, Any]:
    policy = default_policy()
    sets = [realistic_reports("fair"), realistic_reports("biased")]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/bench-models/1"
    decisions = [evaluate(policy, s, arn).decision for s in sets]
    if decisions != [EXPECTED["fair"], EXPECTED["biased"]]:
        raise RuntimeError(f"default policy decided {decisions} on the fair/biased report sets")
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for reports in sets:
            evaluate(policy, reports, arn)
        count += len(sets)
    elapsed = time.perf_counter() - start
    return {
        "report_sets_per_second": round(count / elapsed, 1),
        "evaluations": count,
        "seconds": round(elapsed, 2),
        "policy_rules": len(policy.rules),
        "report_set_bytes": sum(len(b) for b in sets[0].values()),
        "decisions": dict(zip(("fair", "biased"), decisions, strict=True)),
    }


# --------------------------------------------------------------------------- (b) latency


def bench_latency(registry: Registry, packages: int, progress: Progress) -> dict[str, Any]:
    latencies = []
    statuses: dict[str, int] = {}
    wrong = 0
    advance = progress.counter("decided", packages)
    for i in range(packages):
        kind = "fair" if i % 2 == 0 else "biased"
        arn = registry.register(kind)
        start = time.perf_counter()
        registry.deliver(arn)
        started = [item for item in registry.started() if item[1] == arn]
        if len(started) != 1:
            raise RuntimeError(f"expected one execution for {arn}, found {len(started)}")
        registry.run_steps(*started[0])
        latencies.append(time.perf_counter() - start)
        status = registry.sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        statuses[status] = statuses.get(status, 0) + 1
        wrong += status != EXPECTED[kind]
        advance(i + 1)
    ms = [x * 1000 for x in latencies]
    return {
        "packages": packages,
        "p50_ms": round(_percentile(ms, 50), 1),
        "p95_ms": round(_percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "statuses": statuses,
        "unexpected_decisions": wrong,
    }


# ----------------------------------------------------------------------------- (c) burst


def bench_burst(registry: Registry, packages: int, progress: Progress) -> dict[str, Any]:
    before = registry.count()
    start = time.perf_counter()
    arns = [registry.register("fair" if i % 2 == 0 else "biased") for i in range(packages)]
    registered_s = time.perf_counter() - start
    progress.note(f"registered {len(arns)} packages in {registered_s:.1f} s")
    for arn in arns:
        registry.deliver(arn)
    started = registry.started()
    progress.note(f"{len(started)} executions started")
    ours = set(arns)
    advance = progress.counter("decided", len(started))
    for i, (execution_arn, package_arn) in enumerate(started):
        if package_arn in ours:
            registry.run_steps(execution_arn, package_arn)
        advance(i + 1)
    elapsed = time.perf_counter() - start
    after = registry.count()
    approved = after[APPROVED] - before[APPROVED]
    rejected = after[REJECTED] - before[REJECTED]
    pending = after[PENDING] - before[PENDING]
    return {
        "packages": packages,
        "executions_started": len(started),
        "approved": approved,
        "rejected": rejected,
        "decided": approved + rejected,
        "pending_left": pending,
        "lost": packages - (approved + rejected),
        "seconds": round(elapsed, 1),
        "decisions_per_second": round((approved + rejected) / elapsed, 2),
        "expected_approved": (packages + 1) // 2,
        "ok": approved == (packages + 1) // 2
        and rejected == packages // 2
        and pending == 0
        and len(started) == packages,
    }
