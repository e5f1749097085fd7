"""The model card carries intervals, group sizes, needed rows, the verification and the endpoint
checks, in shapes sagemaker-core's ModelCardContent mirror validates."""

from __future__ import annotations

import copy
import json

import pytest
from test_modelcard import (
    REPORTS,
    TEAM_METADATA,
    aws,  # noqa: F401 - fixture
    checks_doc,
    metric_groups,
    record_decision,
    register_package,
    report_bytes,
    stored_card,
    write_checks,
)
from test_report_render import ENDPOINT, INCONCLUSIVE, NO_INTERVAL, TOUCHING

from clearance.evidence import modelcard
from clearance.evidence.card_measures import ENDPOINT_TITLE, MEASURED_TITLE
from clearance.evidence.checks_view import parse_checks
from clearance.evidence.common import EvidenceError
from clearance.evidence.package import PackageInfo
from clearance.evidence.parse import parse_reports
from clearance.evidence.publish import after_decision

ARN = "arn:aws:sagemaker:us-east-1:222222222222:model-package/g/3"


def content_for(*checks: dict, endpoint: dict | None = None) -> dict:
    doc = checks_doc(ARN, "Approved" if all(c["passed"] for c in checks) else "Rejected")
    doc["checks"] = [copy.deepcopy(c) for c in checks]
    if endpoint is not None:
        doc["endpoint"] = endpoint
    evidence = parse_reports({k: report_bytes(v) for k, v in REPORTS.items()})
    package = PackageInfo.from_describe(
        {
            "ModelPackageArn": ARN,
            "ModelPackageGroupName": "g",
            "ModelPackageVersion": 3,
            "CustomerMetadataProperties": TEAM_METADATA,
        }
    )
    content = modelcard.build_content(parse_checks(doc), evidence, package)
    modelcard.validate_content(content)  # the sagemaker-core mirror and the API limits
    return content


def by_name(group: dict) -> dict[str, dict]:
    return {m["name"]: m for m in group["metric_data"]}


def test_intervals_group_sizes_and_needed_rows_are_metrics():
    content = content_for(TOUCHING, INCONCLUSIVE, NO_INTERVAL)
    groups = {g["name"]: by_name(g) for g in metric_groups(content, MEASURED_TITLE)}
    assert list(groups) == ["dpl-touching", "di-small-sample", "auc-floor"]

    touching = groups["dpl-touching"]
    assert touching["outcome"]["value"] == "pass"
    assert touching["DPL"] == {
        "name": "DPL",
        "type": "number",
        "value": 0.06,
        "notes": "95% interval [0.02, 0.1] (newcombe)",
    }
    assert touching["DPL lower 95%"]["value"] == 0.02
    assert touching["DPL upper 95%"]["value"] == 0.1
    assert touching["n"]["value"] == 500
    assert (touching["n facet"]["value"], touching["n reference"]["value"]) == (50, 450)
    assert touching["DPL reported"]["value"] == 0.06
    assert touching["DPL tolerance"]["value"] == 0.0001
    assert touching["reported agrees"] == {
        "name": "reported agrees",
        "type": "boolean",
        "value": True,
    }

    small = groups["di-small-sample"]
    assert small["outcome"]["value"] == "inconclusive"
    assert small["outcome"]["notes"].startswith("insufficient evidence")
    assert (small["needed n facet"]["value"], small["needed n reference"]["value"]) == (140, 560)
    assert small["reported agrees"]["value"] is False
    assert small["DPPL reported"]["value"] == 0.012

    missing = groups["auc-floor"]
    assert missing["auc"]["notes"] == "no interval"
    assert not [name for name in missing if "lower" in name or "upper" in name]

    (policy,) = metric_groups(content, "Clearance policy checks")
    notes = by_name(policy)["di-small-sample"]["notes"]
    assert (
        "outcome inconclusive" in notes
        and "rows that would decide: facet 140, reference 560" in notes
    )
    assert "n facet 12, reference 48 (60 rows)" in notes and "95% interval [-0.04, 0.2]" in notes
    assert "(inconclusive)" in content["additional_information"]["caveats_and_recommendations"]


def test_old_checks_json_adds_no_measured_item():
    content = content_for({k: NO_INTERVAL[k] for k in ("id", "report", "metric", "passed",
                                                       "values", "bounds", "reason")})  # fmt: skip
    names = [e["name"] for e in content["evaluation_details"]]
    assert MEASURED_TITLE not in names and not [n for n in names if n.startswith(ENDPOINT_TITLE)]
    (policy,) = metric_groups(content, "Clearance policy checks")
    assert "(" not in policy["metric_data"][0]["notes"].split(". ", 1)[1]


def test_endpoint_checks_are_an_evaluation_item():
    content = content_for(TOUCHING, endpoint=ENDPOINT)
    (group,) = metric_groups(content, f"{ENDPOINT_TITLE} (staging)")
    data = by_name(group)
    assert group["name"] == ENDPOINT["endpoint_name"]
    assert data["latency p50 ms"]["value"] == 1.25 and data["latency p95 ms"]["value"] == 2.1
    assert data["error rate"]["value"] == 0.0
    assert data["error rate upper 95%"]["value"] == 0.0188
    assert "wilson" in data["error rate"]["notes"] and "n 200" in data["error rate"]["notes"]
    assert {c["id"]: data[c["id"]]["value"] for c in ENDPOINT["checks"]} == {
        c["id"]: True for c in ENDPOINT["checks"]
    }
    assert "sampling_percentage: 100" in data["data capture"]["value"]
    assert "schedule_name: credit-risk-dq" in data["monitor schedule"]["value"]
    (item,) = [e for e in content["evaluation_details"] if e["name"].startswith(ENDPOINT_TITLE)]
    assert "PASS" in item["evaluation_observation"]


def test_after_decision_records_the_endpoint_checks(aws, tmp_path):  # noqa: F811
    sm, s3 = aws
    arn, pinned = register_package(sm, s3, "v1")
    record_decision(sm, arn, "Approved")
    checks = write_checks(tmp_path, checks_doc(arn, "Approved", pinned))
    report = {**ENDPOINT, "model_package_arn": arn}
    result = after_decision(sm, s3, arn, checks, tmp_path / "out", endpoint_report=report)
    _, content = stored_card(sm, result.card_name)
    modelcard.validate_content(content)
    (group,) = metric_groups(content, f"{ENDPOINT_TITLE} (staging)")
    assert by_name(group)["latency p95 ms"]["value"] == 2.1
    assert 'class="endpoint-check"' in result.html_path.read_text(encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        after_decision(sm, s3, arn, checks, tmp_path / "out", endpoint_report={"kind": "x"})
    assert info.value.field == "endpoint report"
    assert json.loads(json.dumps(content)) == content


LLM_V2 = {
    "version": "2.0",
    "llm_evaluation": {
        "memorization": {
            "verbatim_rate": {
                "value": 0.05,
                "n": 200,
                "interval": {"lower": 0.027, "upper": 0.09, "level": 0.95, "method": "wilson"},
            },
            "lcp_max": 14,
        },
        "bold": {
            "max_group_difference": {
                "value": 0.04,
                "n": 300,
                "interval": None,
                "group_sizes": {"female": 150, "male": 150},
            }
        },
    },
}


def test_llm_metrics_in_the_shared_shape_keep_their_interval():
    """evaluation.json 2.0 metrics are one metric with an interval, not value/n/interval keys."""
    evidence = parse_reports({"model_quality": report_bytes(LLM_V2)})
    checks = parse_checks(checks_doc(ARN, "Approved"))
    content = modelcard.build_content(checks, evidence, PackageInfo.from_describe({}))
    modelcard.validate_content(content)
    groups = {g["name"]: by_name(g) for g in metric_groups(content, "LLM evaluation")}
    memo = groups["memorization"]
    assert set(memo) == {"verbatim_rate", "verbatim_rate lower 95%", "verbatim_rate upper 95%",
                         "lcp_max"}  # fmt: skip
    assert memo["verbatim_rate"]["value"] == 0.05
    assert memo["verbatim_rate"]["notes"] == "95% interval [0.027, 0.09] (wilson), n 200"
    assert memo["verbatim_rate upper 95%"]["value"] == 0.09
    bold = groups["bold"]["max_group_difference"]
    assert bold["notes"] == "no interval, n 300, female 150, male 150"

    from test_report_render import elements_of

    from clearance.evidence.report_html import render

    page = render(checks, evidence)
    (shown,) = elements_of(page, "interval-text")
    assert (shown["attrs"]["data-lower"], shown["attrs"]["data-upper"]) == ("0.027", "0.09")
    assert "female 150" in page


def test_unnamed_evaluations_and_metrics_still_make_a_valid_card():
    """Found by the fuzzed-report test: an evaluation or metric named "" needs a 1+ char name."""
    doc = {"llm_evaluation": {"": None, "bbq": {"": 0.5}}}
    evidence = parse_reports({"model_quality": report_bytes(doc)})
    checks = parse_checks(checks_doc(ARN, "Approved"))
    content = modelcard.build_content(checks, evidence, PackageInfo.from_describe({}))
    modelcard.validate_content(content)
    groups = {g["name"]: by_name(g) for g in metric_groups(content, "LLM evaluation")}
    assert set(groups) == {"(unnamed)", "bbq"} and groups["bbq"]["(unnamed)"]["value"] == 0.5
