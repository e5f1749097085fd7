"""Recording the endpoint results on the package (tags) and reading them back for promotion."""

from __future__ import annotations

from typing import Any

from clearance.deploy.report import KIND, PASS, TAG_PREFIX, EndpointReport


def package_tags(report: EndpointReport) -> list[dict[str, str]]:
    """The ``clearance-endpoint:*`` tags (values within the tag charset and 256 characters)."""
    failed = " ".join(c["id"] for c in report.checks if c["outcome"] != PASS) or "none"
    return [
        {"Key": f"{TAG_PREFIX}{report.stage}-outcome", "Value": report.outcome},
        {"Key": f"{TAG_PREFIX}{report.stage}-endpoint", "Value": report.endpoint_name[:256]},
        {"Key": f"{TAG_PREFIX}{report.stage}-p95-ms", "Value": str(report.latency_ms.get("p95"))},
        {"Key": f"{TAG_PREFIX}{report.stage}-failed", "Value": failed[:256]},
        {"Key": f"{TAG_PREFIX}{report.stage}-checked-at", "Value": report.checked_at},
        {
            "Key": f"{TAG_PREFIX}policy",
            "Value": f"{report.policy['id']}@{report.policy['version']}",
        },
    ]


def record_on_package(sm: Any, report: EndpointReport) -> list[dict[str, str]]:
    """Tag the package with the results (AddTags does not change LastModifiedBy)."""
    tags = package_tags(report)
    sm.add_tags(ResourceArn=report.model_package_arn, Tags=tags)
    return tags


def staging_report_passed(doc: Any, package_arn: str) -> tuple[bool, str]:
    """Production promotion's precondition from the TestStaging report (the pipeline artifact):
    a staging report of this package whose every check passed."""
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("stage") != "staging":
        return False, "the staging report is not a kind: endpoint, stage: staging document"
    if doc.get("model_package_arn") != package_arn:
        return False, f"the staging report is for {str(doc.get('model_package_arn'))[:160]}"
    checks = doc.get("checks") or []
    failed = [c.get("id") for c in checks if c.get("outcome") != PASS]
    if not checks or failed or doc.get("outcome") != PASS:
        return False, f"staging checks failed: {' '.join(map(str, failed)) or 'no checks'}"
    return True, f"staging checks passed ({doc.get('endpoint_name')})"


def staging_passed(sm: Any, package_arn: str) -> tuple[bool, str]:
    """Production promotion's precondition: the package's staging checks passed."""
    try:
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=package_arn)["Tags"]}
    except Exception as exc:  # noqa: BLE001
        return False, f"the package's tags cannot be read ({str(exc)[:200]})"
    outcome = tags.get(f"{TAG_PREFIX}staging-outcome")
    if outcome != PASS:
        failed = tags.get(f"{TAG_PREFIX}staging-failed", "")
        what = "no staging result" if outcome is None else f"staging checks failed: {failed}"
        return False, what
    return True, f"staging checks passed ({tags.get(f'{TAG_PREFIX}staging-endpoint')})"
