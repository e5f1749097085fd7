"""Hypothesis fuzzing of the report parsers and the evaluator.

Two properties, for every report kind:
1. no exception escapes :func:`clearance.decide.checks.evaluate`, whatever the bytes;
2. a fuzzed report is Approved only if an independent oracle, reading the generated document the
   simple way, finds that every value each rule selects is a finite number (not a bool) within the
   rule's bounds, with no error entry, and at least one value per rule.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance.decide.checks import APPROVED, Decision, evaluate
from clearance.decide.reports import ReportError, parse_report, select_values
from clearance.policy import load_policy

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fuzz/1"
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Leaf values a producer could write: good numbers near the bounds, and everything that must fail.
NUMBERS = st.one_of(
    st.floats(min_value=-2, max_value=2, allow_nan=False),
    st.integers(min_value=-3, max_value=3),
)
BAD = st.one_of(
    st.none(),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.booleans(),
    st.text(max_size=5),
    st.just(10**400),
    st.lists(NUMBERS, max_size=2),
    st.dictionaries(st.text(max_size=3), NUMBERS, max_size=2),
)
LEAF = st.one_of(NUMBERS, NUMBERS, BAD)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

POLICY = load_policy(
    """\
version: 1
rules:
  - {id: di, report: bias_post_training, metric: DI, min: -0.5, max: 1.5}
  - {id: dpl, report: bias_pre_training, metric: DPL, facet: gender, abs_max: 1}
  - {id: shap, report: explainability, metric: gender, abs_max: 1.5}
  - {id: auc, report: model_quality, metric: auc, min: 0}
  - {id: tox, report: llm_evaluation, metric: bold.toxicity_rate, max: 1}
"""
)


def _finite_in(value: Any, lo: float | None, hi: float | None, amax: float | None) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    if not math.isfinite(number):
        return False
    return (
        (lo is None or number >= lo)
        and (hi is None or number <= hi)
        and (amax is None or abs(number) <= amax)
    )


# ---------------------------------------------------------------------------- generators


@st.composite
def metric_entries(draw: Any, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": draw(st.sampled_from([name, name, "OTHER"]))}
    entry["value"] = draw(LEAF)
    if draw(st.integers(0, 5)) == 0:
        entry["error"] = draw(st.one_of(st.none(), st.text(max_size=5)))
    if draw(st.integers(0, 7)) == 0:
        entry.pop("value")
    return entry


@st.composite
def bias_documents(draw: Any, section: str, metric: str) -> dict[str, Any]:
    facets = draw(
        st.dictionaries(
            st.sampled_from(["gender", "age", "region"]),
            st.lists(
                st.fixed_dictionaries(
                    {
                        "value_or_threshold": st.sampled_from(["1", "F", "(0.5, 1]"]),
                        "metrics": st.lists(metric_entries(metric), max_size=3),
                    }
                ),
                max_size=2,
            ),
            max_size=3,
        )
    )
    return {"version": "1.0", section: {"label": "approved", "facets": facets}}


def bias_oracle(doc: Any, section: str, metric: str, facet: str | None, rule: Any) -> bool:
    """Every selected metric entry clean and in bounds, and at least one selected."""
    facets = doc[section]["facets"]
    if facet and facet not in facets:
        return False
    chosen = {facet: facets[facet]} if facet else facets
    if not chosen:
        return False
    found = 0
    for groups in chosen.values():
        if not groups:
            return False
        for group in groups:
            entries = [m for m in group["metrics"] if m["name"] == metric]
            if not entries:
                return False
            for entry in entries:
                found += 1
                if entry.get("error") is not None or "value" not in entry:
                    return False
                if not _finite_in(entry["value"], rule.min, rule.max, rule.abs_max):
                    return False
    return found > 0


@st.composite
def shap_documents(draw: Any) -> dict[str, Any]:
    labels = draw(
        st.dictionaries(
            st.sampled_from(["label0", "label1"]),
            st.fixed_dictionaries(
                {
                    "global_shap_values": st.dictionaries(
                        st.sampled_from(["gender", "income", "age"]), LEAF, max_size=3
                    ),
                    "expected_value": NUMBERS,
                }
            ),
            max_size=2,
        )
    )
    return {"version": "1.0", "explanations": {"kernel_shap": labels}}


def shap_oracle(doc: Any, rule: Any) -> bool:
    labels = doc["explanations"]["kernel_shap"]
    if not labels:
        return False
    return all(
        "gender" in body["global_shap_values"]
        and _finite_in(body["global_shap_values"]["gender"], rule.min, rule.max, rule.abs_max)
        for body in labels.values()
    )


@st.composite
def quality_documents(draw: Any) -> dict[str, Any]:
    metrics = draw(
        st.dictionaries(
            st.sampled_from(["auc", "accuracy", "f1"]),
            st.one_of(
                st.fixed_dictionaries({"value": LEAF, "standard_deviation": st.just("NaN")}),
                LEAF,
            ),
            max_size=3,
        )
    )
    section = draw(st.sampled_from(["binary_classification_metrics", "regression_metrics"]))
    return {"version": 0.0, section: metrics}


def quality_oracle(doc: Any, rule: Any) -> bool:
    sections = [v for k, v in doc.items() if k.endswith("_metrics")]
    entries = [s["auc"] for s in sections if "auc" in s]
    return bool(entries) and all(
        isinstance(e, dict)
        and "value" in e
        and _finite_in(e["value"], rule.min, rule.max, rule.abs_max)
        for e in entries
    )


@st.composite
def llm_documents(draw: Any) -> dict[str, Any]:
    bold: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(["toxicity_rate", "max_group_gap"]), LEAF, max_size=2)
    )
    if draw(st.integers(0, 4)) == 0:
        bold["error"] = draw(st.text(max_size=5))
    return {"version": "1.0", "llm_evaluation": {"bold": bold}}


def llm_oracle(doc: Any, rule: Any) -> bool:
    bold = doc["llm_evaluation"]["bold"]
    if bold.get("error") is not None or "toxicity_rate" not in bold:
        return False
    value = bold["toxicity_rate"]
    if isinstance(value, dict):
        return False  # a {"value": ...} object is legal, but LEAF dicts have other keys
    return _finite_in(value, rule.min, rule.max, rule.abs_max)


def _no_internal_errors(decision: Decision) -> None:
    """Failures must come from the report, not from the evaluator's last-resort catch-all."""
    for check in decision.checks:
        assert "could not be evaluated" not in check.reason, check.reason


def _encode(doc: Any) -> bytes:
    # allow_nan: producers (Python's json) really write NaN/Infinity literals.
    return json.dumps(doc, allow_nan=True).encode()


def _single(rule_id: str) -> Any:
    from clearance.policy import Policy

    rule = POLICY.rule(rule_id)
    return Policy(id="fuzz", version=1, rules=(rule,)), rule


# ------------------------------------------------------------------------------- properties


@SETTINGS
@given(doc=bias_documents("post_training_bias_metrics", "DI"))
def test_bias_post_training_never_approves_a_bad_value(doc: dict[str, Any]) -> None:
    """Approved implies every selected DI is clean, finite and in bounds."""
    policy, rule = _single("di")
    decision = evaluate(policy, {"bias_post_training": _encode(doc)}, ARN)
    expected = bias_oracle(doc, "post_training_bias_metrics", "DI", None, rule)
    assert (decision.decision == APPROVED) == expected, decision.to_json()
    _no_internal_errors(decision)


@SETTINGS
@given(doc=bias_documents("pre_training_bias_metrics", "DPL"))
def test_bias_pre_training_with_facet_filter(doc: dict[str, Any]) -> None:
    """The facet filter selects exactly the named facet's entries."""
    policy, rule = _single("dpl")
    decision = evaluate(policy, {"bias_pre_training": _encode(doc)}, ARN)
    expected = bias_oracle(doc, "pre_training_bias_metrics", "DPL", "gender", rule)
    assert (decision.decision == APPROVED) == expected, decision.to_json()
    _no_internal_errors(decision)


@SETTINGS
@given(doc=shap_documents())
def test_explainability_never_approves_a_bad_value(doc: dict[str, Any]) -> None:
    """Every label's SHAP value for the feature must be finite and in bounds."""
    policy, rule = _single("shap")
    decision = evaluate(policy, {"explainability": _encode(doc)}, ARN)
    assert (decision.decision == APPROVED) == shap_oracle(doc, rule), decision.to_json()
    _no_internal_errors(decision)


@SETTINGS
@given(doc=quality_documents())
def test_model_quality_never_approves_a_bad_value(doc: dict[str, Any]) -> None:
    """`auc.value` must be a finite number >= 0 in every section that has it."""
    policy, rule = _single("auc")
    decision = evaluate(policy, {"model_quality": _encode(doc)}, ARN)
    assert (decision.decision == APPROVED) == quality_oracle(doc, rule), decision.to_json()
    _no_internal_errors(decision)


@SETTINGS
@given(doc=llm_documents())
def test_llm_evaluation_never_approves_a_bad_value(doc: dict[str, Any]) -> None:
    """bold.toxicity_rate must be a clean number <= 1 and the section error-free."""
    policy, rule = _single("tox")
    decision = evaluate(policy, {"llm_evaluation": _encode(doc)}, ARN)
    assert (decision.decision == APPROVED) == llm_oracle(doc, rule), decision.to_json()
    _no_internal_errors(decision)


@SETTINGS
@given(
    payloads=st.fixed_dictionaries(
        {
            kind: st.one_of(
                st.binary(max_size=64),
                JSON.map(_encode),
                st.text(max_size=64).map(str.encode),
            )
            for kind in (
                "bias_pre_training",
                "bias_post_training",
                "explainability",
                "model_quality",
                "llm_evaluation",
            )
        }
    )
)
def test_arbitrary_bytes_never_raise_and_never_approve(payloads: dict[str, bytes]) -> None:
    """Random bytes and random JSON: no exception, Rejected, strict-JSON checks.json."""
    decision = evaluate(POLICY, payloads, ARN)
    _no_internal_errors(decision)
    assert decision.decision != APPROVED
    assert len(decision.checks) == len(POLICY.rules)
    json.loads(decision.to_bytes())


@SETTINGS
@given(
    data=st.one_of(st.binary(max_size=128), JSON.map(_encode)),
    kind=st.sampled_from(
        [
            "bias_pre_training",
            "bias_post_training",
            "explainability",
            "model_quality",
            "llm_evaluation",
        ]
    ),
)
def test_parsers_raise_only_report_errors(data: bytes, kind: str) -> None:
    """parse_report and select_values either succeed or raise ReportError, nothing else."""
    rule = next(r for r in POLICY.rules if r.report == kind)
    try:
        select_values(kind, parse_report(data), rule)
    except ReportError as exc:
        assert exc.reason
