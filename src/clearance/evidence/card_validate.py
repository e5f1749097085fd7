"""Validate model card content before it is sent (the SDK's pydantic mirror plus the API limits)."""

from __future__ import annotations

import json
from typing import Any

from clearance.evidence.card_limits import (
    _METADATA_KEY,
    CONTENT_MAX_CHARS,
    METRIC_NAME_MAX,
    NAME_MAX,
)
from clearance.evidence.common import EvidenceError

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
