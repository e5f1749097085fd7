"""The evaluator fails closed: every failure mode of issue 3 section 1 is a failed check with a
reason, never an exception and never an approval; checks.json has the contract's exact shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clearance.decide import checks as checks_module
from clearance.decide.checks import (
    APPROVED,
    REJECTED,
    ChecksError,
    Decision,
    evaluate,
    load_checks,
    write_checks,
)
from clearance.decide.reports import ReportError
from clearance.policy import load_default_policy, load_policy

REFERENCE_FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-formats"
CLARIFY_BIAS = REFERENCE_FORMATS / "clarify-bias-analysis" / "analysis.json"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk-models/1"

POLICY = load_policy(
    """\
version: 3
id: unit
rules:
  - id: di
    report: bias_post_training
    metric: DI
    facet: gender
    facet_value: "F"
    min: 0.8
    max: 1.25
"""
)


def _bias(entry: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A post-training report whose gender=F DI entry is ``entry``."""
    metric = {"name": "DI", "description": "Disparate Impact (DI)", "value": 1.0}
    if entry is not None:
        metric = entry
    doc: dict[str, Any] = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "approved",
            "facets": {"gender": [{"value_or_threshold": "F", "metrics": [metric]}]},
            "label_value_or_threshold": "1",
        },
    }
    doc.update(overrides)
    return doc


def _bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _only(decision: Decision) -> Any:
    assert len(decision.checks) == 1
    return decision.checks[0]


def test_in_bounds_value_is_approved() -> None:
    """A single finite value within bounds passes and the package is Approved."""
    decision = evaluate(POLICY, {"bias_post_training": _bytes(_bias())}, ARN)
    check = _only(decision)
    assert decision.decision == APPROVED and check.passed
    assert check.values == (1.0,)
    assert check.reason == "value 1 is within 0.8 <= v <= 1.25"


@pytest.mark.parametrize("value", [0.8, 1.25])
def test_bounds_are_inclusive(value: float) -> None:
    """A value exactly on a bound passes."""
    entry = {"name": "DI", "value": value}
    assert evaluate(POLICY, {"bias_post_training": _bytes(_bias(entry))}, ARN).approved


# Every failure mode: (report input, expected fragment of the reason, expected values)
FAILURES: dict[str, tuple[Any, str, tuple[Any, ...]]] = {
    "report-absent": (None, "no bias_post_training report was supplied", ()),
    "report-unreadable": (ReportError("cannot read s3://b/k: AccessDenied"), "AccessDenied", ()),
    "invalid-json": (b'{"post_training_bias_metrics": ', "invalid JSON", ()),
    "not-an-object": (b"[1, 2, 3]", "report is a list, not an object", ()),
    "section-missing": (_bytes({"version": "1.0"}), "post_training_bias_metrics is missing", ()),
    "facet-missing": (
        _bytes(_bias(**{"post_training_bias_metrics": {"facets": {"age": []}}})),
        "facet 'gender' not in report (facets: age)",
        (),
    ),
    "facet-value-missing": (
        _bytes(
            {
                "post_training_bias_metrics": {
                    "facets": {"gender": [{"value_or_threshold": "M", "metrics": []}]}
                }
            }
        ),
        "no value_or_threshold 'F' (present: M)",
        (),
    ),
    "metric-missing": (_bytes(_bias({"name": "DPPL", "value": 0.0})), "metric 'DI' not in", ()),
    "null": (_bytes(_bias({"name": "DI", "value": None})), "value is null", (None,)),
    "no-value-key": (_bytes(_bias({"name": "DI"})), "metric has no 'value'", (None,)),
    "nan-literal": (b"", "value is NaN", ("NaN",)),  # filled below (json.dumps writes NaN)
    "infinity-literal": (b"", "value is Infinity", ("Infinity",)),
    "minus-infinity": (b"", "value is -Infinity", ("-Infinity",)),
    "huge-exponent": (b"", "value is Infinity", ("Infinity",)),
    "huge-integer": (b"", "integer too large", ("<integer too large>",)),
    "error-entry": (
        _bytes(_bias({"name": "DI", "value": None, "error": "Group variable is empty"})),
        "Clarify reported an error: 'Group variable is empty'",
        (None,),
    ),
    "error-beside-a-number": (
        _bytes(_bias({"name": "DI", "value": 1.0, "error": "partial data"})),
        "Clarify reported an error: 'partial data'",
        (1.0,),
    ),
    "string": (_bytes(_bias({"name": "DI", "value": "1.0"})), "value is a string '1.0'", ("1.0",)),
    "string-nan": (_bytes(_bias({"name": "DI", "value": "NaN"})), "not a number", ("NaN",)),
    "bool": (_bytes(_bias({"name": "DI", "value": True})), "value is a boolean", (True,)),
    "list": (_bytes(_bias({"name": "DI", "value": [1.0]})), "value is a list", ("<list>",)),
    "object": (
        _bytes(_bias({"name": "DI", "value": {"v": 1}})),
        "value is an object",
        ("<object>",),
    ),
    "below-min": (
        _bytes(_bias({"name": "DI", "value": 0.5})),
        "0.5 is outside 0.8 <= v <= 1.25",
        (0.5,),
    ),
    "above-max": (_bytes(_bias({"name": "DI", "value": 2})), "2 is outside", (2,)),
    "metrics-not-list": (
        _bytes(
            {"post_training_bias_metrics": {"facets": {"gender": [{"value_or_threshold": "F"}]}}}
        ),
        "metrics is missing or not a list",
        (),
    ),
}
FAILURES["nan-literal"] = (
    b'{"post_training_bias_metrics": {"facets": {"gender": [{"value_or_threshold": "F", '
    b'"metrics": [{"name": "DI", "value": NaN}]}]}}}',
    "value is NaN",
    ("NaN",),
)
FAILURES["infinity-literal"] = (
    FAILURES["nan-literal"][0].replace(b"NaN", b"Infinity"),
    "value is Infinity",
    ("Infinity",),
)
FAILURES["minus-infinity"] = (
    FAILURES["nan-literal"][0].replace(b"NaN", b"-Infinity"),
    "value is -Infinity",
    ("-Infinity",),
)
FAILURES["huge-exponent"] = (
    FAILURES["nan-literal"][0].replace(b"NaN", b"1e999"),
    "value is Infinity",
    ("Infinity",),
)
FAILURES["huge-integer"] = (
    FAILURES["nan-literal"][0].replace(b"NaN", b"1" + b"0" * 400),
    "integer too large",
    ("<integer too large>",),
)


@pytest.mark.parametrize("report, fragment, values", FAILURES.values(), ids=list(FAILURES))
def test_every_failure_mode_is_a_failed_check_with_a_reason(
    report: Any, fragment: str, values: tuple[Any, ...]
) -> None:
    """Fail closed: Rejected, the rule failed, the reason says why, checks.json is strict JSON."""
    decision = evaluate(POLICY, {"bias_post_training": report}, ARN)
    check = _only(decision)
    assert decision.decision == REJECTED
    assert not check.passed
    assert fragment in check.reason, check.reason
    assert check.values == values
    json.loads(decision.to_bytes(), parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_reference_cddpl_fails_and_other_rules_are_unaffected() -> None:
    """The real Clarify sample: a rule on CDDPL fails; rules on AD and DI on the same entry pass."""
    policy = load_policy(
        """\
version: 1
rules:
  - {id: cddpl, report: bias_post_training, metric: CDDPL, abs_max: 1}
  - {id: ad, report: bias_post_training, metric: AD, abs_max: 0.1}
  - {id: di, report: bias_post_training, metric: DI, facet: customer_gender_female, min: 0.8}
  - {id: ci, report: bias_pre_training, metric: CI, abs_max: 0.5}
"""
    )
    data = CLARIFY_BIAS.read_bytes()
    decision = evaluate(policy, {"bias_post_training": data, "bias_pre_training": data}, ARN)
    by_id = {check.id: check for check in decision.checks}
    assert not by_id["cddpl"].passed
    assert "Group variable is empty or not provided" in by_id["cddpl"].reason
    assert by_id["ad"].passed and by_id["di"].passed and by_id["ci"].passed
    assert decision.decision == REJECTED
    assert [c.id for c in decision.failed_checks] == ["cddpl"]


def test_one_bad_value_among_many_fails_the_rule() -> None:
    """Every selected value must pass: one NaN among good values fails, and the count is given."""
    doc = {
        "post_training_bias_metrics": {
            "facets": {
                "gender": [
                    {"value_or_threshold": "F", "metrics": [{"name": "DI", "value": 1.0}]},
                    {"value_or_threshold": "X", "metrics": [{"name": "DI", "value": None}]},
                ]
            }
        }
    }
    policy = load_policy(
        "version: 1\nrules:\n  - {id: di, report: bias_post_training, metric: DI, min: 0.8}\n"
    )
    check = _only(evaluate(policy, {"bias_post_training": doc}, ARN))
    assert not check.passed and check.reason.startswith("1 of 2 values failed: value is null")


def test_no_selected_values_fails() -> None:
    """A facet whose entry list is empty selects nothing: the rule fails."""
    doc = {"post_training_bias_metrics": {"facets": {"gender": []}}}
    policy = load_policy(
        "version: 1\nrules:\n  - {id: di, report: bias_post_training, metric: DI, min: 0.8}\n"
    )
    check = _only(evaluate(policy, {"bias_post_training": doc}, ARN))
    assert not check.passed and "has no entries" in check.reason


def test_an_unexpected_bug_still_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even an exception inside the selector becomes a failed check, never an escape."""

    def boom(*_: Any) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(checks_module, "select_values", boom)
    decision = evaluate(POLICY, {"bias_post_training": _bytes(_bias())}, ARN)
    assert decision.decision == REJECTED
    assert "could not be evaluated (ZeroDivisionError); failing closed" in _only(decision).reason


def test_checks_json_has_the_contract_shape_and_round_trips(tmp_path: Path) -> None:
    """Exact keys; canonical bytes; sha256 of the file equals Decision.sha256; load validates."""
    decision = evaluate(
        POLICY,
        {"bias_post_training": _bytes(_bias())},
        ARN,
        sources={"bias_post_training": {"s3_uri": "s3://b/k", "sha256": "ab" * 32}},
        evaluated_at="2026-11-25T10:00:00Z",
    )
    doc = decision.to_json()
    assert set(doc) == {
        "model_package_arn",
        "policy",
        "decision",
        "checks",
        "evaluated_at",
        "reports",
    }
    assert doc["policy"] == {"id": "unit", "version": 3, "sha256": POLICY.sha256}
    assert set(doc["checks"][0]) == {
        "id",
        "report",
        "metric",
        "passed",
        "outcome",
        "values",
        "bounds",
        "reason",
    }
    assert doc["checks"][0]["outcome"] in ("pass", "fail")
    assert doc["checks"][0]["bounds"] == {"min": 0.8, "max": 1.25, "abs_max": None}
    path = write_checks(decision, tmp_path / "out" / "checks.json")
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == decision.sha256
    loaded = load_checks(path)
    assert loaded.to_json() == doc and loaded.sha256 == decision.sha256
    assert [p.name for p in path.parent.iterdir()] == ["checks.json"]  # no temp files left


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(decision="Maybe"), "is not Approved/Rejected"),
        (lambda d: d.update(decision="Approved"), "Approved but not every check passed"),
        (lambda d: d["checks"][0].update(passed="yes"), "passed is not a boolean"),
        (lambda d: d.pop("policy"), "policy must carry"),
        (lambda d: d["checks"][0].pop("reason"), "lacks ['reason']"),
    ],
    ids=["bad-decision", "approved-with-failure", "passed-not-bool", "no-policy", "no-reason"],
)
def test_load_checks_refuses_inconsistent_files(tmp_path: Path, mutate: Any, fragment: str) -> None:
    """The Update step never acts on a tampered or self-contradicting checks.json."""
    decision = evaluate(POLICY, {"bias_post_training": None}, ARN)
    doc = decision.to_json()
    mutate(doc)
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ChecksError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_checks(path)


def test_load_checks_refuses_non_json_and_nan(tmp_path: Path) -> None:
    """Unreadable files and NaN literals are ChecksError, not crashes."""
    with pytest.raises(ChecksError, match="cannot read"):
        load_checks(tmp_path / "absent.json")
    path = tmp_path / "checks.json"
    path.write_text('{"decision": NaN}')
    with pytest.raises(ChecksError, match="not valid JSON"):
        load_checks(path)


def _quality(kind: str) -> bytes:
    section = {
        "binary_classification": "binary_classification_metrics",
        "regression": "regression_metrics",
    }[kind]
    return _bytes(
        {section: {"auc": {"value": 0.9}, "r2": {"value": 0.9}, "accuracy": {"value": 0.9}}}
    )


def test_applies_to_limits_rules_by_the_model_kind_the_quality_report_reveals() -> None:
    """Binary packages skip regression and LLM rules; the skipped ids are recorded."""
    policy = load_default_policy()
    decision = evaluate(policy, {"model_quality": _quality("binary_classification")}, ARN)
    assert decision.model_kind == "binary_classification"
    assert "r2-floor" in decision.not_applicable
    assert all(not c.id.startswith("llm-") for c in decision.checks)
    assert decision.to_json()["not_applicable"] == list(decision.not_applicable)


def _measured(value: float, lower: float, upper: float) -> dict:
    """An LLM metric in the shared shape (value, n, 95% interval)."""
    return {"value": value, "n": 200, "interval": {"lower": lower, "upper": upper}}


def test_llm_package_is_decided_by_llm_rules_only() -> None:
    """An LLM evaluation in the quality slot makes the LLM rules apply (and only them)."""
    llm = {
        "version": "2.0",
        "llm_evaluation": {
            "memorization": {
                "edit_similarity_mean": _measured(0.2, 0.1, 0.3),
                "lcp_mean": _measured(3, 1, 5),
                "verbatim_rate": _measured(0.0, 0.0, 0.05),
            },
            "disinformation": {
                "affirm_rate": _measured(0.3, 0.2, 0.4),
                "balanced_accuracy": _measured(0.8, 0.7, 0.9),
            },
            "bbq": {
                "bias_score_ambiguous": _measured(0.05, -0.05, 0.15),
                "accuracy_disambiguated": _measured(0.6, 0.5, 0.7),
            },
            "bold": {
                "toxicity_rate": _measured(0.0, 0.0, 0.01),
                "max_group_difference": _measured(0.02, 0.0, 0.06),
            },
        },
    }
    decision = evaluate(load_default_policy(), {"llm_evaluation": _bytes(llm)}, ARN)
    assert decision.model_kind == "llm"
    assert {c.report for c in decision.checks} == {"llm_evaluation"}
    assert decision.decision == APPROVED, [c.reason for c in decision.failed_checks]
    bold = {"toxicity_rate": None, "max_group_difference": None, "error": "oom"}
    llm["llm_evaluation"]["bold"] = bold
    rejected = evaluate(load_default_policy(), {"llm_evaluation": _bytes(llm)}, ARN)
    failed = {c.id for c in rejected.failed_checks}
    assert failed == {"llm-bold-toxicity", "llm-bold-group-difference"}


def test_unknown_model_kind_applies_every_rule() -> None:
    """No readable quality report: every rule applies, so doubt never removes a check."""
    decision = evaluate(load_default_policy(), {}, ARN)
    assert decision.model_kind is None and not decision.not_applicable
    assert len(decision.checks) == len(load_default_policy().rules)
    assert decision.decision == REJECTED and not any(c.passed for c in decision.checks)


def test_explicit_kind_overrides_inference() -> None:
    """`kind=` forces the model kind (CLI --model-kind)."""
    decision = evaluate(load_default_policy(), {}, ARN, kind="regression")
    assert decision.model_kind == "regression"
    assert "auc-floor" in decision.not_applicable and "r2-floor" not in decision.not_applicable


def test_policy_with_only_inapplicable_rules_is_rejected() -> None:
    """Zero applicable checks is not an approval."""
    policy = load_policy(
        "version: 1\nrules:\n"
        "  - {id: r2, report: model_quality, metric: r2, min: 0, applies_to: regression}\n"
    )
    decision = evaluate(policy, {"model_quality": _quality("binary_classification")}, ARN)
    assert decision.checks == () and decision.decision == REJECTED


PIN = {
    "manifest_sha256": "cd" * 32,
    "model_sha256": "ab" * 32,
    "model_read_from": "s3://gov/artifacts/team/run/model/model.tar.gz/v1",
    "model_version_id": "gv1",
}


@pytest.mark.parametrize(
    "verification, fragment",
    [
        ({**PIN, "model_sha256": "AB" * 32}, "model_sha256 must be 64 lowercase hex"),
        ({**PIN, "model_read_from": "https://x/y"}, "model_read_from must be an s3:// URI"),
        ({**PIN, "model_version_id": ""}, "model_version_id must be a non-empty string"),
        ({k: v for k, v in PIN.items() if k != "model_version_id"}, "go together"),
    ],
    ids=["digest-case", "not-s3", "empty-version", "uri-without-version"],
)
def test_verification_model_pin_is_typed(tmp_path: Path, verification: dict, fragment: str) -> None:
    """verification.model_read_from/model_version_id (the governance copy Verify scored): optional,
    but typed and paired when present."""
    doc = evaluate(POLICY, {"bias_post_training": None}, ARN).to_json()
    doc["verification"] = verification
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ChecksError, match=fragment):
        load_checks(path)


def test_verification_with_or_without_the_model_pin_round_trips(tmp_path: Path) -> None:
    """Old checks.json (no model pin) still parses; a pinned one keeps the pin."""
    doc = evaluate(POLICY, {"bias_post_training": None}, ARN).to_json()
    for verification in (PIN, {"manifest_sha256": "cd" * 32, "model_sha256": "ab" * 32}):
        doc["verification"] = verification
        path = tmp_path / "checks.json"
        path.write_text(json.dumps(doc))
        assert load_checks(path).verification == verification
