"""CustomerMetadataProperties keys (a contract between the team repo, the approval and the
evidence tools) and the sanitiser that fits any value to the API's charset.

botocore: a CustomerMetadataValue is 1-256 characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` (no
commas, hence space-separated lists); a package carries at most 50 entries.
"""

from __future__ import annotations

import re
from typing import Any

# Written by the team repo's pipeline at registration (pipelines/<module>/pipeline.py
# customer_metadata; the LLM variant writes "n/a" for label and facet).
TEAM_PROJECT = "team:project"
TEAM_DESCRIPTION = "team:description"
TEAM_PROBLEM_TYPE = "team:problem-type"
TEAM_LABEL = "team:label"
# The facet COLUMN name (the disadvantaged group's value is in the Clarify report itself).
TEAM_FACET = "team:facet"
TEAM_MODEL_TYPE = "team:model-type"
TEAM_KEYS: tuple[str, ...] = (
    TEAM_PROJECT,
    TEAM_DESCRIPTION,
    TEAM_PROBLEM_TYPE,
    TEAM_LABEL,
    TEAM_FACET,
    TEAM_MODEL_TYPE,
)
TEAM_PREFIX = "team:"

# Written by the approval (clearance.registry.apply_decision).
DECISION = "clearance:decision"
POLICY_ID = "clearance:policy-id"
POLICY_VERSION = "clearance:policy-version"
POLICY_SHA256 = "clearance:policy-sha256"
CHECKS_SHA256 = "clearance:checks-sha256"
DECIDED_AT = "clearance:decided-at"
FAILED_CHECKS = "clearance:failed-checks"
CLEARANCE_KEYS: tuple[str, ...] = (
    DECISION,
    POLICY_ID,
    POLICY_VERSION,
    POLICY_SHA256,
    CHECKS_SHA256,
    DECIDED_AT,
    FAILED_CHECKS,
)
CLEARANCE_PREFIX = "clearance:"
# Where the governance-held checks.json of the decision is, and the S3 version the decision pinned
# (written by the Update step with --publish-checks-prefix; the deploy gate reads them).
CHECKS_URI = "clearance:checks-uri"
CHECKS_VERSION_ID = "clearance:checks-version-id"
CHECKS_LOCATION_KEYS: tuple[str, ...] = (CHECKS_URI, CHECKS_VERSION_ID)

MAX_VALUE = 256
MAX_ENTRIES = 50
_DISALLOWED = re.compile(r"[^\w .:/=+\-@]")


def sanitise(value: Any) -> str:
    """Fit the API's value pattern and length: unknown characters become '-', empty becomes '-'."""
    text = _DISALLOWED.sub("-", str(value)) or "-"
    return text[:MAX_VALUE]


def team_value(text: str) -> str:
    """A free-text team value: unknown characters become spaces, whitespace collapses."""
    cleaned = _DISALLOWED.sub(" ", text)
    return " ".join(cleaned.split())[:MAX_VALUE] or "-"
