"""Build a model card's content from checks.json, the reports and the package."""

from __future__ import annotations

from typing import Any

from clearance.evidence.card_limits import (
    CUSTOM_VALUE_MAX,
    KIND_TITLES,
    METRIC_NAME_MAX,
    MODEL_ARTIFACT_MAX_ITEMS,
    NAME_MAX,
    NOTES_MAX,
    OBSERVATION_MAX,
    PROBLEM_TYPES,
    SHAP_MAX_FEATURES,
    TEXT_1024,
    TEXT_2048,
    _clip,
)
from clearance.evidence.card_measures import (
    check_note,
    endpoint_item,
    interval_text,
    measured_item,
)
from clearance.evidence.card_validate import validate_content
from clearance.evidence.checks_view import ChecksView
from clearance.evidence.endpoint_view import EndpointView
from clearance.evidence.package import PackageInfo
from clearance.evidence.parse import BiasGroup, Evidence, MetricSection, MetricValue, ShapSet

# --------------------------------------------------------------------------------------------------
# Content


def _number_metric(metric: MetricValue) -> dict[str, Any]:
    name = _clip(metric.name or "(unnamed)", METRIC_NAME_MAX)
    if metric.value is None:
        # The schema has no "missing" number; a string metric says so instead of inventing a value.
        return {
            "name": name,
            "type": "string",
            "value": "not a finite number",
            "notes": _clip(metric.note or metric.description or "missing", NOTES_MAX),
        }
    entry: dict[str, Any] = {"name": name, "type": "number", "value": metric.value}
    notes = [metric.description] if metric.description else []
    if metric.interval is not None or metric.n is not None:
        notes.append(interval_text(metric.interval))
        if metric.n is not None:
            notes.append(f"n {metric.n}")
        notes += [f"{g} {n}" for g, n in sorted(metric.group_sizes.items())]
    if notes:
        entry["notes"] = _clip(", ".join(notes), NOTES_MAX)
    return entry


def _metric_entries(metric: MetricValue) -> list[dict[str, Any]]:
    """The metric, then its interval's ends as numbers (the card has no interval type)."""
    entries = [_number_metric(metric)]
    if metric.interval is not None and metric.value is not None:
        for end, value in (("lower", metric.interval.lower), ("upper", metric.interval.upper)):
            entries.append(
                {
                    "name": _clip(f"{metric.name} {end} 95%", METRIC_NAME_MAX),
                    "type": "number",
                    "value": value,
                }
            )
    return entries


def _bias_group(group: BiasGroup) -> dict[str, Any]:
    return {
        "name": _clip(f"{group.facet}={group.facet_value}", NAME_MAX),
        "metric_data": [_number_metric(m) for m in group.metrics],
    }


def _shap_group(shap: ShapSet) -> dict[str, Any]:
    finite = [m for m in shap.importances if m.value is not None][:SHAP_MAX_FEATURES]
    metric_data: list[dict[str, Any]] = []
    if finite:
        metric_data.append(
            {
                "name": "global_shap_values",
                "type": "bar_chart",
                "value": [m.value for m in finite],
                "x_axis_name": [_clip(m.name, METRIC_NAME_MAX) for m in finite],
                "y_axis_name": "mean |SHAP value|",
                "notes": _clip(
                    f"{shap.method}, label {shap.label}; {len(finite)} of "
                    f"{len(shap.importances)} features, largest first",
                    NOTES_MAX,
                ),
            }
        )
    metric_data.extend(_number_metric(m) for m in shap.importances if m.value is None)
    return {"name": _clip(f"{shap.method} {shap.label}", NAME_MAX), "metric_data": metric_data}


def _section_group(section: MetricSection) -> dict[str, Any]:
    metric_data = [entry for m in section.metrics for entry in _metric_entries(m)]
    if section.matrix is not None:
        rows, cols, cells = section.matrix
        metric_data.append(
            {
                "name": "confusion_matrix",
                "type": "matrix",
                "value": [list(r) for r in cells],
                "x_axis_name": list(rows),
                "y_axis_name": list(cols),
            }
        )
    # An evaluation named "" in a report still needs a 1-63 character group name.
    return {"name": _clip(section.name or "(unnamed)", NAME_MAX), "metric_data": metric_data}


def _check_group(checks: ChecksView) -> dict[str, Any]:
    data = []
    for check in checks.checks:
        values = ", ".join(
            repr(v.value) if v.value is not None else f"{v.raw} (not a finite number)"
            for v in check.values
        )
        b = check.bounds
        bounds = ", ".join(
            f"{k}={v!r}"
            for k, v in (("min", b.min), ("max", b.max), ("abs_max", b.abs_max))
            if v is not None
        )
        note = f"{check.report}/{check.metric}: values [{values}] bounds [{bounds}]. {check.reason}"
        measured = check_note(check)
        if measured:
            note = f"{note} ({measured})"
        data.append(
            {
                "name": _clip(check.id, METRIC_NAME_MAX),
                "type": "boolean",
                "value": check.passed,
                "notes": _clip(note, NOTES_MAX),
            }
        )
    return {
        "name": _clip(f"policy {checks.policy_id} v{checks.policy_version}", NAME_MAX),
        "metric_data": data,
    }


def _evaluation_item(kind: str, groups: list[dict[str, Any]], evidence: Evidence) -> dict[str, Any]:
    item: dict[str, Any] = {"name": KIND_TITLES.get(kind, kind)[:NAME_MAX], "metric_groups": groups}
    observation = evidence.sources.get(kind, "")
    if kind in evidence.problems:
        observation = f"{observation} Not shown: {evidence.problems[kind]}".strip()
    if observation:
        item["evaluation_observation"] = _clip(observation, OBSERVATION_MAX)
    return item


def build_content(
    checks: ChecksView,
    evidence: Evidence,
    package: PackageInfo,
    endpoint: EndpointView | None = None,
) -> dict[str, Any]:
    """Model card content (a dict, serialised with json.dumps) for one decision; the staging
    endpoint checks (ENDPOINT, else the evidence's, else checks.json's) when there are any."""
    meta = package.metadata
    project = meta.get("team:project", "") or "unknown project"
    description = meta.get("team:description", "") or package.description
    label, facet = meta.get("team:label", ""), meta.get("team:facet", "")
    model_type = meta.get("team:model-type", "")

    overview: dict[str, Any] = {"model_creator": _clip(project, TEXT_1024)}
    if description:
        overview["model_description"] = _clip(description, TEXT_1024)
    if package.model_data_urls:
        overview["model_artifact"] = [_clip(u, TEXT_1024) for u in package.model_data_urls][
            :MODEL_ARTIFACT_MAX_ITEMS
        ]
    if meta.get("team:problem-type"):
        problem = meta["team:problem-type"]
        overview["problem_type"] = PROBLEM_TYPES.get(problem, problem)
    algorithm = "Large language model" if model_type == "llm" else ""
    if not algorithm and any("xgboost" in image.lower() for image in package.images):
        algorithm = "XGBoost"
    if algorithm:
        overview["algorithm_type"] = algorithm

    uses = (
        f"Registered in model package group {package.group or package.name} by SageMaker project "
        f"{project}." + (f" Predicts {label}." if label else "")
    )
    intended: dict[str, Any] = {
        "intended_uses": _clip(uses, TEXT_2048),
        # Clearance documents evidence; rating a model's risk stays a human judgement.
        "risk_rating": "Unknown",
        "explanations_for_risk_rating": "Not rated by Clearance: the model owner sets it.",
    }
    if description:
        intended["purpose_of_model"] = _clip(description, TEXT_2048)
    if facet:
        intended["factors_affecting_model_efficiency"] = _clip(
            f"Fairness is measured across the facet {facet} (Clarify bias metrics below).",
            TEXT_2048,
        )

    observations = [f"Model package {package.arn} registered {package.created}."]
    if package.generated_by:
        observations.append(f"Generated by {package.generated_by}.")
    if package.images:
        observations.append(f"Container image {package.images[0]}.")
    training = {"training_observations": _clip(" ".join(observations), TEXT_1024)}

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for group in evidence.bias:
        by_kind.setdefault(f"bias_{group.stage}", []).append(_bias_group(group))
    for shap in evidence.shap:
        by_kind.setdefault("explainability", []).append(_shap_group(shap))
    for section in evidence.sections:
        by_kind.setdefault(section.kind, []).append(_section_group(section))
    evaluation = [
        {
            "name": "Clearance policy checks",
            "evaluation_observation": _clip(
                f"Decision {checks.decision} under policy {checks.policy_id} version "
                f"{checks.policy_version} (sha256 {checks.policy_sha256}); "
                f"{len(checks.failed)} of {len(checks.checks)} checks failed.",
                OBSERVATION_MAX,
            ),
            "metric_groups": [_check_group(checks)],
        }
    ]
    measured = measured_item(checks)
    if measured is not None:
        evaluation.append(measured)
    endpoint = endpoint or evidence.endpoint or checks.endpoint
    if endpoint is not None:
        evaluation.append(endpoint_item(endpoint))
    problems = {k for k in evidence.problems if k != "endpoint"}
    for kind in sorted(set(by_kind) | problems):
        evaluation.append(_evaluation_item(kind, by_kind.get(kind, []), evidence))

    failed = ", ".join(c.id for c in checks.failed) or "none"
    custom = {
        "clearance_decision": checks.decision,
        "policy_id": checks.policy_id,
        "policy_version": checks.policy_version,
        "policy_sha256": checks.policy_sha256,
        "checks_sha256": checks.sha256,
        "failed_checks": failed,
        "model_package_arn": package.arn,
        "evaluated_at": checks.evaluated_at,
    }
    if checks.failed:
        caveats = "Rejected by Clearance. Failed checks: " + "; ".join(
            f"{c.id}{' (inconclusive)' if c.outcome == 'inconclusive' else ''}: {c.reason}"
            for c in checks.failed
        )
    else:
        caveats = f"Approved by Clearance: all {len(checks.checks)} policy checks passed."
    additional = {
        "caveats_and_recommendations": _clip(caveats, TEXT_2048),
        "custom_details": {k: _clip(v, CUSTOM_VALUE_MAX) for k, v in custom.items() if v},
    }
    if facet:
        bias_checks = [c for c in checks.checks if c.report.startswith("bias")]
        ethics = f"Bias was measured on facet {facet}; " + (
            f"{sum(c.passed for c in bias_checks)} of {len(bias_checks)} bias checks passed."
            if bias_checks
            else "the policy has no bias check."
        )
        additional["ethical_considerations"] = _clip(ethics, TEXT_2048)

    content = {
        "model_overview": overview,
        "intended_uses": intended,
        "training_details": training,
        "evaluation_details": evaluation,
        "additional_information": additional,
    }
    # The approval's processing code runs with boto3 only (issue 3) and importing sagemaker-core
    # costs ~5 s, so at run time the content is checked by our own rules (every text is clipped to
    # its limit above); the tests validate every built card against the sagemaker-core mirror too.
    validate_content(content, mirror=False)
    return content
