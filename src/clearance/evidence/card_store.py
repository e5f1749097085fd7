"""Create or update a package's model card (idempotent; an Archived card is left alone)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from clearance.evidence.card_limits import ARCHIVED, CARD_STATUS, card_name_for
from clearance.evidence.checks_view import ChecksView
from clearance.evidence.common import EvidenceError
from clearance.evidence.package import PackageInfo

# The logger name the module had before the split (log filters and tests rely on it).
LOG = logging.getLogger("clearance.evidence.modelcard")


# --------------------------------------------------------------------------------------------------
# Registry calls


@dataclass(frozen=True)
class CardWrite:
    name: str
    arn: str
    version: int | None
    status: str
    action: str


def _fingerprint(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, allow_nan=False)


def upsert_model_card(
    sm: Any, package: PackageInfo, checks: ChecksView, content: dict[str, Any]
) -> CardWrite:
    """Create the card, or update it when its content or status differs; idempotent on re-runs.

    UpdateModelCard may not change content and status in one call (API reference), so an update
    sends content first, then status. moto 5.2.5 instead stores exactly the fields a call sends (a
    content-only update leaves the status null, and the reverse), so after writing we read the card
    back and, only if a field went missing, send both in one call — accepted by the stand-in, never
    needed against SageMaker. The read-back also proves what the registry now holds.
    """
    from botocore.exceptions import ClientError

    name = card_name_for(package)
    status = CARD_STATUS[checks.decision]
    body = json.dumps(content, allow_nan=False)
    try:
        current = sm.describe_model_card(ModelCardName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "ResourceNotFound",
            "ResourceNotFoundException",
        ):
            raise
        current = None

    if current is None:
        arn = sm.create_model_card(
            ModelCardName=name,
            Content=body,
            ModelCardStatus=status,
            Tags=[{"Key": "clearance:model-package-arn", "Value": package.arn[:256]}],
        )["ModelCardArn"]
        action = "created"
    elif current.get("ModelCardStatus") == ARCHIVED:
        LOG.warning("model card %s is Archived; left unchanged", name)
        return CardWrite(
            name,
            current["ModelCardArn"],
            current.get("ModelCardVersion"),
            ARCHIVED,
            "archived-left-alone",
        )
    else:
        same_content = _same_content(current.get("Content"), content)
        same_status = current.get("ModelCardStatus") == status
        if same_content and same_status:
            return CardWrite(
                name, current["ModelCardArn"], current.get("ModelCardVersion"), status, "unchanged"
            )
        if not same_content:
            sm.update_model_card(ModelCardName=name, Content=body)
        if not same_status:
            sm.update_model_card(ModelCardName=name, ModelCardStatus=status)
        arn, action = current["ModelCardArn"], "updated"

    stored = sm.describe_model_card(ModelCardName=name)
    if not (
        _same_content(stored.get("Content"), content) and stored.get("ModelCardStatus") == status
    ):
        LOG.info("model card %s lost a field on a partial update (stand-in); rewriting both", name)
        sm.update_model_card(ModelCardName=name, Content=body, ModelCardStatus=status)
        stored = sm.describe_model_card(ModelCardName=name)
        if not (
            _same_content(stored.get("Content"), content)
            and stored.get("ModelCardStatus") == status
        ):
            raise EvidenceError(
                f"model card {name}",
                "the registry does not hold what was written",
                "check the SageMaker endpoint",
            )
    return CardWrite(name, arn, stored.get("ModelCardVersion"), status, action)


def _same_content(stored: Any, content: dict[str, Any]) -> bool:
    if not isinstance(stored, str):
        return False
    try:
        return _fingerprint(json.loads(stored)) == _fingerprint(content)
    except ValueError:
        return False
