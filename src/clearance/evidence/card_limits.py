"""Model card limits (botocore and the ModelCardContent schema) and the card's name."""

from __future__ import annotations

import hashlib
import re

from clearance.contract.status import APPROVED, REJECTED
from clearance.evidence.package import PackageInfo

CARD_STATUS = {APPROVED: "Approved", REJECTED: "PendingReview"}
ARCHIVED = "Archived"

# Limits of the model card JSON schema and the CreateModelCard API (botocore service model).
CONTENT_MAX_CHARS = 100_000
NAME_MAX = 63  # EntityName, and metric group / evaluation names (pattern .{1,63})
METRIC_NAME_MAX = 255
NOTES_MAX = 1024
TEXT_1024 = 1024
TEXT_2048 = 2048
OBSERVATION_MAX = 2096
MODEL_ARTIFACT_MAX_ITEMS = 15
CUSTOM_VALUE_MAX = 1024
SHAP_MAX_FEATURES = 100  # keeps one card far below CONTENT_MAX_CHARS even with long feature names
_ENTITY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_METADATA_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

PROBLEM_TYPES = {"binary_classification": "Binary Classification", "regression": "Regression"}
KIND_TITLES = {
    "bias_pre_training": "Clarify pre-training bias",
    "bias_post_training": "Clarify post-training bias",
    "explainability": "Clarify explainability (SHAP)",
    "model_quality": "Model quality",
    "llm_evaluation": "LLM evaluation",
}


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_name_for(package: PackageInfo) -> str:
    """Deterministic card name `<group>-<version>`; past 63 chars, shortened + digest suffix."""
    base = f"{package.group}-{package.version}" if package.group else package.name
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "model-package"
    if _ENTITY_NAME.match(base) and len(base) <= NAME_MAX:
        return base
    suffix = "-" + hashlib.sha256(package.arn.encode()).hexdigest()[:8]
    if package.version is not None:
        suffix = f"-{package.version}{suffix}"
    head = base[: NAME_MAX - len(suffix)].rstrip("-")
    return re.sub(r"-{2,}", "-", f"{head}{suffix}")
