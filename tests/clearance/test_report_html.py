"""The HTML decision report: equals checks.json, escapes everything, needs nothing at view time."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_modelcard import REPORTS, report_bytes

from clearance.cli.evidence import main
from clearance.evidence.checks_view import load_checks_file, parse_checks
from clearance.evidence.common import EvidenceError
from clearance.evidence.parse import load_reports_dir, parse_reports
from clearance.evidence.report_html import fmt, render, write_report

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk-models/4"
# A complete policy reference: checks.json without one is refused (clearance.contract.checks).
POLICY_REF = {"id": "p", "version": "1", "sha256": "0" * 64}
POLICY = """
version: 7
id: governance
rules:
  - id: treatment-equity
    report: bias_post_training
    metric: TE
    abs_max: 0.8
  - id: positive-proportions
    report: bias_post_training
    metric: DPPL
    facet: gender
    min: -0.1
    max: 0.1
  - id: conditional-disparity
    report: bias_post_training
    metric: CDDPL
    abs_max: 0.5
  - id: class-imbalance
    report: bias_pre_training
    metric: CI
    abs_max: 0.3
  - id: accuracy-floor
    report: model_quality
    metric: accuracy
    min: 0.9
  - id: income-influence
    report: explainability
    metric: income
    max: 0.5
"""


class Elements(HTMLParser):
    """Every start tag with its attributes and the text directly inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self.stack: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "rect", "line", "br", "img", "input", "link"):
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element["text"] += data


def parse(page: str) -> list[dict[str, Any]]:
    parser = Elements()
    parser.feed(page)
    return parser.elements


@pytest.fixture
def decided(tmp_path: Path) -> tuple[Path, Path]:
    """checks.json from the real evaluator, and the reports directory it read."""
    from clearance.decide.checks import evaluate, write_checks
    from clearance.policy import load_policy

    reports_dir = tmp_path / "reports"
    layout = {
        "bias_pre_training": "data_bias/analysis.json",
        "bias_post_training": "model_bias/analysis.json",
        "explainability": "explainability/analysis.json",
        "model_quality": "model_quality/statistics.json",
    }
    raw = {}
    for kind, rel in layout.items():
        path = reports_dir / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(report_bytes(REPORTS[kind]))
        raw[kind] = path.read_bytes()
    decision = evaluate(load_policy(POLICY), raw, ARN)
    checks_path = write_checks(decision, tmp_path / "checks.json")
    return checks_path, reports_dir


def test_report_numbers_equal_checks_json(decided):
    """Every value, bound and verdict on the page is the one in checks.json, exactly."""
    checks_path, reports_dir = decided
    doc = json.loads(checks_path.read_text())
    assert doc["decision"] == "Rejected"
    reports, _ = load_reports_dir(reports_dir)
    page = render(load_checks_file(checks_path), parse_reports(reports))
    elements = parse(page)

    blocks = {
        e["attrs"]["data-check-id"]: e
        for e in elements
        if "check" in e["attrs"].get("class", "").split()
    }
    assert list(blocks) == [c["id"] for c in doc["checks"]]
    for check in doc["checks"]:
        block = blocks[check["id"]]["attrs"]
        assert block["data-passed"] == str(check["passed"]).lower()
        for key, attr in (("min", "data-min"), ("max", "data-max"), ("abs_max", "data-abs-max")):
            expected = check["bounds"][key]
            assert (None if block[attr] == "None" else float(block[attr])) == expected
        shown = [
            e
            for e in elements
            if e["attrs"].get("class") == "check-value"
            and e["attrs"]["data-check-id"] == check["id"]
        ]
        assert len(shown) == len(check["values"])
        for element, value in zip(shown, check["values"], strict=True):
            if isinstance(value, int | float) and math.isfinite(value):
                assert float(element["attrs"]["data-value"]) == value
                assert element["text"].endswith(fmt(float(value)))
            else:  # null / "NaN": never shown as a number
                assert element["attrs"]["data-value"] == "null"
                assert json.dumps(value) in element["text"]

    verdicts = {c["id"]: c["passed"] for c in doc["checks"]}
    assert verdicts == {
        "treatment-equity": True,
        "positive-proportions": True,
        "conditional-disparity": False,
        "class-imbalance": True,
        "accuracy-floor": False,
        "income-influence": True,
    }
    (header,) = [e for e in elements if e["attrs"].get("id") == "decision"]
    assert header["attrs"]["data-decision"] == "Rejected"
    assert "conditional-disparity, accuracy-floor" in header["text"]

    # The evidence sections carry the report numbers exactly too.
    shap = {
        e["attrs"]["data-feature"]: float(e["attrs"]["data-value"])
        for e in elements
        if e["attrs"].get("class") == "shap-bar"
    }
    assert (
        shap
        == REPORTS["explainability"]["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    )
    table_values = [
        e["attrs"]["data-value"]
        for e in elements
        if e["tag"] == "td" and "data-value" in e["attrs"]
    ]
    post = REPORTS["bias_post_training"]["post_training_bias_metrics"]["facets"]["gender"][0][
        "metrics"
    ]
    pre = REPORTS["bias_pre_training"]["pre_training_bias_metrics"]["facets"]["gender"][0][
        "metrics"
    ]
    assert table_values == [
        repr(m["value"]) if m["value"] is not None else "null" for m in pre + post
    ]


def test_bars_are_coloured_by_the_bounds():
    """A value inside its bounds is a green bar, outside a red one; a null is text, not a bar."""
    checks = parse_checks(
        {
            "model_package_arn": ARN,
            "policy": {"id": "p", "version": "1", "sha256": "0"},
            "decision": "Rejected",
            "checks": [
                {
                    "id": "a",
                    "report": "model_quality",
                    "metric": "auc",
                    "passed": False,
                    "values": [0.95, 0.5, None],
                    "bounds": {"min": 0.7},
                    "reason": "0.5 < 0.7",
                },
            ],
        }
    )
    bars = [e for e in parse(render(checks)) if e["attrs"].get("class") == "bar"]
    assert [b["attrs"]["fill"] for b in bars] == ["#1a7f37", "#cf222e"]


SAFE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "section",
    "table",
    "tr",
    "th",
    "td",
    "code",
    "div",
    "span",
    "b",
    "ul",
    "li",
    "svg",
    "rect",
    "line",
    "text",
}
HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def test_user_controlled_text_is_escaped_and_nothing_loads_at_view_time():
    """ARNs, reasons, check ids, facet and feature names cannot inject markup; no external asset."""
    checks = parse_checks(
        {
            "model_package_arn": f"arn:aws:sagemaker:us-east-1:1:model-package/{HOSTILE}",
            "policy": {"id": HOSTILE, "version": HOSTILE, "sha256": HOSTILE},
            "decision": "Rejected",
            "evaluated_at": HOSTILE,
            "checks": [
                {
                    "id": HOSTILE,
                    "report": HOSTILE,
                    "metric": HOSTILE,
                    "passed": False,
                    "values": [HOSTILE, {"facet": HOSTILE, "value": 0.2}],
                    "bounds": {"max": 0.1},
                    "reason": HOSTILE,
                },
            ],
        }
    )
    bias = json.loads(
        json.dumps(REPORTS["bias_post_training"]).replace('"gender"', json.dumps(HOSTILE))
    )
    shap = {"explanations": {"kernel_shap": {HOSTILE: {"global_shap_values": {HOSTILE: 0.3}}}}}
    evidence = parse_reports(
        {"bias_post_training": report_bytes(bias), "explainability": report_bytes(shap)}
    )
    page = render(checks, evidence)
    elements = parse(page)
    assert {e["tag"] for e in elements} <= SAFE_TAGS
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # Nothing that could fetch: no src/href attribute on any element, no url() or @import in CSS.
    assert not [e for e in elements if {"src", "href", "xlink:href"} & set(e["attrs"])]
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_report_command_writes_one_page_and_reports_in_json(decided, tmp_path, capsys):
    """`clearance report` exits 0, prints where the page is, and leaves no temporary file."""
    checks_path, reports_dir = decided
    out = tmp_path / "pages" / "decision.html"
    code = main(
        [
            "report",
            "--checks",
            str(checks_path),
            "--reports-dir",
            str(reports_dir),
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["html"] == str(out) and summary["decision"] == "Rejected"
    assert summary["failed_checks"] == ["conditional-disparity", "accuracy-floor"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["decision.html"]
    assert "Explainability: global SHAP importances" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{not json", "--checks"),
        (
            json.dumps({"model_package_arn": ARN, "policy": {}, "decision": "Maybe", "checks": []}),
            "decision",
        ),
        (
            json.dumps(
                {
                    "model_package_arn": ARN,
                    "policy": {"id": "p", "version": "1", "sha256": "0"},
                    "decision": "Approved",
                    "checks": [
                        {"id": "a", "passed": False, "values": [], "bounds": {}, "reason": "r"}
                    ],
                }
            ),
            "decision",
        ),
        (
            json.dumps(
                {
                    "model_package_arn": ARN,
                    "policy": {},
                    "decision": "Rejected",
                    "checks": [{"id": "a", "passed": "no", "values": []}],
                }
            ),
            "checks[0].passed",
        ),
        (
            json.dumps(
                {
                    "model_package_arn": ARN,
                    "policy": {},
                    "decision": "Rejected",
                    "checks": [
                        {"id": "a", "passed": False, "values": [], "bounds": {"min": "low"}}
                    ],
                }
            ),
            "checks[0].bounds.min",
        ),
    ],
    ids=[
        "not-json",
        "unknown-decision",
        "approved-with-failed-check",
        "passed-not-bool",
        "bound-not-number",
    ],
)
def test_bad_checks_json_is_one_error_line_and_no_page(tmp_path, capsys, content, field):
    """Exit 2, one `ERROR: <field>: ...` line, no page (also for Approved with a failed check)."""
    checks = tmp_path / "checks.json"
    checks.write_text(content, encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["report", "--checks", str(checks), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: {field}: ")
    assert not out.exists()


def test_missing_inputs_name_the_option(tmp_path, capsys):
    """A missing checks file or reports dir is named in the one error line."""
    assert (
        main(["report", "--checks", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r.html")])
        == 2
    )
    assert capsys.readouterr().err.startswith("ERROR: --checks: cannot read")
    checks = tmp_path / "checks.json"
    checks.write_text(
        json.dumps(
            {"model_package_arn": ARN, "policy": POLICY_REF, "decision": "Rejected", "checks": []}
        ),
        encoding="utf-8",
    )
    code = main(
        [
            "report",
            "--checks",
            str(checks),
            "--reports-dir",
            str(tmp_path / "no"),
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("ERROR: --reports-dir:")
    assert not (tmp_path / "r.html").exists()


def test_unreadable_report_is_stated_on_the_page(tmp_path):
    """A broken report file shows up as a named problem, and the other reports still render."""
    (tmp_path / "model_bias").mkdir()
    (tmp_path / "model_bias" / "analysis.json").write_text("{broken", encoding="utf-8")
    (tmp_path / "explainability.json").write_bytes(report_bytes(REPORTS["explainability"]))
    reports, sources = load_reports_dir(tmp_path)
    evidence = parse_reports(reports)
    evidence.add_sources(sources)
    assert set(evidence.problems) == {"bias_post_training"}
    checks = parse_checks(
        {"model_package_arn": ARN, "policy": POLICY_REF, "decision": "Rejected", "checks": []}
    )
    page = write_report(tmp_path / "out.html", checks, evidence).read_text(encoding="utf-8")
    assert "unreadable" in page and "income" in page


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**400), 10**400)
    | st.text(max_size=20)
)
CHECK_ITEMS = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=10), "passed": st.booleans() | JSON_SCALARS},
    optional={
        "values": st.lists(
            JSON_SCALARS | st.dictionaries(st.text(max_size=5), JSON_SCALARS), max_size=4
        )
        | JSON_SCALARS,
        "bounds": st.dictionaries(st.sampled_from(["min", "max", "abs_max"]), JSON_SCALARS)
        | JSON_SCALARS,
        "reason": JSON_SCALARS,
        "report": JSON_SCALARS,
        "metric": JSON_SCALARS,
    },
)
CHECKS_DOCS = st.fixed_dictionaries(
    {
        "model_package_arn": st.text(max_size=40) | JSON_SCALARS,
        "policy": st.dictionaries(st.sampled_from(["id", "version", "sha256"]), JSON_SCALARS)
        | JSON_SCALARS,
        "decision": st.sampled_from(["Approved", "Rejected", "approved", ""]) | JSON_SCALARS,
        "checks": st.lists(CHECK_ITEMS, max_size=5) | JSON_SCALARS,
    }
)


@settings(max_examples=300, deadline=None)
@given(doc=CHECKS_DOCS)
def test_fuzzed_checks_json_renders_or_fails_with_one_error(doc):
    """Any checks.json either renders or raises EvidenceError; an Approved page has only passes."""
    try:
        checks = parse_checks(json.loads(json.dumps(doc, allow_nan=True)))
    except EvidenceError as exc:
        assert exc.field and exc.problem and "\n" not in str(exc)
        return
    page = render(checks)
    if checks.decision == "Approved":
        assert checks.checks and all(c.passed for c in checks.checks)
        assert 'data-passed="false"' not in page
    assert page.count('class="check ') == len(checks.checks)


def test_the_clearance_command_carries_the_evidence_subcommands(decided, tmp_path, capsys):
    """`clearance report|audit|reevaluate` are registered in the console script's parser."""
    from clearance.cli import main as clearance_main

    checks_path, _ = decided
    out = tmp_path / "via-cli.html"
    assert clearance_main(["report", "--checks", str(checks_path), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"Rejected: wrote {out}")
    assert out.is_file()
    for command in ("audit", "reevaluate"):
        assert clearance_main([command, "--help"]) == 0
        assert "--model-package-group" in capsys.readouterr().out
