"""The report's extended evidence: interval error bars against the bound lines, group sizes,
outcome badges with needed_n, the verification table and the endpoint checks, from hand-made
checks.json in the shared shape (PLAN.md). Old checks.json without these fields render unchanged.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from test_report_html import HOSTILE, SAFE_TAGS, parse

from clearance.cli.evidence import main
from clearance.contract import checks as contract_checks
from clearance.evidence.checks_view import load_checks_file, parse_checks
from clearance.evidence.common import EvidenceError
from clearance.evidence.parse import load_reports_dir, parse_reports
from clearance.evidence.report_html import FAIL_COLOUR, INCONCLUSIVE_COLOUR, PASS_COLOUR, render

ARN = "arn:aws:sagemaker:us-east-1:222222222222:model-package/g/3"
POLICY = {"id": "governance", "version": "8", "sha256": "ab" * 32}


def interval(lower: float, upper: float, method: str = "newcombe") -> dict[str, Any]:
    return {"lower": lower, "upper": upper, "level": 0.95, "method": method}


# Interval [0.02, 0.1] touches max 0.1 (inclusive: passes); the policy's reported value agrees.
TOUCHING = {
    "id": "dpl-touching",
    "report": "bias_pre_training",
    "metric": "DPL",
    "passed": True,
    "outcome": "pass",
    "values": [0.06],
    "value": 0.06,
    "n": 500,
    "interval": interval(0.02, 0.1),
    "group_sizes": {"facet": 50, "reference": 450},
    "bounds": {"min": -0.1, "max": 0.1},
    "reason": "DPL 0.06: the whole 95% interval [0.02, 0.1] is within [-0.1, 0.1]",
    "reported": 0.06,
    "tolerance": 0.0001,
}
# Straddles abs_max 0.1: inconclusive, with the rows per group that would decide.
INCONCLUSIVE = {
    "id": "di-small-sample",
    "report": "bias_post_training",
    "metric": "DPPL",
    "passed": False,
    "outcome": "inconclusive",
    "values": [0.08],
    "value": 0.08,
    "n": 60,
    "interval": interval(-0.04, 0.2),
    "group_sizes": {"facet": 12, "reference": 48},
    "needed_n": {"facet": 140, "reference": 560},
    "bounds": {"abs_max": 0.1},
    "reason": "insufficient evidence: DPPL 0.08: the 95% interval [-0.04, 0.2] straddles",
    "verification": {"reported": 0.012, "recomputed": 0.08, "tolerance": 0.0001},
}
# Measured, but the interval is missing (null): n and groups shown, no error bar.
NO_INTERVAL = {
    "id": "auc-floor",
    "report": "model_quality",
    "metric": "auc",
    "passed": False,
    "outcome": "fail",
    "values": [0.61],
    "value": 0.61,
    "n": 1000,
    "interval": None,
    "group_sizes": {"rows": 1000},
    "bounds": {"min": 0.7},
    "reason": "recomputed auc 0.61 is outside [0.7, inf]",
}
ENDPOINT = {
    "kind": "endpoint",
    "schema_version": 1,
    "stage": "staging",
    "endpoint_name": "credit-risk-p-abc-staging",
    "model_package_arn": ARN,
    "policy": {"id": "endpoint-default", "version": "1", "sha256": "cd" * 32},
    "checked_at": "2026-11-28T07:00:00Z",
    "outcome": "pass",
    "checks": [
        {"id": "endpoint.smoke", "outcome": "pass", "reason": "10 rows, 10 scores"},
        {
            "id": "endpoint.latency_p95",
            "outcome": "pass",
            "reason": "p95 2.1 ms <= 300 ms",
            "value": 2.1,
            "bounds": {"max": 300.0},
            "n": 200,
        },
        {"id": "endpoint.data_capture", "outcome": "pass", "reason": "capture on"},
        {"id": "endpoint.monitoring", "outcome": "pass", "reason": "schedule validates"},
    ],
    "latency_ms": {"p50": 1.25, "p95": 2.1, "max": 9.8, "n": 200},
    "error_rate": {"value": 0.0, "n": 200, "interval": interval(0.0, 0.0188, "wilson")},
    "data_capture": {"enabled": True, "sampling_percentage": 100, "destination": "s3://b/capture"},
    "monitoring": {
        "schedule_name": "credit-risk-dq",
        "schedule_expression": "cron(0 * ? * * *)",
        "baseline": {"constraints": "s3://b/constraints.json", "statistics": "s3://b/stats.json"},
        "created": False,
    },
}


def checks_doc(*checks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    decision = "Approved" if all(c["passed"] for c in checks) else "Rejected"
    return {
        "model_package_arn": ARN,
        "policy": POLICY,
        "decision": decision,
        "evaluated_at": "2026-11-28T06:00:00Z",
        "checks": list(checks),
        **extra,
    }


def elements_of(page: str, cls: str, **attrs: str) -> list[dict[str, Any]]:
    return [
        e
        for e in parse(page)
        if cls in e["attrs"].get("class", "").split()
        and all(e["attrs"].get(k) == v for k, v in attrs.items())
    ]


def chart_parts(page: str, check_id: str) -> dict[str, Any]:
    """The SVG elements of one check's chart, in document order."""
    elements = parse(page)
    start = next(
        i
        for i, e in enumerate(elements)
        if e["tag"] == "div" and e["attrs"].get("data-check-id") == check_id
    )
    end = next(
        (
            i
            for i, e in enumerate(elements[start + 1 :], start + 1)
            if e["tag"] == "div" and "check" in e["attrs"].get("class", "").split()
        ),
        len(elements),
    )
    mine = elements[start:end]
    by_class: dict[str, list[dict[str, str]]] = {}
    for e in mine:
        by_class.setdefault(e["attrs"].get("class", ""), []).append(e["attrs"])
    return by_class


def test_interval_touching_a_bound_ends_on_the_bound_line():
    """The error bar spans [lower, upper] on the chart's scale: its upper end IS the max line."""
    page = render(parse_checks(checks_doc(TOUCHING)))
    parts = chart_parts(page, "dpl-touching")
    (line,) = parts["interval"]
    bounds = {b["data-bound"]: b for b in parts["bound"]}
    assert float(line["data-lower"]) == 0.02 and float(line["data-upper"]) == 0.1
    assert line["x2"] == bounds["max"]["x1"] == bounds["max"]["x2"]
    assert float(bounds["max"]["data-value"]) == 0.1 and float(bounds["min"]["data-value"]) == -0.1
    # Touching an inclusive bound is inside: the bar is drawn in the pass colour.
    assert line["data-outcome"] == "pass" and line["stroke"] == PASS_COLOUR
    assert line["y1"] == line["y2"]
    # Both end caps stand on the interval's ends.
    caps = parts["interval-cap"]
    assert sorted(c["x1"] for c in caps) == sorted([line["x1"], line["x2"]])
    assert all(
        c["x1"] == c["x2"] and float(c["y1"]) < float(line["y1"]) < float(c["y2"]) for c in caps
    )
    # One linear scale for bounds, interval ends and the value bar (to the 0.1 px printed).
    x = {name: float(b["x1"]) for name, b in bounds.items()}
    per_unit = (x["max"] - x["min"]) / 0.2
    assert float(line["x1"]) == pytest.approx(x["min"] + (0.02 + 0.1) * per_unit, abs=0.11)
    (bar,) = parts["bar"]
    assert bar["fill-opacity"] == "0.45"  # pale under the error bar, so both read
    zero = float(parts["zero"][0]["x1"])
    assert zero == pytest.approx(x["min"] + 0.1 * per_unit, abs=0.11)
    assert float(bar["x"]) == zero
    assert float(bar["x"]) + float(bar["width"]) == pytest.approx(zero + 0.06 * per_unit, abs=0.11)
    # The band is exactly between the bound lines.
    (band,) = parts["band"]
    assert float(band["x"]) == x["min"]
    assert float(band["x"]) + float(band["width"]) == pytest.approx(x["max"], abs=0.11)


def test_n_and_group_sizes_are_shown_with_their_interval():
    page = render(parse_checks(checks_doc(TOUCHING)))
    (sizes,) = elements_of(page, "sizes")
    assert sizes["attrs"]["data-n"] == "500"
    groups = {
        e["attrs"]["data-group"]: int(e["attrs"]["data-value"])
        for e in elements_of(page, "group-size")
    }
    assert groups == TOUCHING["group_sizes"]
    (text,) = elements_of(page, "interval-text")
    assert (float(text["attrs"]["data-lower"]), float(text["attrs"]["data-upper"])) == (0.02, 0.1)
    assert "95% interval [0.02, 0.1] (newcombe)" in text["text"]
    assert "n = 500" in sizes["text"] and "facet 50" in sizes["text"]


def test_inconclusive_has_its_badge_needed_rows_and_an_amber_bar():
    page = render(parse_checks(checks_doc(TOUCHING, INCONCLUSIVE)))
    (block,) = elements_of(page, "check", **{"data-check-id": "di-small-sample"})
    assert block["attrs"]["class"] == "check inconclusive"
    assert (
        block["attrs"]["data-outcome"] == "inconclusive"
        and block["attrs"]["data-passed"] == "false"
    )
    badges = [e for e in elements_of(page, "badge") if "inconclusive" in e["attrs"]["class"]]
    assert [b["text"] for b in badges] == ["INCONCLUSIVE"]
    needed = {
        e["attrs"]["data-group"]: int(e["attrs"]["data-value"])
        for e in elements_of(page, "needed-n")
    }
    assert needed == INCONCLUSIVE["needed_n"]
    (line,) = chart_parts(page, "di-small-sample")["interval"]
    assert line["data-outcome"] == "inconclusive" and line["stroke"] == INCONCLUSIVE_COLOUR
    bounds = {
        b["data-bound"]: float(b["x1"]) for b in chart_parts(page, "di-small-sample")["bound"]
    }
    # The interval straddles the max line: one end on each side.
    assert float(line["x1"]) < bounds["max"] < float(line["x2"])
    (header,) = [e for e in parse(page) if e["attrs"].get("id") == "decision"]
    assert "1 inconclusive: insufficient evidence" in header["text"]


def test_an_interval_wholly_outside_is_a_red_bar():
    outside = {**NO_INTERVAL, "id": "auc-low", "interval": interval(0.55, 0.66, "wilson")}
    (line,) = chart_parts(render(parse_checks(checks_doc(outside))), "auc-low")["interval"]
    assert line["data-outcome"] == "fail" and line["stroke"] == FAIL_COLOUR


def test_a_missing_interval_draws_no_error_bar_but_shows_n():
    page = render(parse_checks(checks_doc(NO_INTERVAL)))
    parts = chart_parts(page, "auc-floor")
    assert "interval" not in parts and "interval-cap" not in parts
    (sizes,) = elements_of(page, "sizes")
    assert sizes["attrs"]["data-n"] == "1000" and "no interval" in sizes["text"]
    assert not elements_of(page, "needed")


def test_a_separate_measured_row_when_values_differ_from_the_measure():
    """Values other than the one measured value: the interval gets a "measured" row of its own."""
    check = {**TOUCHING, "id": "two-values", "values": [0.01, 0.03]}
    parts = chart_parts(render(parse_checks(checks_doc(check))), "two-values")
    assert len(parts["bar"]) == 3 and len(parts["interval"]) == 1
    assert float(parts["interval"][0]["y1"]) == float(parts["bar"][2]["y"]) + 7


def test_old_checks_json_renders_without_the_new_parts():
    old = {
        k: TOUCHING[k] for k in ("id", "report", "metric", "passed", "values", "bounds", "reason")
    }
    page = render(parse_checks(checks_doc(old)))
    for cls in ("interval", "sizes", "needed", "verification-row", "endpoint-check"):
        assert not elements_of(page, cls), cls
    (block,) = elements_of(page, "check")
    assert block["attrs"]["data-outcome"] == "pass"
    assert "fill-opacity" not in elements_of(page, "bar")[0]["attrs"]
    assert 'id="verification"' not in page and 'id="endpoint"' not in page


@pytest.mark.parametrize(
    ("outcome", "passed"),
    [("pass", False), ("fail", True), ("inconclusive", True), ("maybe", False), (3, False)],
)
def test_an_outcome_contradicting_passed_is_refused(outcome, passed):
    check = {**NO_INTERVAL, "outcome": outcome, "passed": passed}
    with pytest.raises(EvidenceError) as info:
        parse_checks(checks_doc(check))
    assert info.value.field == "checks[0].outcome"


def test_verification_table_equals_checks_json():
    page = render(parse_checks(checks_doc(TOUCHING, INCONCLUSIVE, NO_INTERVAL)))
    rows = elements_of(page, "verification-row")
    assert [r["attrs"]["data-check-id"] for r in rows] == ["dpl-touching", "di-small-sample"]
    cells = {
        cls: [float(e["attrs"]["data-value"]) for e in elements_of(page, cls)]
        for cls in ("reported", "recomputed", "difference", "tolerance")
    }
    assert cells["reported"] == [0.06, 0.012]
    assert cells["recomputed"] == [0.06, 0.08]
    assert cells["difference"] == [0.0, pytest.approx(0.068)]
    assert cells["tolerance"] == [0.0001, 0.0001]
    section = page[page.index('id="verification"') :]
    assert '<span class="badge pass">PASS</span>' in section.split("</tr>")[1]
    assert '<span class="badge fail">FAIL</span>' in section.split("</tr>")[2]


def test_verification_summary_rows():
    doc = checks_doc(
        TOUCHING, verification={"bundle": {"rows": 10000, "facet": "gender"}, "tolerance": 0.0001}
    )
    page = render(parse_checks(doc))
    section = page[page.index('id="verification"') :]
    assert "bundle.rows" in section and "10000" in section and "bundle.facet" in section


def test_endpoint_section_from_checks_json():
    page = render(parse_checks(checks_doc(TOUCHING, endpoint=ENDPOINT)))
    latency = {
        e["attrs"]["data-stat"]: float(e["attrs"]["data-value"])
        for e in elements_of(page, "latency")
    }
    assert latency == {"p50": 1.25, "p95": 2.1, "max": 9.8}
    (rate,) = elements_of(page, "error-rate")
    assert float(rate["attrs"]["data-value"]) == 0.0
    texts = [e for e in elements_of(page, "interval-text") if e["attrs"]["data-upper"] == "0.0188"]
    assert len(texts) == 1 and "wilson" in texts[0]["text"]
    rows = elements_of(page, "endpoint-check")
    assert [(r["attrs"]["data-check-id"], r["attrs"]["data-outcome"]) for r in rows] == [
        (c["id"], "pass") for c in ENDPOINT["checks"]
    ]
    (outcome,) = elements_of(page, "endpoint-outcome")
    assert outcome["attrs"]["data-outcome"] == "pass"
    section = page[page.index('id="endpoint"') :]
    for text in ("sampling_percentage", "s3://b/capture", "credit-risk-dq", "cron(0 * ? * * *)",
                 "baseline.constraints", "s3://b/constraints.json", "(staging)"):  # fmt: skip
        assert text in section, text


def test_a_failed_or_empty_endpoint_report_fails_closed():
    failed = copy.deepcopy(ENDPOINT)
    failed["checks"][1]["outcome"] = "fail"  # the report still says "pass" overall
    page = render(parse_checks(checks_doc(TOUCHING, endpoint=failed)))
    (outcome,) = elements_of(page, "endpoint-outcome")
    assert outcome["attrs"]["data-outcome"] == "fail"
    empty = {**ENDPOINT, "checks": []}
    page = render(parse_checks(checks_doc(TOUCHING, endpoint=empty)))
    assert elements_of(page, "endpoint-outcome")[0]["attrs"]["data-outcome"] == "fail"
    assert "no check recorded" in page
    page = render(parse_checks(checks_doc(TOUCHING, endpoint={"kind": "bias"})))
    assert "Endpoint report not shown: not an endpoint report" in page


def test_endpoint_report_from_the_reports_dir_and_the_command(tmp_path, capsys):
    checks = tmp_path / "checks.json"
    checks.write_text(json.dumps(checks_doc(TOUCHING)), encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "endpoint.json").write_text(json.dumps(ENDPOINT), encoding="utf-8")
    loaded, sources = load_reports_dir(reports)
    evidence = parse_reports(loaded)
    assert evidence.endpoint is not None and evidence.endpoint.latency_ms["p95"] == 2.1
    assert sources["endpoint"].endswith("endpoint.json")

    out = tmp_path / "page.html"
    report = tmp_path / "staging.json"
    report.write_text(json.dumps(ENDPOINT), encoding="utf-8")
    argv = ["report", "--checks", str(checks), "--endpoint-report", str(report), "--out", str(out)]
    assert main(argv) == 0
    assert elements_of(out.read_text(encoding="utf-8"), "endpoint-check")
    capsys.readouterr()
    report.write_text(json.dumps({"kind": "model_quality"}), encoding="utf-8")
    out.unlink()
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ERROR: --endpoint-report: ") and not out.exists()


def test_hostile_text_in_the_new_fields_is_escaped():
    check = copy.deepcopy(INCONCLUSIVE)
    check["group_sizes"] = {HOSTILE: 3}
    check["needed_n"] = {HOSTILE: 30}
    check["interval"]["method"] = HOSTILE
    endpoint = copy.deepcopy(ENDPOINT)
    endpoint["endpoint_name"] = HOSTILE
    endpoint["checks"][0]["reason"] = HOSTILE
    endpoint["monitoring"]["schedule_name"] = HOSTILE
    page = render(
        parse_checks(checks_doc(check, endpoint=endpoint, verification={"bundle": HOSTILE}))
    )
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    assert {e["tag"] for e in parse(page)} <= SAFE_TAGS


def test_the_approval_bundle_renders_without_site_packages(tmp_path):
    """The Update step runs from the code bundle: templates, Jinja2 and MarkupSafe come from it."""
    from clearance.pipeline.bundle import build_code_bundle

    bundle = build_code_bundle(tmp_path / "clearance.zip")
    (tmp_path / "checks.json").write_text(json.dumps(checks_doc(TOUCHING, INCONCLUSIVE)))
    script = (
        "import sys, jinja2, markupsafe\n"
        "assert jinja2.__file__.startswith(sys.argv[1]), jinja2.__file__\n"
        "from clearance.evidence.checks_view import load_checks_file\n"
        "from clearance.evidence.report_html import render\n"
        "print(render(load_checks_file(sys.argv[2])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(bundle), str(tmp_path / "checks.json")],
        env={"PYTHONPATH": str(bundle)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert elements_of(result.stdout, "needed-n") and elements_of(result.stdout, "interval")
    # Same templates, same page as from the source tree.
    assert result.stdout == render(load_checks_file(tmp_path / "checks.json")) + "\n"


@pytest.mark.skipif(
    "PENDING" not in contract_checks.__all__,
    reason="checks.json's PendingManualApproval decision arrives with the stats branch's contract",
)
def test_a_pending_decision_is_shown_as_waiting_for_a_person():
    """on_inconclusive: pending leaves the package PendingManualApproval: amber, not red."""
    doc = checks_doc(TOUCHING, INCONCLUSIVE)
    doc["decision"] = "PendingManualApproval"
    view = parse_checks(doc)
    (check,) = [c for c in view.checks if c.outcome == "inconclusive"]
    assert check.interval == (-0.04, 0.2) and check.recomputed == 0.08
    assert check.group_sizes == {"facet": 12, "reference": 48}
    assert "rows that would decide: facet 140, reference 560" in check.measured_text
    page = render(view)
    (header,) = [e for e in parse(page) if e["attrs"].get("id") == "decision"]
    assert header["attrs"]["class"] == "decision PendingManualApproval"
    assert "1 of 2 checks inconclusive, left for a person to decide: di-small-sample" in page
    assert "header.PendingManualApproval" in page and "95% interval [-0.04, 0.2]" in page
