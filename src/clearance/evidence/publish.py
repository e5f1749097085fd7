"""after_decision: the model card and HTML report for a decision already in the registry."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.evidence import modelcard, report_html
from clearance.evidence.checks_view import load_checks_file
from clearance.evidence.common import EvidenceError
from clearance.evidence.endpoint_view import parse_endpoint
from clearance.evidence.package import PackageInfo, fetch_evidence_reports
from clearance.evidence.parse import parse_reports

LOG = logging.getLogger(__name__)


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
    endpoint_report: Mapping[str, Any] | None = None,
) -> EvidenceResult:
    """Create or update the package's model card and write its HTML report; returns where both went.

    Raises EvidenceError (one line) for a checks.json that does not belong to `package_arn` or is
    malformed; AWS errors other than the card already existing propagate: the caller's step fails
    loudly rather than leaving a decision without its evidence.

    ENDPOINT_REPORT: the staging endpoint checks' report (``EndpointReport.to_json()``), added to
    the card and the page after a deploy; a document that is not one is an EvidenceError.
    """
    endpoint = None
    if endpoint_report is not None:
        try:
            endpoint = parse_endpoint(endpoint_report)
        except ValueError as exc:
            raise EvidenceError(
                "endpoint report", str(exc), "pass the JSON `clearance endpoint-check` wrote"
            ) from None
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

    content = modelcard.build_content(checks, evidence, package, endpoint)
    html_path = Path(out_dir) / f"{modelcard.card_name_for(package)}.html"
    try:
        card = modelcard.upsert_model_card(sm, package, checks, content)
    except Exception:
        # The page needs nothing from the registry: leave it for the reader, then fail loudly.
        report_html.write_report(html_path, checks, evidence, package=package, endpoint=endpoint)
        raise
    report_html.write_report(
        html_path, checks, evidence, package=package, card=card, endpoint=endpoint
    )
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
