"""Demo stage after the decisions: deploy what was cleared, refuse the rest, with reasons.

For every decided package the deploy gate runs first. The Approved one goes through what the deploy
pipeline does on AWS, on the stand-in:

    gate -> staging stack (deploy/staging-config.json) -> local endpoint serving its model.tar.gz
         -> endpoint checks -> results tagged on the package -> (manual approval: the demo approves)
         -> gate again + staging passed -> production stack -> a failed production update rolls back

The Rejected package and a forged one (a new version "approved" by another principal with a copy
of the genuine clearance:* record) are refused with their one-line reasons; nothing is created for
them (the stage counts the endpoint configs before and after).

The model served is the governance copy the approval verified (``facts["model_copy"]``), never the
team's ModelDataUrl. With ``swap``, the team replaces its model.tar.gz after the approval (and
copy-artifacts copies the new version); the gate still deploys, and the stage asserts that the
bytes served are the verified ones, not the swapped ones (``summary["swap"]``).
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.deploy import endpoint_checks, gate
from clearance_dev.demo.deploy_swap import (
    Swap,
    baseline_held,
    baseline_line,
    loosen_team_baseline,
    served_model,
    swap_and_gate,
    swap_team_model,
)
from clearance_dev.deploy_stack import deploy_stage, load_stage_parameters
from clearance_dev.endpoint import LocalEndpoint, http_invoker

Note = Callable[[str], None]


@dataclass
class Candidate:
    """One decided package and the local build it came from."""

    label: str
    package_arn: str
    build_dir: Path


def payload_rows(build_dir: Path, limit: int = 200) -> list[str]:
    """Feature rows of the build's test split (label-first CSV -> drop the label)."""
    rows = []
    with (build_dir / "data" / "test.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            rows.append(",".join(row[1:]))
            if len(rows) >= limit:
                break
    return rows


def forge(sm: Any, forger_sm: Any, genuine_arn: str) -> str:
    """Register a new version like the genuine one, then 'approve' it as another principal with
    a copy of the genuine clearance:* record (what a hand approval with a forged record does)."""
    genuine = sm.describe_model_package(ModelPackageName=genuine_arn)
    kwargs: dict[str, Any] = {
        "ModelPackageGroupName": genuine["ModelPackageGroupName"],
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": genuine["InferenceSpecification"],
    }
    if genuine.get("DriftCheckBaselines"):
        kwargs["DriftCheckBaselines"] = genuine["DriftCheckBaselines"]
    arn = sm.create_model_package(**kwargs)["ModelPackageArn"]
    record = {
        key: value
        for key, value in (genuine.get("CustomerMetadataProperties") or {}).items()
        if key.startswith("clearance:")
    }
    forger_sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=record
    )
    return arn


def _timed(timings: dict[str, float], name: str, func: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        return func()
    finally:
        timings[name] = round((time.perf_counter() - started) * 1000, 1)


def run(
    sm: Any,
    s3: Any,
    forger_sm: Any,
    candidates: Sequence[Candidate],
    baked: Path,
    config: gate.GateConfig,
    *,
    project: str,
    role_arn: str,
    capture_uri: str,
    monitoring: dict[str, Any],
    note: Note = print,
    requests: int | None = None,
    swap: Swap | None = None,
) -> dict[str, Any]:
    """The stage; returns a JSON-able summary (refusals, staging report, timings, rollback)."""
    timings: dict[str, float] = {}
    summary: dict[str, Any] = {"refused": [], "deployed": None, "timings_ms": timings}
    configs_before = len(sm.list_endpoint_configs()["EndpointConfigs"])
    genuine = next(
        (c for c in candidates if gate.check_package(sm, s3, c.package_arn, config).allowed), None
    )
    forged = []
    if genuine is not None:
        arn = forge(sm, forger_sm, genuine.package_arn)
        forged.append(Candidate(HAND_APPROVED, arn, genuine.build_dir))
    approved = None
    for candidate in [*candidates, *forged]:
        result = _timed(
            timings,
            f"gate_{candidate.label}",
            lambda c=candidate: gate.check_package(sm, s3, c.package_arn, config),
        )
        if result.allowed:
            approved = (candidate, result)
            note(f"{candidate.label}: gate ALLOWED (approved by {result.facts['approved_by']})")
        else:
            summary["refused"].append(
                {"label": candidate.label, "arn": candidate.package_arn, **result.refusal.to_json()}
            )
            note(f"{candidate.label}: gate REFUSED {result.refusal.line()}")
    if len(sm.list_endpoint_configs()["EndpointConfigs"]) != configs_before:
        raise RuntimeError("a refused package created an endpoint config")
    if approved is None:
        return summary
    candidate, result = approved
    if swap is not None:
        result, summary["swap"] = swap_and_gate(sm, s3, config, candidate.package_arn, swap, note)
        if not result.allowed:
            return summary
    staging = load_stage_parameters(baked / "deploy" / "staging-config.json")
    prod = load_stage_parameters(baked / "deploy" / "prod-config.json")
    common = {
        "project": project,
        "facts": result.facts,
        "role_arn": role_arn,
        "capture_uri": capture_uri,
        "package_arn": candidate.package_arn,
    }
    staged = _timed(
        timings, "deploy_staging", lambda: deploy_stage(sm, staging, build_id="v1", **common)
    )
    note(f"staging: {staged.endpoint_name} {staged.status} ({staged.endpoint_config})")
    policy = endpoint_checks.load_policy()
    if requests is not None:
        import dataclasses

        policy = dataclasses.replace(policy, requests=requests)
    # The endpoint serves the governance copy (the stack's ModelDataUrl), not the team's object.
    scratch = tempfile.TemporaryDirectory(prefix="clearance-served-")
    archive = served_model(s3, result.facts["model_copy"], Path(scratch.name))
    summary["served_model"] = {**result.facts["model_copy"]}
    endpoint = LocalEndpoint(archive)
    _timed(timings, "local_endpoint_start", endpoint.start)
    try:
        described = sm.describe_endpoint(EndpointName=staged.endpoint_name)
        package = sm.describe_model_package(ModelPackageName=candidate.package_arn)
        report = _timed(
            timings,
            "endpoint_checks",
            lambda: endpoint_checks.run_checks(
                http_invoker(endpoint.url),
                payload_rows(candidate.build_dir),
                described,
                package,
                policy,
                monitoring=monitoring,
                sm=sm,
                s3=s3,
            ),
        )
        served = endpoint.invocations
    finally:
        endpoint.stop()
        scratch.cleanup()
    endpoint_checks.record_on_package(sm, report)
    doc = report.to_json()
    summary["staging_report"] = doc
    summary["deployed_label"] = candidate.label
    summary["local_endpoint"] = {"url": endpoint.url, "invocations": served}
    for check in doc["checks"]:
        note(f"  {check['outcome'].upper():<4} {check['id']}: {check['reason']}")
    passed, reason = endpoint_checks.staging_passed(sm, candidate.package_arn)
    if not passed:
        note(f"production: NOT promoted ({reason}); production keeps serving what it served")
        summary["deployed"] = {"staging": staged.to_json(), "prod": None}
        return summary
    note("manual approval: approved (the demo stands in for the person)")
    again = _timed(
        timings, "gate_prod", lambda: gate.check_package(sm, s3, candidate.package_arn, config)
    )
    if not again.allowed:
        note(f"production: gate REFUSED {again.refusal.line()}")
        summary["deployed"] = {"staging": staged.to_json(), "prod": None}
        return summary
    prod_out = _timed(
        timings, "deploy_prod", lambda: deploy_stage(sm, prod, build_id="v1", **common)
    )
    note(f"production: {prod_out.endpoint_name} {prod_out.status} ({prod_out.endpoint_config})")
    failed = deploy_stage(sm, prod, build_id="v2", fail_update=True, **common)
    serving = sm.describe_endpoint(EndpointName=prod_out.endpoint_name)["EndpointConfigName"]
    note(f"rollback: a failed production update was {failed.status}; still serving {serving}")
    summary["deployed"] = {"staging": staged.to_json(), "prod": prod_out.to_json()}
    summary["rollback"] = {**failed.to_json(), "serving_after": serving}
    return summary


# ------------------------------------------------------------------------------ in make demo
HAND_APPROVED = "hand-approved"


def session_env(sts: Any, role_arn: str, session: str) -> dict[str, str]:
    """Environment variables of a session of ``role_arn`` (for subprocesses such as the steps)."""
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def run_in_demo(
    accounts: Any,
    builds: Sequence[Any],
    baked: Path,
    policy_path: Path,
    note: Note,
    out: Path | None,
    governance_bucket: str,
) -> dict[str, Any]:
    """The stage inside `make demo` (two accounts; sessions not recorded in the flow's calls)."""
    import yaml

    from clearance_dev import accounts as two

    started = time.perf_counter()
    gov = two.GOVERNANCE_ACCOUNT
    # The deploy reads the governance registry and evidence (read-only); the stand-in's stacks
    # live with the registry because moto has no cross-account resources.
    sm, s3 = accounts.setup_client(gov, "sagemaker"), accounts.setup_client(gov, "s3")
    forger_sm = accounts.client("governance-admin", "sagemaker")
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    config = gate.GateConfig(
        approval_role_arn=two.role_arn("approval-role"),
        governance_bucket=governance_bucket,
        accepted_policies={str(policy["id"]): frozenset({str(policy["version"])})},
        model_package_group=two.GROUP,
    )
    project = f"{two.PROJECT_NAME}-{two.PROJECT_ID}"
    team = two.TEAM_ACCOUNT
    # After the approval the team swaps in another build's model (the biased one, when present).
    other = next((b for b in builds if "bias" in b.label), builds[-1])

    def swap(arn: str) -> dict[str, Any]:
        body = (other.out_dir / "model" / "model.tar.gz").read_bytes()
        record = swap_team_model(accounts, sm, arn, body, governance_bucket, other.label)
        # ...and loosens the monitoring baseline (constraints.json) the package registered.
        record["baseline"] = loosen_team_baseline(accounts, sm, arn, governance_bucket)
        return record

    summary = run(
        sm,
        s3,
        forger_sm,
        [Candidate(b.label, b.package_arn, b.out_dir) for b in builds],
        baked,
        config,
        project=project,
        role_arn=f"arn:aws:iam::{team}:role/sagemaker-{project}-model",
        capture_uri=f"s3://{two.TEAM_BUCKET}/datacapture",
        monitoring={
            "role_arn": f"arn:aws:iam::{team}:role/sagemaker-{project}-mon",
            "output_s3_uri": f"s3://{two.TEAM_BUCKET}/monitoring",
            "region": accounts.region,
            # The schedule's baseline: the governance copies pinned by the package's digests.
            "governance_bucket": governance_bucket,
        },
        note=note,
        swap=swap,
    )
    label = summary.get("deployed_label")
    if out is not None and label and summary.get("staging_report"):
        # The evidence shows the endpoint checks: model card item and HTML report section.
        from clearance.evidence.publish import after_decision

        arn = next(b.package_arn for b in builds if b.label == label)
        evidence = after_decision(
            sm,
            s3,
            arn,
            out / label / "checks.json",
            out / label / "evidence",
            endpoint_report=summary["staging_report"],
        )
        summary["evidence"] = {
            "html": str(evidence.html_path),
            "model_card": evidence.card_name,
            "card_version": evidence.card_version,
            "card_action": evidence.card_action,
        }
        note(f"evidence: {evidence.html_path}, model card {evidence.card_name} (endpoint checks)")
    summary["elapsed_s"] = round(time.perf_counter() - started, 2)
    return summary


def as_expected(summary: dict[str, Any]) -> bool:
    """One package deployed and checked; every other decided package refused as not Approved,
    and the hand-approved copy as not approved by the governance role; after the team's swap of
    model.tar.gz, the bytes served are the verified copy, not the swapped ones."""
    refused = {r["label"]: r["code"] for r in summary.get("refused", [])}
    deployed = summary.get("deployed") or {}
    others = {label: code for label, code in refused.items() if label != HAND_APPROVED}
    swap = summary.get("swap") or {}
    served = summary.get("served_model") or {}
    return (
        swap.get("gate") == "allowed"
        and served.get("sha256") == swap.get("deployed_sha256") != swap.get("sha256")
        and refused.get(HAND_APPROVED) == "approver-not-governance"
        and bool(others)
        and set(others.values()) == {"not-approved"}
        and (summary.get("staging_report") or {}).get("outcome") == endpoint_checks.PASS
        and bool(deployed.get("prod"))
        and (summary.get("rollback") or {}).get("status") == "rolled-back"
        and baseline_held(summary)
    )


def print_summary(summary: dict[str, Any], path: Path) -> None:
    stream = sys.stderr
    print("\n  deploy (the gate, then staging -> checks -> approval -> production):", file=stream)
    deployed = summary.get("deployed") or {}
    report = summary.get("staging_report") or {}
    if deployed:
        latency = report.get("latency_ms", {})
        errors = report.get("error_rate", {})
        print(
            f"    ALLOWED  staging {deployed['staging']['endpoint_name']}: checks "
            f"{report.get('outcome')} (p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms, "
            f"error rate {errors.get('value')} over {errors.get('n')} requests)",
            file=stream,
        )
        if deployed.get("prod"):
            prod = deployed["prod"]
            print(
                f"    ALLOWED  production {prod['endpoint_name']} ({prod['status']})", file=stream
            )
    for refusal in summary.get("refused", []):
        line = f"ERROR: {refusal['field']}: {refusal['problem']}"
        print(f"    REFUSED  {refusal['label']:<7} {refusal['code']}: {line}", file=stream)
    swap = summary.get("swap")
    if swap:
        print(
            f"    swap: the team replaced {swap['team_object']} with {swap['swapped_in']} after "
            f"the approval; gate {swap['gate']}, served sha256 "
            f"{(summary.get('served_model') or {}).get('sha256', '-')[:12]} (verified), swapped "
            f"{swap['sha256'][:12]}",
            file=stream,
        )
    if baseline_line(summary):
        print(f"    {baseline_line(summary)}", file=stream)
    rollback = summary.get("rollback")
    if rollback:
        print(
            f"    rollback: a failed production update was {rollback['status']}; production "
            f"still serves {rollback['serving_after']}",
            file=stream,
        )
    if summary.get("evidence"):
        evidence = summary["evidence"]
        print(
            f"    evidence with the endpoint checks: {evidence['html']} "
            f"(model card {evidence['model_card']} v{evidence['card_version']})",
            file=stream,
        )
    timings = ", ".join(f"{k} {v} ms" for k, v in summary.get("timings_ms", {}).items())
    print(f"    timings: {timings}", file=stream)
    print(f"    deploy: {path} ({summary.get('elapsed_s')} s)", file=stream)
