"""SageMaker Model Card for a decided model package: content, validation, create-or-update.

The content follows the model card JSON schema as sagemaker-core mirrors it
(`sagemaker/core/shapes/model_card_shapes.py`). We stay inside the fields that mirror knows, so the
same content is valid for the full ModelCard schema and the mirror can validate it offline.

Card status follows the decision:

* Approved -> "Approved": every policy check passed; the card documents a model cleared for
  production.
* Rejected -> "PendingReview": the card is complete (so not "Draft"), but the model is not
  approved, and a rejection is exactly the point where a person reviews the evidence: fix and
  register a new version, or override in the registry. "Archived" would freeze the card ("no more
  updates should be made") although the registry still lets a reviewer overturn the rejection,
  and "Approved" would read as a sign-off of a model that failed its policy.

An "Archived" card is never touched again, whatever the decision.

Modules: :mod:`.card_limits` (limits, card name), :mod:`.card_content` (build),
:mod:`.card_validate` (validate), :mod:`.card_store` (create or update); re-exported here.
"""

from __future__ import annotations

from clearance.evidence.card_content import build_content
from clearance.evidence.card_limits import (
    ARCHIVED,
    CARD_STATUS,
    CONTENT_MAX_CHARS,
    card_name_for,
)
from clearance.evidence.card_store import CardWrite, upsert_model_card
from clearance.evidence.card_validate import validate_content

__all__ = [
    "ARCHIVED",
    "CARD_STATUS",
    "CONTENT_MAX_CHARS",
    "CardWrite",
    "build_content",
    "card_name_for",
    "upsert_model_card",
    "validate_content",
]
