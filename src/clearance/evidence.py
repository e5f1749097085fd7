"""Evidence of a decision: read checks.json and the reports it was made on, then leave a trail.

`after_decision` is the single entry point the approval pipeline's Update step and `make demo` call
after a decision is in the registry. It writes a SageMaker Model Card for the package (create or
update) and one self-contained HTML page. Everything here is *display* of a decision already taken:
parsing is lenient where the decision logic is strict, so a malformed report shows up as a stated
problem in the card and the page, never as a crash and never as a number that was not in the
report.

Data flow::

    checks.json ──parse_checks──► ChecksView ─┐
    reports (S3 / dir) ──parse_reports──► Evidence ─┼─► modelcard.build_content ─► model card
    describe_model_package ──► PackageInfo ───┘    └─► report_html.render ─► <out>/<card>.html
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

DECISIONS = ("Approved", "Rejected")
REPORT_KINDS = (
    "bias_pre_training",
    "bias_post_training",
    "explainability",
    "model_quality",
    "llm_evaluation",
)
# A report larger than this is not a Clarify or Model Monitor output; refuse it rather than fill
# memory.
MAX_REPORT_BYTES = 20 * 1024 * 1024
REGENERATE_FIX = "regenerate it with `clearance check` or the approval pipeline's Evaluate step"

# Where each kind sits in a local report directory: the baked repo's `make local` layout first, then
# flat `<kind>.json` files (what `clearance report --reports-dir` users are most likely to hand
# over).
REPORT_DIR_CANDIDATES: dict[str, tuple[str, ...]] = {
    "bias_pre_training": ("data_bias/analysis.json", "bias_pre_training.json"),
    "bias_post_training": ("model_bias/analysis.json", "bias_post_training.json"),
    "explainability": ("explainability/analysis.json", "explainability.json"),
    "model_quality": ("model_quality/statistics.json", "model_quality.json"),
    "llm_evaluation": ("llm_evaluation/evaluation.json", "llm_evaluation.json"),
}


class EvidenceError(ValueError):
    """A problem the user must fix, rendered as one line: `<field>: <problem>. <fix>`."""

    def __init__(self, field_name: str, problem: str, fix: str) -> None:
        self.field = field_name
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field_name}: {problem}. {fix}")


# --------------------------------------------------------------------------------------------------
# checks.json


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None
    abs_max: float | None = None

    def allows(self, value: float | None) -> bool:
        """Inclusive bounds, as the policy defines them; a non-finite value is never allowed."""
        if value is None or not math.isfinite(value):
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return not (self.abs_max is not None and abs(value) > self.abs_max)

    def band(self) -> tuple[float, float]:
        """The allowed interval (may be unbounded on either side)."""
        lo, hi = -math.inf, math.inf
        if self.min is not None:
            lo = max(lo, self.min)
        if self.max is not None:
            hi = min(hi, self.max)
        if self.abs_max is not None:
            lo, hi = max(lo, -self.abs_max), min(hi, self.abs_max)
        return lo, hi


@dataclass(frozen=True)
class CheckValue:
    label: str
    value: float | None  # None: not a finite number (null, NaN, ±Infinity, a string, ...)
    raw: str  # what checks.json held, for the reader when value is None


@dataclass(frozen=True)
class CheckView:
    id: str
    report: str
    metric: str
    passed: bool
    values: tuple[CheckValue, ...]
    bounds: Bounds
    reason: str


@dataclass(frozen=True)
class ChecksView:
    model_package_arn: str
    policy_id: str
    policy_version: str
    policy_sha256: str
    decision: str
    checks: tuple[CheckView, ...]
    evaluated_at: str
    reports: Mapping[str, Mapping[str, str]]
    sha256: str  # digest of the checks.json bytes, which the registry metadata also records

    @property
    def failed(self) -> tuple[CheckView, ...]:
        return tuple(c for c in self.checks if not c.passed)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # JSON integers are unbounded; 10**400 is no metric
        return None
    return number if math.isfinite(number) else None


def _bound(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    number = _finite(raw)
    if number is None:
        raise EvidenceError(where, f"must be a finite number or null, got {raw!r}", REGENERATE_FIX)
    return number


def _text(doc: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # policy versions are often written as bare numbers
    if not isinstance(value, str) or (required and not value):
        raise EvidenceError(
            f"{where}{key}", f"must be a non-empty string, got {value!r}", REGENERATE_FIX
        )
    return value


def _check_value(index: int, raw: Any) -> CheckValue:
    label = f"value {index + 1}"
    if isinstance(raw, Mapping):
        # A richer checks.json may carry {"facet": .., "facet_value": .., "value": ..}; label by
        # context.
        parts = [
            f"{k}={raw[k]}"
            for k in ("facet", "facet_value", "value_or_threshold", "label", "feature")
            if raw.get(k) is not None
        ]
        label = ", ".join(str(p) for p in parts) or label
        raw = raw.get("value")
    return CheckValue(label=label, value=_finite(raw), raw=json.dumps(raw, allow_nan=True))


def parse_checks(doc: Any, sha256: str = "") -> ChecksView:
    """Validate a checks.json document; an approval with a failed check is refused (fail closed)."""
    if not isinstance(doc, Mapping):
        raise EvidenceError("checks.json", "must be a JSON object", REGENERATE_FIX)
    arn = _text(doc, "model_package_arn", "")
    policy = doc.get("policy")
    if not isinstance(policy, Mapping):
        raise EvidenceError("policy", "must be an object with id, version, sha256", REGENERATE_FIX)
    decision = doc.get("decision")
    if decision not in DECISIONS:
        raise EvidenceError(
            "decision", f"must be Approved or Rejected, got {decision!r}", REGENERATE_FIX
        )
    raw_checks = doc.get("checks")
    if not isinstance(raw_checks, list):
        raise EvidenceError("checks", "must be a list", REGENERATE_FIX)
    checks: list[CheckView] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_checks):
        where = f"checks[{i}]."
        if not isinstance(item, Mapping):
            raise EvidenceError(f"checks[{i}]", "must be an object", REGENERATE_FIX)
        if not isinstance(item.get("passed"), bool):
            raise EvidenceError(f"{where}passed", "must be true or false", REGENERATE_FIX)
        values = item.get("values", [])
        if not isinstance(values, list):
            raise EvidenceError(f"{where}values", "must be a list", REGENERATE_FIX)
        bounds = item.get("bounds") or {}
        if not isinstance(bounds, Mapping):
            raise EvidenceError(f"{where}bounds", "must be an object", REGENERATE_FIX)
        check_id = _text(item, "id", where)
        if check_id in seen:
            raise EvidenceError(f"{where}id", f"duplicate check id {check_id!r}", REGENERATE_FIX)
        seen.add(check_id)
        checks.append(
            CheckView(
                id=check_id,
                report=_text(item, "report", where, required=False),
                metric=_text(item, "metric", where, required=False),
                passed=item["passed"],
                values=tuple(_check_value(j, v) for j, v in enumerate(values)),
                bounds=Bounds(
                    min=_bound(bounds.get("min"), f"{where}bounds.min"),
                    max=_bound(bounds.get("max"), f"{where}bounds.max"),
                    abs_max=_bound(bounds.get("abs_max"), f"{where}bounds.abs_max"),
                ),
                reason=_text(item, "reason", where, required=False),
            )
        )
    if decision == "Approved" and (not checks or any(not c.passed for c in checks)):
        raise EvidenceError(
            "decision",
            "Approved although a check failed or no check ran; this checks.json is inconsistent",
            REGENERATE_FIX,
        )
    reports = doc.get("reports") if isinstance(doc.get("reports"), Mapping) else {}
    return ChecksView(
        model_package_arn=arn,
        policy_id=_text(policy, "id", "policy.", required=False),
        policy_version=_text(policy, "version", "policy.", required=False),
        policy_sha256=_text(policy, "sha256", "policy.", required=False),
        decision=decision,
        checks=tuple(checks),
        evaluated_at=str(doc.get("evaluated_at") or ""),
        reports={
            str(k): {str(a): str(b) for a, b in v.items() if b is not None}
            for k, v in reports.items()
            if isinstance(v, Mapping)
        },
        sha256=sha256,
    )


def load_checks_file(path: str | Path) -> ChecksView:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            "--checks", f"cannot read {path}: {exc.strerror or exc}", "pass an existing checks.json"
        ) from None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvidenceError(
            "--checks", f"{path} is not valid JSON ({exc})", REGENERATE_FIX
        ) from None
    return parse_checks(doc, hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float | None
    description: str = ""
    note: str = ""  # why value is None (Clarify's `error`, null, NaN, ...)


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


def _flatten(prefix: str, body: Any, out: list[MetricValue]) -> None:
    if isinstance(body, Mapping):
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
        _flatten("", evaluation, metrics)
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
            elif kind in ("bias_pre_training", "bias_post_training"):
                stage = kind.removeprefix("bias_")
                evidence.bias.extend(_bias_groups(doc.get(f"{stage}_bias_metrics"), stage))
            else:
                evidence.problems[kind] = "unknown report kind"
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            evidence.problems[kind] = f"unreadable: {str(exc)[:200]}"
    return evidence


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
    return reports, sources


# --------------------------------------------------------------------------------------------------
# The registry side


# ModelMetrics slot -> kind, in the approval's precedence (dedicated slot before the combined
# one).
METRIC_SLOTS: tuple[tuple[str, str, str], ...] = (
    ("Bias", "PreTrainingReport", "bias_pre_training"),
    ("Bias", "Report", "bias_pre_training"),
    ("Bias", "PostTrainingReport", "bias_post_training"),
    ("Bias", "Report", "bias_post_training"),
    ("Explainability", "Report", "explainability"),
    ("ModelQuality", "Statistics", "model_quality"),
)


@dataclass(frozen=True)
class PackageInfo:
    arn: str
    group: str
    version: int | None
    name: str
    approval_status: str
    created: str
    description: str
    metadata: Mapping[str, str]
    model_data_urls: tuple[str, ...]
    images: tuple[str, ...]
    generated_by: str
    metric_uris: Mapping[str, tuple[str, str]]  # kind -> (s3 uri, content digest or "")

    @classmethod
    def from_describe(cls, desc: Mapping[str, Any]) -> PackageInfo:
        containers = (desc.get("InferenceSpecification") or {}).get("Containers") or []
        metrics = desc.get("ModelMetrics") or {}
        uris: dict[str, tuple[str, str]] = {}
        for group, slot, kind in METRIC_SLOTS:
            source = (metrics.get(group) or {}).get(slot) or {}
            # The SDK writes empty `{}` entries for reports it did not have: only a URI counts.
            if kind not in uris and source.get("S3Uri"):
                uris[kind] = (source["S3Uri"], source.get("ContentDigest", ""))
        created = desc.get("CreationTime")
        return cls(
            arn=desc.get("ModelPackageArn", ""),
            group=desc.get("ModelPackageGroupName", "") or "",
            version=desc.get("ModelPackageVersion"),
            name=desc.get("ModelPackageName", "") or "",
            approval_status=desc.get("ModelApprovalStatus", "") or "",
            created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
            description=desc.get("ModelPackageDescription", "") or "",
            metadata=dict(desc.get("CustomerMetadataProperties") or {}),
            model_data_urls=tuple(c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")),
            images=tuple(c["Image"] for c in containers if c.get("Image")),
            generated_by=((desc.get("MetadataProperties") or {}).get("GeneratedBy") or ""),
            metric_uris=uris,
        )


_S3_URI = re.compile(r"^s3://([^/]+)/(.+)$")


def _read_s3(s3: Any, uri: str) -> bytes:
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri[:200]}")
    head = s3.head_object(Bucket=match[1], Key=match[2])
    if head.get("ContentLength", 0) > MAX_REPORT_BYTES:
        raise ValueError(f"larger than {MAX_REPORT_BYTES} bytes")
    return s3.get_object(Bucket=match[1], Key=match[2])["Body"].read()


def fetch_evidence_reports(
    s3: Any, checks: ChecksView, package: PackageInfo
) -> tuple[dict[str, bytes | None | str], dict[str, str]]:
    """Fetch the reports the decision was made on.

    Preferred: checks.json's `reports` map, whose sha256 pins the exact bytes the Evaluate step
    read, so the card shows what was decided on, not what the bucket holds now. Fallback: the
    package's ModelMetrics URIs, labelled as not digest-verified.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    reports: dict[str, bytes | None | str] = {}
    sources: dict[str, str] = {}
    kinds = set(checks.reports) | set(package.metric_uris)
    seen: set[str] = set()
    # Pinned kinds first: ModelQuality.Statistics serves model_quality and llm_evaluation, so one
    # URI can appear under two kinds; it is read once, and parse_reports tells the kinds apart.
    for kind in sorted(kinds, key=lambda k: (k not in checks.reports, k)):
        pinned = checks.reports.get(kind) or {}
        uri = pinned.get("s3_uri") or package.metric_uris.get(kind, ("", ""))[0]
        if not uri:
            reports[kind] = None
            continue
        if uri in seen:
            continue
        seen.add(uri)
        try:
            data = _read_s3(s3, uri)
        except (ClientError, BotoCoreError, ValueError, OSError) as exc:
            reports[kind] = f"cannot read {uri}: {str(exc)[:200]}"
            sources[kind] = uri
            continue
        expected = pinned.get("sha256", "")
        actual = hashlib.sha256(data).hexdigest()
        if expected and expected != actual:
            reports[kind] = f"sha256 of {uri} is {actual}, checks.json recorded {expected}"
            sources[kind] = f"{uri} (digest mismatch)"
        else:
            reports[kind] = data
            sources[kind] = f"{uri} (sha256 {actual}{' verified' if expected else ''})"
    return reports, sources


@dataclass(frozen=True)
class EvidenceResult:
    card_name: str
    card_arn: str
    card_version: int | None
    card_status: str
    card_action: str  # created | updated | unchanged | archived-left-alone
    html_path: Path


def after_decision(
    sm: Any,
    s3: Any,
    package_arn: str,
    checks_path: str | Path,
    out_dir: str | Path,
) -> EvidenceResult:
    """Create or update the package's model card and write its HTML report; returns where both went.

    Raises EvidenceError (one line) for a checks.json that does not belong to `package_arn` or is
    malformed; AWS errors other than the card already existing propagate: the caller's step fails
    loudly rather than leaving a decision without its evidence.
    """
    from clearance import modelcard, report_html  # imported here: both import this module

    checks = load_checks_file(checks_path)
    if checks.model_package_arn != package_arn:
        raise EvidenceError(
            "model_package_arn",
            f"checks.json is for {checks.model_package_arn}, not {package_arn}",
            "pass the checks.json the Evaluate step wrote for this package",
        )
    package = PackageInfo.from_describe(sm.describe_model_package(ModelPackageName=package_arn))
    reports, sources = fetch_evidence_reports(s3, checks, package)
    evidence = parse_reports(reports)
    evidence.add_sources(sources)

    content = modelcard.build_content(checks, evidence, package)
    html_path = Path(out_dir) / f"{modelcard.card_name_for(package)}.html"
    try:
        card = modelcard.upsert_model_card(sm, package, checks, content)
    except Exception:
        # The page needs nothing from the registry: leave it for the reader, then fail loudly.
        report_html.write_report(html_path, checks, evidence, package=package)
        raise
    report_html.write_report(html_path, checks, evidence, package=package, card=card)
    LOG.info(
        "evidence for %s: card %s (%s), report %s", package_arn, card.name, card.action, html_path
    )
    return EvidenceResult(
        card_name=card.name,
        card_arn=card.arn,
        card_version=card.version,
        card_status=card.status,
        card_action=card.action,
        html_path=html_path,
    )
