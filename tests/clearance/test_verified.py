"""Decisions on verified evidence: forged reports, small samples, pending, champion rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_factory import make_bundle

from clearance.contract.checks import decision_from_json
from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.decide import checks
from clearance.pipeline.steps.verify import verify_local
from clearance.policy import load_policy

ARN = "arn:aws:sagemaker:us-east-1:222222222222:model-package/g/1"
POLICY = """\
version: 1
id: verified
{extra}
rules:
  - id: disparate-impact
    report: bias_post_training
    metric: DI
    min: 0.8
    max: 1.25
    {di}
  - id: data-gap
    report: bias_pre_training
    metric: DPL
    abs_max: 0.1
  - id: auc-floor
    report: model_quality
    metric: auc
    min: 0.6
"""


def policy(extra: str = "", di: str = ""):
    return load_policy(POLICY.format(extra=extra, di=di))


def honest_reports(verification) -> dict[str, bytes]:
    """Reports as an honest team would register them: the same numbers as the recomputation."""

    def bias(kind: str, section: str) -> bytes:
        metrics = [
            {"name": name, "description": name, "value": m.value}
            for name, m in sorted(verification.metrics[kind].items())
        ]
        facets = {"gender": [{"value_or_threshold": "1", "metrics": metrics}]}
        return json.dumps({section: {"label": "approved", "facets": facets}}).encode()

    quality = {
        name: {"value": m.value, "standard_deviation": 0.0}
        for name, m in verification.metrics["model_quality"].items()
    }
    return {
        "bias_pre_training": bias("bias_pre_training", "pre_training_bias_metrics"),
        "bias_post_training": bias("bias_post_training", "post_training_bias_metrics"),
        "model_quality": json.dumps({"binary_classification_metrics": quality}).encode(),
    }


def forged(reports: dict[str, bytes], kind: str, metric: str, value: float) -> dict[str, bytes]:
    document = json.loads(reports[kind])
    (section,) = document
    for entry in document[section]["facets"]["gender"][0]["metrics"]:
        if entry["name"] == metric:
            entry["value"] = value
    return {**reports, kind: json.dumps(document).encode()}


@pytest.fixture(scope="module")
def fair(tmp_path_factory: pytest.TempPathFactory):
    root, model = make_bundle(tmp_path_factory.mktemp("fair"), rows=1500, bias=0.0)
    return verify_local(root, model, policy(), resamples=300)


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory):
    root, model = make_bundle(tmp_path_factory.mktemp("biased"), rows=1500, bias=0.6)
    return verify_local(root, model, policy(), resamples=300)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    root, model = make_bundle(tmp_path_factory.mktemp("small"), rows=60, bias=0.0, seed=11)
    return verify_local(root, model, policy(), resamples=300)


def test_honest_fair_package_is_approved_with_intervals(fair) -> None:
    decision = checks.evaluate(policy(), honest_reports(fair), ARN, verification=fair)
    assert decision.decision == APPROVED, [c.reason for c in decision.checks]
    document = decision.to_json()
    di = document["checks"][0]
    assert di["outcome"] == "pass" and di["reported"] == di["value"]
    assert di["interval"]["method"] == "katz-log" and set(di["group_sizes"]) == {"facet", "rest"}
    assert document["verification"]["facet"] == "gender"
    assert decision_from_json(json.loads(decision.to_bytes())).decision == APPROVED


def test_forged_report_passes_on_the_reports_and_fails_on_recomputation(biased) -> None:
    reports = forged(honest_reports(biased), "bias_post_training", "DI", 0.97)
    on_reports = checks.evaluate(policy(), reports, ARN)
    assert on_reports.checks[0].passed  # the edited number alone would pass
    decision = checks.evaluate(policy(), reports, ARN, verification=biased)
    di = decision.checks[0]
    assert decision.decision == REJECTED and di.outcome == "fail"
    assert di.reason.startswith("reported DI 0.970, recomputed 0.")
    assert checks.with_reported(decision, on_reports).to_json()["reported_decision"]["decision"]


def test_interval_rule_on_a_small_split_is_inconclusive_with_rows_needed(small) -> None:
    strict = policy(di="decide_on: interval")
    decision = checks.evaluate(strict, honest_reports(small), ARN, verification=small)
    di = decision.checks[0]
    assert di.outcome == "inconclusive", di.reason
    assert di.reason.startswith("insufficient evidence")
    assert di.measured["needed_n"]["facet"] > di.measured["group_sizes"]["facet"]
    assert decision.decision == REJECTED  # fail-closed default
    only_di = load_policy(
        "version: 1\non_inconclusive: pending\nrules:\n"
        "  - {id: di, report: bias_post_training, metric: DI, min: 0.8, max: 1.25,"
        " decide_on: interval}\n"
    )
    pending = checks.evaluate(only_di, honest_reports(small), ARN, verification=small)
    assert pending.decision == PENDING
    assert decision_from_json(json.loads(pending.to_bytes())).pending


def test_min_group_size_makes_a_rule_inconclusive(fair) -> None:
    strict = policy(extra="min_group_size: 100000")
    decision = checks.evaluate(strict, honest_reports(fair), ARN, verification=fair)
    assert {c.outcome for c in decision.checks} == {"inconclusive"}
    assert "fewer than min_group_size 100000" in decision.checks[0].reason


def test_failed_verification_fails_every_verifiable_rule(fair) -> None:
    decision = checks.evaluate(
        policy(), honest_reports(fair), ARN, verification_error="manifest.files: sha256 differs"
    )
    assert decision.decision == REJECTED
    assert all(c.reason.startswith("verification failed: manifest") for c in decision.checks)


def test_interval_rule_without_verification_is_inconclusive(fair) -> None:
    decision = checks.evaluate(policy(di="decide_on: interval"), honest_reports(fair), ARN)
    assert decision.checks[0].outcome == "inconclusive"
    assert decision.decision == REJECTED


@pytest.mark.parametrize(("champion", "expected"), [(0.5, "pass"), (0.99, "fail"), (None, "pass")])
def test_champion_rule(fair, champion, expected) -> None:
    text = POLICY.format(extra="", di="") + (
        "  - id: auc-vs-champion\n    report: model_quality\n    metric: auc\n"
        "    champion: {max_drop: 0.01}\n"
    )
    champions = {} if champion is None else {("model_quality", "auc"): champion}
    decision = checks.evaluate(
        load_policy(text), honest_reports(fair), ARN, verification=fair, champions=champions
    )
    check = decision.checks[-1]
    assert check.outcome == expected, check.reason
    if champion is None:
        assert "no Approved champion" in check.reason


def test_policy_extensions_round_trip_and_keep_old_digests(tmp_path: Path) -> None:
    plain = policy()
    extended = policy(
        extra="on_inconclusive: pending\nmin_group_size: 30", di="decide_on: interval"
    )
    assert extended.on_inconclusive == "pending" and extended.min_group_size == 30
    assert extended.rules[0].decide_on == "interval"
    assert plain.sha256 != extended.sha256
    assert '"on_inconclusive"' not in plain.canonical_json()


def test_html_report_and_model_card_show_intervals_and_group_sizes(small) -> None:
    from clearance.evidence.card_content import _check_group
    from clearance.evidence.checks_view import parse_checks
    from clearance.evidence.report_html import render

    strict = policy(di="decide_on: interval")
    decision = checks.evaluate(strict, honest_reports(small), ARN, verification=small)
    view = parse_checks(json.loads(decision.to_bytes()), decision.sha256)
    di = view.checks[0]
    assert di.outcome == "inconclusive" and di.interval is not None and di.needed_n
    page = render(view)
    assert 'class="interval"' in page and ">INCONCLUSIVE<" in page
    assert f"95% interval [{di.interval[0]:.4g}, {di.interval[1]:.4g}]" in page
    assert "rows that would decide" in page
    notes = _check_group(view)["metric_data"][0]["notes"]
    assert "95% interval [" in notes and "n facet" in notes


def test_clearance_check_verifies_a_local_build(tmp_path: Path, capsys) -> None:
    """`clearance check --evidence DIR --model FILE` runs the Verify step's code in process."""
    from clearance.cli import main
    from clearance_dev.bench.verification import honest_reports

    root, model = make_bundle(tmp_path / "build", rows=1500, bias=0.6)
    default = Path(__file__).resolve().parents[2] / "src/clearance/policy/policies/default.yaml"
    pol = load_policy(default)
    reports = honest_reports(verify_local(root, model, pol, resamples=200))
    files = {}
    for kind, flag in (("bias_post_training", "--bias-post"), ("model_quality", "--quality")):
        files[flag] = tmp_path / f"{kind}.json"
        files[flag].write_bytes(reports[kind])
    argv = ["check", "--policy", str(default), "--out", str(tmp_path / "checks.json")]
    argv += [x for flag, path in files.items() for x in (flag, str(path))]
    assert main([*argv, "--evidence", str(root), "--model", str(model)]) == 1
    table = capsys.readouterr().out
    assert "disparate-impact" in table and "FAIL" in table
    forged = json.loads(reports["bias_post_training"])
    for entry in forged["post_training_bias_metrics"]["facets"]["gender"][0]["metrics"]:
        if entry["name"] == "DI":
            entry["value"] = 0.99
    files["--bias-post"].write_text(json.dumps(forged))
    assert main([*argv, "--evidence", str(root), "--model", str(model), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    di = next(c for c in doc["checks"] if c["id"] == "disparate-impact")
    assert di["reason"].startswith("reported DI 0.990, recomputed")
    assert main([*argv, "--evidence", str(tmp_path / "nowhere")]) == 2
