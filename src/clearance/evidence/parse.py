"""Reports (Clarify, Model Monitor, LLM evaluation) parsed for display into an Evidence record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.evidence.common import MAX_REPORT_BYTES, REPORT_DIR_CANDIDATES, EvidenceError
from clearance.evidence.endpoint_view import EndpointView, parse_endpoint
from clearance.evidence.measured import Interval, counts, parse_interval
from clearance.evidence.measured import finite as _finite

ENDPOINT = "endpoint"  # the staging endpoint checks' report (issue 13), beside the decision's
ENDPOINT_CANDIDATES = ("endpoint.json", "endpoint/report.json")

# --------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float | None
    description: str = ""
    note: str = ""  # why value is None (Clarify's `error`, null, NaN, ...)
    # A metric in the shared shape {"value", "n", "interval", "group_sizes"} (LLM evaluation 2.0).
    interval: Interval | None = None
    n: int | None = None
    group_sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BiasGroup:
    stage: str  # "pre_training" | "post_training"
    label: str
    label_value: str
    facet: str
    facet_value: str
    metrics: tuple[MetricValue, ...]


@dataclass(frozen=True)
class ShapSet:
    method: str
    label: str
    importances: tuple[MetricValue, ...]  # sorted by |value|, descending; non-finite last


@dataclass(frozen=True)
class MetricSection:
    kind: str  # model_quality | llm_evaluation
    name: str  # binary_classification_metrics, regression_metrics, memorization, ...
    metrics: tuple[MetricValue, ...]
    matrix: tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[float, ...], ...]] | None = None


@dataclass
class Evidence:
    bias: list[BiasGroup] = field(default_factory=list)
    shap: list[ShapSet] = field(default_factory=list)
    sections: list[MetricSection] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # kind -> why it is not shown
    # kind -> where it came from (and whether its digest was verified)
    sources: dict[str, str] = field(default_factory=dict)
    # The kind a document turned out to be, when its slot serves two (model_quality holding an LLM
    # evaluation): its source is filed under what the document is.
    actual_kind: dict[str, str] = field(default_factory=dict)
    endpoint: EndpointView | None = None
    endpoint_problem: str = ""

    def add_sources(self, sources: Mapping[str, str]) -> None:
        for kind, source in sources.items():
            self.sources[self.actual_kind.get(kind, kind)] = source


def _metric(name: str, raw: Any, description: str = "", error: Any = None) -> MetricValue:
    value = _finite(raw)
    note = ""
    if value is None:
        note = f"not a finite number ({json.dumps(raw, allow_nan=True)[:80]})"
        if error:
            note = f"{note}: {error}"
    return MetricValue(name=str(name), value=value, description=str(description or ""), note=note)


def _bias_groups(section: Any, stage: str) -> list[BiasGroup]:
    if not isinstance(section, Mapping) or not isinstance(section.get("facets"), Mapping):
        raise ValueError(f"{stage}_bias_metrics has no facets")
    groups = []
    for facet, entries in section["facets"].items():
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping):
                continue
            metrics = tuple(
                _metric(
                    m.get("name", "?"), m.get("value"), m.get("description", ""), m.get("error")
                )
                for m in entry.get("metrics", [])
                if isinstance(m, Mapping)
            )
            groups.append(
                BiasGroup(
                    stage=stage,
                    label=str(section.get("label", "")),
                    label_value=str(section.get("label_value_or_threshold", "")),
                    facet=str(facet),
                    facet_value=str(entry.get("value_or_threshold", "")),
                    metrics=metrics,
                )
            )
    return groups


def _shap_sets(doc: Mapping[str, Any]) -> list[ShapSet]:
    explanations = doc.get("explanations")
    if not isinstance(explanations, Mapping):
        raise ValueError("no explanations section")
    sets = []
    for method, by_label in explanations.items():
        if not isinstance(by_label, Mapping):
            continue
        for label, body in by_label.items():
            values = body.get("global_shap_values") if isinstance(body, Mapping) else None
            if not isinstance(values, Mapping):
                continue
            metrics = [_metric(k, v) for k, v in values.items()]
            metrics.sort(key=lambda m: (m.value is None, -abs(m.value or 0.0), m.name))
            sets.append(ShapSet(method=str(method), label=str(label), importances=tuple(metrics)))
    if not sets:
        raise ValueError("no global_shap_values in explanations")
    return sets


def _quality_sections(doc: Mapping[str, Any]) -> list[MetricSection]:
    sections = []
    for name, body in doc.items():
        if not (isinstance(name, str) and name.endswith("_metrics") and isinstance(body, Mapping)):
            continue
        metrics, matrix = [], None
        for metric_name, metric in body.items():
            if metric_name == "confusion_matrix" and isinstance(metric, Mapping):
                matrix = _confusion_matrix(metric)
            elif isinstance(metric, Mapping) and "value" in metric:
                metrics.append(_metric(metric_name, metric.get("value")))
        sections.append(MetricSection("model_quality", name, tuple(metrics), matrix))
    if not sections:
        raise ValueError("no *_metrics section")
    return sections


def _confusion_matrix(raw: Mapping[str, Any]):
    rows = [str(k) for k in raw]
    cols = sorted({str(c) for v in raw.values() if isinstance(v, Mapping) for c in v})
    cells = []
    for r in raw.values():
        row = []
        for c in cols:
            number = _finite(r.get(c)) if isinstance(r, Mapping) else None
            if number is None:
                return None  # a matrix with holes is not shown rather than shown wrong
            row.append(number)
        cells.append(tuple(row))
    return (tuple(rows), tuple(cols), tuple(cells)) if rows and cols else None


def _is_measured(body: Any) -> bool:
    return isinstance(body, Mapping) and "value" in body and ("interval" in body or "n" in body)


def _measured_metric(name: str, body: Mapping[str, Any]) -> MetricValue:
    metric = _metric(name, body.get("value"), error=body.get("error"))
    interval, problem = parse_interval(body.get("interval"))
    n = counts({"n": body.get("n")}).get("n")
    note = metric.note or problem
    return MetricValue(
        metric.name, metric.value, "", note, interval, n, counts(body.get("group_sizes"))
    )


def _flatten(prefix: str, body: Any, out: list[MetricValue]) -> None:
    if _is_measured(body):
        out.append(_measured_metric(prefix, body))
    elif isinstance(body, Mapping):
        for key, value in body.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif isinstance(body, int | float | type(None)) and not isinstance(body, bool):
        out.append(_metric(prefix, body))


def _llm_sections(doc: Mapping[str, Any]) -> list[MetricSection]:
    body = doc.get("llm_evaluation")
    if not isinstance(body, Mapping):
        raise ValueError("no llm_evaluation section")
    sections = []
    for name, evaluation in body.items():
        metrics: list[MetricValue] = []
        # A bare number (or null) as the whole evaluation is named after the evaluation.
        whole = not isinstance(evaluation, Mapping) or _is_measured(evaluation)
        _flatten(str(name) if whole else "", evaluation, metrics)
        sections.append(MetricSection("llm_evaluation", str(name), tuple(metrics)))
    return sections


def parse_reports(reports: Mapping[str, bytes | None | str]) -> Evidence:
    """Raw report bytes -> display evidence; a str value is a problem already found upstream."""
    evidence = Evidence()
    for kind, data in reports.items():
        if data is None:
            evidence.problems[kind] = "not attached to the model package"
            continue
        if isinstance(data, str):
            evidence.problems[kind] = data
            continue
        try:
            doc = json.loads(data)
            if not isinstance(doc, Mapping):
                raise ValueError("not a JSON object")
            # The ModelQuality.Statistics slot holds either Model Monitor statistics or an LLM
            # evaluation.
            if kind in ("model_quality", "llm_evaluation") and "llm_evaluation" in doc:
                evidence.sections.extend(_llm_sections(doc))
                evidence.actual_kind[kind] = "llm_evaluation"
            elif kind == "model_quality":
                evidence.sections.extend(_quality_sections(doc))
            elif kind == "llm_evaluation":
                raise ValueError("no llm_evaluation section")
            elif kind == "explainability":
                evidence.shap.extend(_shap_sets(doc))
            elif kind == ENDPOINT:
                evidence.endpoint = parse_endpoint(doc)
            elif kind in ("bias_pre_training", "bias_post_training"):
                stage = kind.removeprefix("bias_")
                evidence.bias.extend(_bias_groups(doc.get(f"{stage}_bias_metrics"), stage))
            else:
                evidence.problems[kind] = "unknown report kind"
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            evidence.problems[kind] = f"unreadable: {str(exc)[:200]}"
    if ENDPOINT in evidence.problems:
        evidence.endpoint_problem = evidence.problems[ENDPOINT]
    return evidence


def read_endpoint_report(path: str | Path, option: str = "--endpoint-report") -> bytes:
    """The bytes of an endpoint report file, or EvidenceError naming OPTION."""
    path = Path(path)
    fix = "pass the endpoint report `clearance endpoint-check` wrote"
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise EvidenceError(option, f"{path} is larger than {MAX_REPORT_BYTES} bytes", fix)
        return path.read_bytes()
    except OSError as exc:
        raise EvidenceError(option, f"cannot read {path}: {exc.strerror or exc}", fix) from None


def load_reports_dir(directory: str | Path) -> tuple[dict[str, bytes | None | str], dict[str, str]]:
    """Read the reports of a local build; a kind with no file is simply absent (not a problem)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EvidenceError(
            "--reports-dir",
            f"{directory} is not a directory",
            "pass the reports/ folder of a build",
        )
    reports: dict[str, bytes | None | str] = {}
    sources: dict[str, str] = {}
    for kind, candidates in REPORT_DIR_CANDIDATES.items():
        for candidate in candidates:
            path = directory / candidate
            if path.is_file():
                sources[kind] = str(path)
                if path.stat().st_size > MAX_REPORT_BYTES:
                    reports[kind] = f"larger than {MAX_REPORT_BYTES} bytes"
                else:
                    reports[kind] = path.read_bytes()
                break
    for candidate in ENDPOINT_CANDIDATES:
        path = directory / candidate
        if path.is_file() and path.stat().st_size <= MAX_REPORT_BYTES:
            sources[ENDPOINT], reports[ENDPOINT] = str(path), path.read_bytes()
            break
    return reports, sources
