"""SageMaker Model Card for a decided model package: content, validation, create-or-update.

The content follows the model card JSON schema as sagemaker-core mirrors it
(`sagemaker/core/shapes/model_card_shapes.py`). We stay inside the fields that mirror knows, so the
same content is valid for the full ModelCard schema and the mirror can validate it offline.

Card status follows the decision:

* Approved -> "Approved": every policy check passed; the card documents a model cleared for
  production.
* Rejected -> "PendingReview": the card is complete (so not "Draft"), but the model is not
  approved, and a rejection is exactly the point where a person reviews the evidence: fix and
  register a new version, or override in the registry. "Archived" would freeze the card ("no more
  updates should be made") although the registry still lets a reviewer overturn the rejection,
  and "Approved" would read as a sign-off of a model that failed its policy.

An "Archived" card is never touched again, whatever the decision.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from clearance.evidence.checks_view import ChecksView
from clearance.evidence.common import EvidenceError
from clearance.evidence.package import PackageInfo
from clearance.evidence.parse import BiasGroup, Evidence, MetricSection, MetricValue, ShapSet

LOG = logging.getLogger(__name__)

CARD_STATUS = {"Approved": "Approved", "Rejected": "PendingReview"}
ARCHIVED = "Archived"

# Limits of the model card JSON schema and the CreateModelCard API (botocore service model).
CONTENT_MAX_CHARS = 100_000
NAME_MAX = 63  # EntityName, and metric group / evaluation names (pattern .{1,63})
METRIC_NAME_MAX = 255
NOTES_MAX = 1024
TEXT_1024 = 1024
TEXT_2048 = 2048
OBSERVATION_MAX = 2096
MODEL_ARTIFACT_MAX_ITEMS = 15
CUSTOM_VALUE_MAX = 1024
SHAP_MAX_FEATURES = 100  # keeps one card far below CONTENT_MAX_CHARS even with long feature names
_ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_METADATA_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

PROBLEM_TYPES = {"binary_classification": "Binary Classification", "regression": "Regression"}
KIND_TITLES = {
    "bias_pre_training": "Clarify pre-training bias",
    "bias_post_training": "Clarify post-training bias",
    "explainability": "Clarify explainability (SHAP)",
    "model_quality": "Model quality",
    "llm_evaluation": "LLM evaluation",
}


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_name_for(package: PackageInfo) -> str:
    """Deterministic card name `<group>-<version>`; past 63 chars, shortened + digest suffix."""
    base = f"{package.group}-{package.version}" if package.group else package.name
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "model-package"
    if _ENTITY_NAME.match(base) and len(base) <= NAME_MAX:
        return base
    suffix = "-" + hashlib.sha256(package.arn.encode()).hexdigest()[:8]
    if package.version is not None:
        suffix = f"-{package.version}{suffix}"
    head = base[: NAME_MAX - len(suffix)].rstrip("-")
    return re.sub(r"-{2,}", "-", f"{head}{suffix}")


# --------------------------------------------------------------------------------------------------
# Content


def _number_metric(metric: MetricValue) -> dict[str, Any]:
    name = _clip(metric.name, METRIC_NAME_MAX)
    if metric.value is None:
        # The schema has no "missing" number; a string metric says so instead of inventing a value.
        return {
            "name": name,
            "type": "string",
            "value": "not a finite number",
            "notes": _clip(metric.note or metric.description or "missing", NOTES_MAX),
        }
    entry: dict[str, Any] = {"name": name, "type": "number", "value": metric.value}
    if metric.description:
        entry["notes"] = _clip(metric.description, NOTES_MAX)
    return entry


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
    metric_data = [_number_metric(m) for m in section.metrics]
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
    return {"name": _clip(section.name, NAME_MAX), "metric_data": metric_data}


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


def build_content(checks: ChecksView, evidence: Evidence, package: PackageInfo) -> dict[str, Any]:
    """Model card content (a dict, serialised with json.dumps) for one decision."""
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
    for kind in sorted(set(by_kind) | set(evidence.problems)):
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
            f"{c.id}: {c.reason}" for c in checks.failed
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


# --------------------------------------------------------------------------------------------------
# Validation


def _dropped_keys(sent: Any, kept: Any, path: str = "") -> list[str]:
    """Keys in `sent` that the pydantic mirror silently ignored (it does not forbid extras)."""
    dropped: list[str] = []
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            where = f"{path}.{key}" if path else key
            if key not in kept:
                dropped.append(where)
            else:
                dropped.extend(_dropped_keys(value, kept[key], where))
    elif isinstance(sent, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(sent, kept, strict=False)):
            dropped.extend(_dropped_keys(a, b, f"{path}[{i}]"))
    return dropped


def validate_content(content: dict[str, Any], *, mirror: bool = True) -> None:
    """Check content against the schema constraints; raise EvidenceError naming the first violation.

    The sagemaker-core pydantic shapes check types, enums and max lengths; they ignore unknown keys
    and their `.{1,N}` patterns are searches, not full matches, so unknown keys, name lengths,
    metric value types, metadata keys and the API's 100,000-character limit are checked here.
    """
    if mirror:
        _validate_with_mirror(content)
    try:
        text = json.dumps(content, allow_nan=False)
    except ValueError:
        raise EvidenceError(
            "model card", "holds NaN or Infinity, which JSON cannot carry", "report this bug"
        ) from None
    if len(text) > CONTENT_MAX_CHARS:
        raise EvidenceError(
            "model card", f"content is {len(text)} characters, over {CONTENT_MAX_CHARS}", "trim it"
        )
    for e, item in enumerate(content.get("evaluation_details", [])):
        if not 1 <= len(item["name"]) <= NAME_MAX:
            raise EvidenceError(
                f"model card evaluation_details[{e}].name", "must be 1-63 characters", "shorten it"
            )
        for key in item.get("metadata", {}) or {}:
            if not _METADATA_KEY.match(key):
                raise EvidenceError(
                    f"model card evaluation_details[{e}].metadata", f"bad key {key!r}", "rename it"
                )
        for g, group in enumerate(item.get("metric_groups", [])):
            where = f"model card evaluation_details[{e}].metric_groups[{g}]"
            if not 1 <= len(group["name"]) <= NAME_MAX:
                raise EvidenceError(f"{where}.name", "must be 1-63 characters", "shorten it")
            for m, metric in enumerate(group["metric_data"]):
                _validate_metric(metric, f"{where}.metric_data[{m}]")


def _validate_with_mirror(content: dict[str, Any]) -> None:
    from pydantic import ValidationError
    from sagemaker.core.shapes.model_card_shapes import ModelCardContent

    try:
        model = ModelCardContent.model_validate(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EvidenceError(
            f"model card {where}", first["msg"], "this is a Clearance bug; report it"
        ) from None
    kept = model.model_dump(mode="json", exclude_unset=True)
    dropped = _dropped_keys(content, kept)
    if dropped:
        raise EvidenceError(
            f"model card {dropped[0]}", "not in the model card schema", "remove the key"
        )


def _validate_metric(metric: dict[str, Any], where: str) -> None:
    if not 1 <= len(metric["name"]) <= METRIC_NAME_MAX:
        raise EvidenceError(f"{where}.name", "must be 1-255 characters", "shorten it")
    kind, value = metric.get("type"), metric.get("value")
    ok = {
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "bar_chart": isinstance(value, list)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and len(metric.get("x_axis_name") or []) == len(value),
        "matrix": isinstance(value, list) and all(isinstance(r, list) for r in value),
        "linear_graph": isinstance(value, list),
    }.get(kind, False)
    if not ok:
        raise EvidenceError(
            f"{where}.value", f"does not match type {kind!r}", "fix the metric type"
        )


# --------------------------------------------------------------------------------------------------
# Registry calls


@dataclass(frozen=True)
class CardWrite:
    name: str
    arn: str
    version: int | None
    status: str
    action: str


def _fingerprint(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, allow_nan=False)


def upsert_model_card(
    sm: Any, package: PackageInfo, checks: ChecksView, content: dict[str, Any]
) -> CardWrite:
    """Create the card, or update it when its content or status differs; idempotent on re-runs.

    UpdateModelCard may not change content and status in one call (API reference), so an update
    sends content first, then status. moto 5.2.5 instead stores exactly the fields a call sends (a
    content-only update leaves the status null, and the reverse), so after writing we read the card
    back and, only if a field went missing, send both in one call — accepted by the stand-in, never
    needed against SageMaker. The read-back also proves what the registry now holds.
    """
    from botocore.exceptions import ClientError

    name = card_name_for(package)
    status = CARD_STATUS[checks.decision]
    body = json.dumps(content, allow_nan=False)
    try:
        current = sm.describe_model_card(ModelCardName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "ResourceNotFound",
            "ResourceNotFoundException",
        ):
            raise
        current = None

    if current is None:
        arn = sm.create_model_card(
            ModelCardName=name,
            Content=body,
            ModelCardStatus=status,
            Tags=[{"Key": "clearance:model-package-arn", "Value": package.arn[:256]}],
        )["ModelCardArn"]
        action = "created"
    elif current.get("ModelCardStatus") == ARCHIVED:
        LOG.warning("model card %s is Archived; left unchanged", name)
        return CardWrite(
            name,
            current["ModelCardArn"],
            current.get("ModelCardVersion"),
            ARCHIVED,
            "archived-left-alone",
        )
    else:
        same_content = _same_content(current.get("Content"), content)
        same_status = current.get("ModelCardStatus") == status
        if same_content and same_status:
            return CardWrite(
                name, current["ModelCardArn"], current.get("ModelCardVersion"), status, "unchanged"
            )
        if not same_content:
            sm.update_model_card(ModelCardName=name, Content=body)
        if not same_status:
            sm.update_model_card(ModelCardName=name, ModelCardStatus=status)
        arn, action = current["ModelCardArn"], "updated"

    stored = sm.describe_model_card(ModelCardName=name)
    if not (
        _same_content(stored.get("Content"), content) and stored.get("ModelCardStatus") == status
    ):
        LOG.info("model card %s lost a field on a partial update (stand-in); rewriting both", name)
        sm.update_model_card(ModelCardName=name, Content=body, ModelCardStatus=status)
        stored = sm.describe_model_card(ModelCardName=name)
        if not (
            _same_content(stored.get("Content"), content)
            and stored.get("ModelCardStatus") == status
        ):
            raise EvidenceError(
                f"model card {name}",
                "the registry does not hold what was written",
                "check the SageMaker endpoint",
            )
    return CardWrite(name, arn, stored.get("ModelCardVersion"), status, action)


def _same_content(stored: Any, content: dict[str, Any]) -> bool:
    if not isinstance(stored, str):
        return False
    try:
        return _fingerprint(json.loads(stored)) == _fingerprint(content)
    except ValueError:
        return False
