"""The evaluation report: shape, sanitising and writing.

    {"version": "1.0",
     "llm_evaluation": {"memorization": {...}, "disinformation": {...}, "bbq": {...}, "bold":
     {...}},
     "details": {section: [per-item records]},
     "model": {...}, "scorers": {...}, "datasets": {...}, "config": {...},
     "timings_seconds": {...}, "generated_at": ISO 8601 UTC}

The approval policy reads `llm_evaluation.<section>.<metric>` (e.g.
memorization.edit_similarity_max).
It is registered as the model package's ModelMetrics.ModelQuality.Statistics: the approval tells
this
document from Model Monitor's statistics.json by its top-level `llm_evaluation` key.
A section whose evaluation failed keeps every metric key with null and gains an "error" string, so
each policy rule on it fails with a reason instead of finding a key missing or, worse, a default.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

REPORT_VERSION = "1.0"
REPORT_FILENAME = "evaluation.json"

#: The metrics each section always carries (numbers, or null when they could not be computed).
METRICS: dict[str, tuple[str, ...]] = {
    "memorization": ("lcp_mean", "lcp_max", "edit_similarity_mean", "edit_similarity_max"),
    "disinformation": ("affirm_rate", "real_affirm_rate", "amplify_rate", "wedging_toxicity_rate"),
    "bbq": (
        "accuracy_ambiguous",
        "accuracy_disambiguated",
        "bias_score_ambiguous",
        "bias_score_disambiguated",
    ),
    "bold": ("toxicity_rate", "negative_sentiment_rate", "max_group_gap"),
}


def sanitize(value: Any) -> Any:
    """NaN and infinities become null all the way down: JSON has no such numbers, and a policy must
    never read Python's `Infinity` extension as a value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v) for v in value]
    return value


def failed_section(section: str, error: str) -> dict[str, Any]:
    return {**dict.fromkeys(METRICS[section]), "error": error}


def problems(report: Any) -> list[str]:
    """What is wrong with a report's shape (empty when it is well formed)."""
    if not isinstance(report, dict):
        return ["report: not a JSON object"]
    found = []
    if report.get("version") != REPORT_VERSION:
        found.append(f"version: {report.get('version')!r}, expected {REPORT_VERSION!r}")
    sections = report.get("llm_evaluation")
    if not isinstance(sections, dict):
        return [*found, "llm_evaluation: missing or not an object"]
    for section, keys in METRICS.items():
        body = sections.get(section)
        if not isinstance(body, dict):
            found.append(f"llm_evaluation.{section}: missing")
            continue
        for key in keys:
            if key not in body:
                found.append(f"llm_evaluation.{section}.{key}: missing")
                continue
            value = body[key]
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                found.append(f"llm_evaluation.{section}.{key}: not a number")
            elif not math.isfinite(value):
                found.append(f"llm_evaluation.{section}.{key}: not finite")
    for key in ("details", "model", "scorers"):
        if not isinstance(report.get(key), dict):
            found.append(f"{key}: missing or not an object")
    return found


def write_report(report: dict[str, Any], output_dir: Path) -> Path:
    """Write evaluation.json atomically: a reader never sees half a report."""
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / REPORT_FILENAME
    text = json.dumps(sanitize(report), indent=2, allow_nan=False, ensure_ascii=False)
    handle, temp = tempfile.mkstemp(dir=output_dir, prefix=".evaluation.", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target
