"""Read the AWS report formats the policy bounds, and select the values a rule names.

Formats (samples in tests/fixtures/aws-formats/; kinds in :mod:`clearance.contract.reports`):

- ``bias_pre_training`` / ``bias_post_training``: Clarify ``analysis.json``;
  ``<pre|post>_training_bias_metrics.facets.<facet>[{value_or_threshold, metrics}]`` where each
  metric is ``{name, value, error?}``. A combined ``Bias.Report`` carries both sections; the kind
  picks its section.
- ``explainability``: Clarify ``analysis.json``;
  ``explanations.kernel_shap.<label>.global_shap_values.<feature>``.
- ``model_quality``: Model Monitor ``statistics.json``; ``<problem>_metrics.<metric>.value``.
- ``llm_evaluation``: ``{"version": "1.0", "llm_evaluation": {<evaluation>: {<metric>: number}}}``;
  the rule metric ``bbq.bias_score_ambiguous`` is ``llm_evaluation.bbq.bias_score_ambiguous`` (a
  ``{"value": x}`` object is accepted too).

Nothing here trusts the document: every shape problem is a :class:`ReportError` or a
:class:`Selected` with a ``problem``, never an uncaught exception, so the evaluator can fail the
rule with a reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from clearance.contract.errors import ClearanceError
from clearance.contract.reports import (
    BIAS_KINDS,
    BIAS_METRICS,
    BIAS_SECTIONS,
    MAX_REPORT_BYTES,
    MODEL_KINDS,
    REPORT_KINDS,
)
from clearance.policy import Rule

__all__ = [
    "BIAS_KINDS",
    "BIAS_METRICS",
    "MODEL_KINDS",
    "REPORT_KINDS",
    "ReportError",
    "Selected",
    "model_kind",
    "parse_report",
    "quality_kind",
    "select_values",
]

_SHOWN = 80  # characters of an offending value quoted in a reason


class ReportError(ClearanceError):
    """A report that cannot be used at all (missing, unreadable, not JSON, wrong shape). ``reason``
    says why.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.field, self.problem, self.fix = "report", reason, ""
        Exception.__init__(self, reason)


@dataclass(frozen=True)
class Selected:
    """One value a rule selected. ``number`` is set only for a finite number; otherwise ``problem``
    says why.
    """

    location: str
    raw: Any
    number: float | None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None and self.number is not None


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            # json keeps the last duplicate silently; which one the producer meant is unknowable.
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_report(data: bytes | str) -> Any:
    """Parse report bytes as strict-ish JSON. Raises :class:`ReportError` with the reason.

    ``NaN``/``Infinity`` literals are accepted by the parser (Python's json reads them) and
    rejected later, per value, so only the rules touching them fail.
    """
    if isinstance(data, str):
        text = data
    else:
        if not isinstance(data, bytes | bytearray):
            raise ReportError(f"report content is {type(data).__name__}, not bytes")
        if len(data) > MAX_REPORT_BYTES:
            raise ReportError(
                f"report is {len(data)} bytes, over the {MAX_REPORT_BYTES}-byte limit"
            )
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReportError(f"report is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ReportError("report is empty")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ReportError(f"report has a duplicated key {str(exc)[:_SHOWN]!r}: ambiguous") from None
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ReportError("invalid JSON: nested too deeply") from None
    except (ValueError, TypeError) as exc:  # e.g. integers over Python's digit limit
        raise ReportError(f"invalid JSON: {str(exc)[:_SHOWN]}") from None


def quality_kind(document: Any) -> str:
    """The kind of a ``ModelQuality.Statistics`` document: llm_evaluation or model_quality."""
    if isinstance(document, dict) and "llm_evaluation" in document:
        return "llm_evaluation"
    return "model_quality"


def model_kind(document: Any) -> str | None:
    """The model kind a quality document reveals, or None when it does not say unambiguously."""
    if not isinstance(document, dict):
        return None
    if "llm_evaluation" in document:
        return "llm"
    found = [
        kind
        for kind in MODEL_KINDS
        if kind != "llm" and isinstance(document.get(f"{kind}_metrics"), dict)
    ]
    return found[0] if len(found) == 1 else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def number_problem(raw: Any) -> tuple[float | None, str | None]:
    """`(finite float, None)` for a usable number, else `(None, reason)`. A bool is no number."""
    if raw is None:
        return None, "value is null"
    if isinstance(raw, bool):
        return None, f"value is a boolean ({raw}), not a number"
    if isinstance(raw, int):
        try:
            return float(raw), None
        except OverflowError:
            return None, "value is an integer too large to be a finite number"
    if isinstance(raw, float):
        if math.isnan(raw):
            return None, "value is NaN"
        if math.isinf(raw):
            return None, "value is Infinity" if raw > 0 else "value is -Infinity"
        return raw, None
    return None, f"value is {_type_name(raw)} {_short(raw)}, not a number"


def _value_entry(location: str, entry: Any, *, producer: str) -> Selected:
    """A metric entry that is either a bare number or an object with ``value`` (maybe ``error``)."""
    if isinstance(entry, dict):
        error = entry.get("error")
        raw = entry.get("value")
        if error is not None:
            return Selected(location, raw, None, f"{producer} reported an error: {_short(error)}")
        if "value" not in entry:
            return Selected(location, None, None, "metric has no 'value'")
        number, problem = number_problem(raw)
        return Selected(location, raw, number, problem)
    number, problem = number_problem(entry)
    return Selected(location, entry, number, problem)


def _require_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        if value is None:
            raise ReportError(f"{where} is missing")
        raise ReportError(f"{where} is {_type_name(value)}, not an object")
    return value


def _names(keys: Any) -> str:
    listed = sorted(str(k) for k in keys)
    shown = ", ".join(listed[:10])
    return (
        shown + (f" and {len(listed) - 10} more" if len(listed) > 10 else "") if listed else "none"
    )


def select_values(kind: str, document: Any, rule: Rule) -> list[Selected]:
    """The values ``rule`` selects from a parsed ``document`` of report ``kind``.

    Raises :class:`ReportError` when the document's shape is wrong or the facet, metric, label or
    feature the rule names is absent (the rule fails with that reason). Individual unusable values
    (null, NaN, error entries, strings) come back as :class:`Selected` with a ``problem``.
    """
    if kind in BIAS_KINDS:
        return _select_bias(kind, document, rule)
    if kind == "explainability":
        return _select_explainability(document, rule)
    if kind == "model_quality":
        return _select_quality(document, rule)
    if kind == "llm_evaluation":
        return _select_llm(document, rule)
    raise ReportError(f"unknown report kind {kind!r}")


def _select_bias(kind: str, document: Any, rule: Rule) -> list[Selected]:
    section_name = BIAS_SECTIONS[kind]
    doc = _require_dict(document, "report")
    section = _require_dict(doc.get(section_name), section_name)
    facets = _require_dict(section.get("facets"), f"{section_name}.facets")
    if rule.facet is not None:
        if rule.facet not in facets:
            raise ReportError(f"facet {rule.facet!r} not in report (facets: {_names(facets)})")
        chosen = {rule.facet: facets[rule.facet]}
    else:
        if not facets:
            raise ReportError(f"{section_name}.facets is empty")
        chosen = facets
    out: list[Selected] = []
    for facet, groups in chosen.items():
        if not isinstance(groups, list):
            raise ReportError(f"facet {facet!r} holds {_type_name(groups)}, not a list")
        matched = 0
        seen_values: list[str] = []
        for index, group in enumerate(groups):
            if not isinstance(group, dict):
                raise ReportError(f"facet {facet!r} entry {index} is {_type_name(group)}")
            value_or_threshold = group.get("value_or_threshold")
            seen_values.append(str(value_or_threshold))
            if rule.facet_value is not None and str(value_or_threshold) != rule.facet_value:
                continue
            matched += 1
            where = f"{section_name}.facets.{facet}[value_or_threshold={value_or_threshold}]"
            metrics = group.get("metrics")
            if not isinstance(metrics, list):
                raise ReportError(f"{where}.metrics is missing or not a list")
            found = [m for m in metrics if isinstance(m, dict) and m.get("name") == rule.metric]
            if not found:
                names = [m.get("name") for m in metrics if isinstance(m, dict)]
                raise ReportError(
                    f"metric {rule.metric!r} not in {where} (metrics: {_names(names)})"
                )
            for entry in found:
                out.append(_value_entry(f"{where}.{rule.metric}", entry, producer="Clarify"))
        if rule.facet_value is not None and matched == 0:
            raise ReportError(
                f"facet {facet!r} has no value_or_threshold {rule.facet_value!r} "
                f"(present: {_names(seen_values)})"
            )
        if matched == 0:
            raise ReportError(f"facet {facet!r} has no entries")
    return out


def _select_explainability(document: Any, rule: Rule) -> list[Selected]:
    doc = _require_dict(document, "report")
    explanations = _require_dict(doc.get("explanations"), "explanations")
    shap = _require_dict(explanations.get("kernel_shap"), "explanations.kernel_shap")
    if rule.label is not None:
        if rule.label not in shap:
            raise ReportError(f"label {rule.label!r} not in report (labels: {_names(shap)})")
        labels = {rule.label: shap[rule.label]}
    else:
        if not shap:
            raise ReportError("explanations.kernel_shap has no labels")
        labels = shap
    out: list[Selected] = []
    for label, body in labels.items():
        where = f"explanations.kernel_shap.{label}"
        body = _require_dict(body, where)
        values = _require_dict(body.get("global_shap_values"), f"{where}.global_shap_values")
        if rule.metric not in values:
            raise ReportError(
                f"feature {rule.metric!r} not in {where}.global_shap_values "
                f"(features: {_names(values)})"
            )
        out.append(
            _value_entry(
                f"{where}.global_shap_values.{rule.metric}", values[rule.metric], producer="Clarify"
            )
        )
    return out


def _select_quality(document: Any, rule: Rule) -> list[Selected]:
    doc = _require_dict(document, "report")
    if "llm_evaluation" in doc:
        raise ReportError(
            "the quality report is an llm_evaluation document, not Model Monitor statistics"
        )
    sections = {k: v for k, v in doc.items() if isinstance(k, str) and k.endswith("_metrics")}
    if not sections:
        raise ReportError(
            "no *_metrics section (expected binary_classification_metrics, "
            "multiclass_classification_metrics or regression_metrics)"
        )
    out: list[Selected] = []
    available: list[str] = []
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise ReportError(f"{name} is {_type_name(section)}, not an object")
        available.extend(section)
        if rule.metric not in section:
            continue
        entry = section[rule.metric]
        where = f"{name}.{rule.metric}"
        if not isinstance(entry, dict):
            out.append(
                Selected(
                    where, entry, None, f"expected an object with 'value', got {_type_name(entry)}"
                )
            )
            continue
        out.append(_value_entry(where, entry, producer="Model Monitor"))
    if not out:
        raise ReportError(
            f"metric {rule.metric!r} not in {', '.join(sections)} (metrics: {_names(available)})"
        )
    return out


def _select_llm(document: Any, rule: Rule) -> list[Selected]:
    doc = _require_dict(document, "report")
    node: Any = _require_dict(doc.get("llm_evaluation"), "llm_evaluation")
    path = "llm_evaluation"
    # A failed evaluation keeps its metric keys as null and adds an "error" to its section: any
    # error on the way to the metric fails the rule with that error, even beside a number.
    error: Any = None
    for depth, part in enumerate(rule.metric.split(".")):
        if not isinstance(node, dict):
            raise ReportError(f"{path} is {_type_name(node)}, not an object")
        if node.get("error") is not None and error is None:
            error = node.get("error")
        if part not in node:
            if error is not None:
                return [
                    Selected(path, None, None, f"the evaluation reported an error: {_short(error)}")
                ]
            what = "evaluation" if depth == 0 else "metric"
            raise ReportError(f"{what} {part!r} not in {path} (present: {_names(node)})")
        node = node[part]
        path = f"{path}.{part}"
    selected = _value_entry(path, node, producer="the evaluation")
    if error is not None and selected.problem is None:
        return [
            Selected(path, selected.raw, None, f"the evaluation reported an error: {_short(error)}")
        ]
    if error is not None:
        problem = f"{selected.problem}; the evaluation reported an error: {_short(error)}"
        return [Selected(path, selected.raw, None, problem)]
    return [selected]
