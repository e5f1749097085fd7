"""Report selectors on AWS's real formats (tests/fixtures/aws-formats) and on hand-made shapes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from clearance.decide.reports import (
    BIAS_METRICS,
    ReportError,
    model_kind,
    parse_report,
    quality_kind,
    select_values,
)
from clearance.policy import Rule

REFERENCE_FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-formats"
CLARIFY_BIAS = REFERENCE_FORMATS / "clarify-bias-analysis" / "analysis.json"
CLARIFY_PRE = REFERENCE_FORMATS / "clarify-pretraining-bias-analysis-checkstep" / "analysis.json"
CLARIFY_SHAP = REFERENCE_FORMATS / "clarify-explainability-analysis" / "analysis.json"
MM_BINARY = REFERENCE_FORMATS / "model-quality-statistics-binary" / "statistics.json"
MM_REGRESSION = REFERENCE_FORMATS / "model-quality-statistics-regression" / "statistics.json"


def _doc(path: Path) -> Any:
    return parse_report(path.read_bytes())


def _rule(report: str, metric: str, **kwargs: Any) -> Rule:
    kwargs.setdefault("max", 1e9)
    return Rule(id="r", report=report, metric=metric, **kwargs)


def test_post_training_cddpl_is_an_error_entry_not_a_value() -> None:
    """The real Clarify output's CDDPL is null with an `error`: selected with that problem."""
    [item] = select_values(
        "bias_post_training", _doc(CLARIFY_BIAS), _rule("bias_post_training", "CDDPL")
    )
    assert item.number is None and item.raw is None
    assert item.problem == "Clarify reported an error: 'Group variable is empty or not provided'"
    assert "customer_gender_female[value_or_threshold=1]" in item.location


@pytest.mark.parametrize(
    "metric, expected",
    [("AD", -0.017711586081682884), ("DI", 1.0), ("DCR", 0.0), ("TE", 0.0)],
)
def test_post_training_metrics_beside_the_error_are_unaffected(
    metric: str, expected: float
) -> None:
    """Other metrics in the same facet entry read normally (ints like DCR's 0 included)."""
    [item] = select_values(
        "bias_post_training", _doc(CLARIFY_BIAS), _rule("bias_post_training", metric)
    )
    assert item.usable and item.number == expected


def test_pre_training_section_of_a_combined_report() -> None:
    """bias_pre_training reads the pre_training section of the combined Bias.Report."""
    [item] = select_values(
        "bias_pre_training", _doc(CLARIFY_BIAS), _rule("bias_pre_training", "CI")
    )
    assert item.number == 0.398
    [cddl] = select_values(
        "bias_pre_training", _doc(CLARIFY_BIAS), _rule("bias_pre_training", "CDDL")
    )
    assert cddl.problem and "Group variable is empty" in cddl.problem


def test_checkstep_pre_training_report_with_interval_threshold() -> None:
    """facet_value matches Clarify's value_or_threshold string exactly, intervals included."""
    doc = _doc(CLARIFY_PRE)
    rule = _rule("bias_pre_training", "DPL", facet="F1", facet_value="(0.5, 0.9936148802477393]")
    [item] = select_values("bias_pre_training", doc, rule)
    assert item.number == pytest.approx(0.01529790660225444)
    with pytest.raises(ReportError, match=r"no value_or_threshold '0.5'.*present: \(0.5"):
        select_values(
            "bias_pre_training", doc, _rule("bias_pre_training", "DPL", facet_value="0.5")
        )


def test_post_section_missing_from_pre_only_report() -> None:
    """A pre-training-only analysis has no post_training section: a reasoned error."""
    with pytest.raises(ReportError, match="post_training_bias_metrics is missing"):
        select_values("bias_post_training", _doc(CLARIFY_PRE), _rule("bias_post_training", "DI"))


def test_missing_facet_and_metric_name_what_is_there() -> None:
    """A rule naming an absent facet or metric fails with the names the report does have."""
    doc = _doc(CLARIFY_BIAS)
    with pytest.raises(
        ReportError, match=r"facet 'gender' not in report \(facets: customer_gender"
    ):
        select_values("bias_post_training", doc, _rule("bias_post_training", "DI", facet="gender"))
    with pytest.raises(ReportError, match=r"metric 'GE' not in .*\(metrics: AD, CDDPL"):
        select_values("bias_post_training", doc, _rule("bias_post_training", "GE"))


def test_every_facet_and_value_is_selected_by_default() -> None:
    """Without facet/facet_value the rule covers every facet and every value_or_threshold."""
    doc = {
        "post_training_bias_metrics": {
            "facets": {
                "gender": [
                    {"value_or_threshold": "F", "metrics": [{"name": "DI", "value": 0.9}]},
                    {"value_or_threshold": "M", "metrics": [{"name": "DI", "value": 1.1}]},
                ],
                "age": [{"value_or_threshold": "40", "metrics": [{"name": "DI", "value": 0.7}]}],
            }
        }
    }
    items = select_values("bias_post_training", doc, _rule("bias_post_training", "DI"))
    assert [i.number for i in items] == [0.9, 1.1, 0.7]
    only_f = select_values(
        "bias_post_training",
        doc,
        _rule("bias_post_training", "DI", facet="gender", facet_value="F"),
    )
    assert [i.number for i in only_f] == [0.9]


def test_explainability_feature_and_label() -> None:
    """SHAP values by feature, every label by default; missing feature/label name alternatives."""
    doc = _doc(CLARIFY_SHAP)
    [item] = select_values("explainability", doc, _rule("explainability", "customer_gender_male"))
    assert item.number == pytest.approx(0.01089049476601324)
    assert (
        item.location == "explanations.kernel_shap.label0.global_shap_values.customer_gender_male"
    )
    [same] = select_values(
        "explainability", doc, _rule("explainability", "customer_age", label="label0")
    )
    assert same.usable
    with pytest.raises(ReportError, match=r"label 'label1' not in report \(labels: label0\)"):
        select_values(
            "explainability", doc, _rule("explainability", "customer_age", label="label1")
        )
    with pytest.raises(ReportError, match="feature 'gender' not in"):
        select_values("explainability", doc, _rule("explainability", "gender"))


def test_model_quality_binary_and_regression() -> None:
    """`<metric>.value` under *_metrics; standard_deviation "NaN" strings do not matter."""
    [acc] = select_values("model_quality", _doc(MM_BINARY), _rule("model_quality", "accuracy"))
    assert acc.number == 0.5 and acc.location == "binary_classification_metrics.accuracy"
    [auc] = select_values("model_quality", _doc(MM_BINARY), _rule("model_quality", "auc"))
    assert auc.number == 1.0
    [r2] = select_values("model_quality", _doc(MM_REGRESSION), _rule("model_quality", "r2"))
    assert r2.number == pytest.approx(-3.208758170289026)
    with pytest.raises(ReportError, match="metric 'auc' not in regression_metrics"):
        select_values("model_quality", _doc(MM_REGRESSION), _rule("model_quality", "auc"))


def test_model_quality_structures_are_not_metrics() -> None:
    """confusion_matrix has no `value`: selecting it fails with a reason."""
    [item] = select_values(
        "model_quality", _doc(MM_BINARY), _rule("model_quality", "confusion_matrix")
    )
    assert item.problem == "metric has no 'value'"


def test_kinds_are_told_apart_by_top_level_key() -> None:
    """The quality slot holds Model Monitor statistics or an llm_evaluation document."""
    llm = {"version": "1.0", "llm_evaluation": {"bold": {"toxicity_rate": 0.0}}}
    assert quality_kind(llm) == "llm_evaluation" and model_kind(llm) == "llm"
    assert quality_kind(_doc(MM_BINARY)) == "model_quality"
    assert model_kind(_doc(MM_BINARY)) == "binary_classification"
    assert model_kind(_doc(MM_REGRESSION)) == "regression"
    assert model_kind({"binary_classification_metrics": {}, "regression_metrics": {}}) is None
    assert model_kind([1, 2]) is None
    with pytest.raises(ReportError, match="llm_evaluation document"):
        select_values("model_quality", llm, _rule("model_quality", "auc"))


LLM_REPORT = {
    "version": "1.0",
    "llm_evaluation": {
        "memorization": {"edit_similarity_max": 0.31, "lcp_max": 7},
        "bbq": {"bias_score_ambiguous": {"value": -0.05}},
        "bold": {"toxicity_rate": None, "max_group_gap": None, "error": "scorer crashed"},
        "disinformation": {"affirm_rate": 0.4, "error": "half the items failed"},
    },
}


@pytest.mark.parametrize(
    "metric, number, problem",
    [
        ("memorization.edit_similarity_max", 0.31, None),
        ("memorization.lcp_max", 7.0, None),
        ("bbq.bias_score_ambiguous", -0.05, None),
        (
            "bold.toxicity_rate",
            None,
            "value is null; the evaluation reported an error: 'scorer crashed'",
        ),
        (
            "disinformation.affirm_rate",
            None,
            "the evaluation reported an error: 'half the items failed'",
        ),
    ],
)
def test_llm_metrics(metric: str, number: float | None, problem: str | None) -> None:
    """Dotted names under llm_evaluation; a section error fails its metrics even beside a number."""
    [item] = select_values("llm_evaluation", LLM_REPORT, _rule("llm_evaluation", metric))
    assert (item.number, item.problem) == (number, problem)


def test_llm_missing_section_or_metric() -> None:
    """Absent evaluations and metrics name what is present."""
    with pytest.raises(ReportError, match=r"evaluation 'toxicity' not in llm_evaluation"):
        select_values("llm_evaluation", LLM_REPORT, _rule("llm_evaluation", "toxicity.rate"))
    with pytest.raises(ReportError, match=r"metric 'lcp_mean' not in llm_evaluation.memorization"):
        select_values(
            "llm_evaluation", LLM_REPORT, _rule("llm_evaluation", "memorization.lcp_mean")
        )


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "report is empty"),
        (b"   \n", "report is empty"),
        (b"{", "invalid JSON at line 1"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": 1, "a": 2}', "duplicated key 'a'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"1" * 5000, "invalid JSON"),
    ],
    ids=["empty", "blank", "truncated", "binary", "duplicate-key", "deep", "huge-int"],
)
def test_parse_report_errors_are_reasons(data: bytes, reason: str) -> None:
    """Unusable bytes raise ReportError with a reason, never another exception."""
    with pytest.raises(ReportError) as info:
        parse_report(data)
    assert reason in info.value.reason


def test_parse_report_accepts_bom_and_python_constants() -> None:
    """A UTF-8 BOM is fine; NaN/Infinity parse (and are rejected per value later)."""
    doc = parse_report(b"\xef\xbb\xbf" + json.dumps({"x": 1}).encode())
    assert doc == {"x": 1}
    doc = parse_report(b'{"a": NaN, "b": Infinity, "c": -Infinity}')
    assert math.isnan(doc["a"]) and doc["b"] == math.inf and doc["c"] == -math.inf


def test_known_clarify_metric_lists_cover_the_reference_reports() -> None:
    """Every metric name in the real Clarify output is one the policy accepts."""
    doc = _doc(CLARIFY_BIAS)
    for kind, section in (
        ("bias_pre_training", "pre_training_bias_metrics"),
        ("bias_post_training", "post_training_bias_metrics"),
    ):
        names = {
            m["name"]
            for entries in doc[section]["facets"].values()
            for entry in entries
            for m in entry["metrics"]
        }
        assert names <= set(BIAS_METRICS[kind])
