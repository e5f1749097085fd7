"""The policy model: Rule, Policy, PolicyOverride, PolicyError, and their keys and patterns."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.contract import fmt
from clearance.contract.errors import ClearanceError
from clearance.contract.reports import BIAS_KINDS

# The shipped, documented default policy and the per-group overrides directory beside it.
POLICIES_DIR = Path(__file__).resolve().parent / "policies"
DEFAULT_POLICY_PATH = POLICIES_DIR / "default.yaml"
OVERRIDES_DIR = POLICIES_DIR / "overrides"

# Rule ids end up in the registry's CustomerMetadataProperties ("clearance:failed-checks"), whose
# value pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]* (no commas): keep ids to a conservative subset and
# short enough to list.
RULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Policy ids and versions are also written as metadata values (same character set, <= 256).
POLICY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+=/-]{0,99}$")
# "clearance:failed-checks" holds "none" when nothing failed: the API rejects an empty value.
RESERVED_RULE_IDS = frozenset({"none"})
# Model package group names: 1-63 characters of [a-zA-Z0-9-] (SageMaker's EntityName pattern).
GROUP_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

RULE_KEYS = (
    "id",
    "report",
    "metric",
    "facet",
    "facet_value",
    "label",
    "min",
    "max",
    "abs_max",
    "description",
    "applies_to",
    "decide_on",
    "min_group_size",
    "champion",
)
BOUND_KEYS = ("min", "max", "abs_max")
POLICY_KEYS = (
    "version",
    "id",
    "description",
    "rules",
    "overrides",
    "on_inconclusive",
    "min_group_size",
)
# Extensions of issue 10 (docs/policy.md): what a rule decides on, what an undecided rule does.
DECIDE_ON = ("point", "interval")
ON_INCONCLUSIVE = ("reject", "pending")
CHAMPION_KEYS = ("max_drop", "max_rise")
OVERRIDE_KEYS = ("version", "id", "description", "rules", "remove_rules")
REMOVE_KEYS = ("id", "reason")


class PolicyError(ClearanceError, ValueError):
    """An invalid policy. ``str()`` is ``<rule id or 'policy'>.<field>: <problem>. <fix>``."""

    def __init__(self, field: str, problem: str, fix: str, *, rule: str | None = None) -> None:
        self.rule = rule or "policy"
        super().__init__(field, problem, fix)
        # The rule names where the problem is: "<rule>.<field>: <problem>. <fix>".
        Exception.__init__(self, f"{self.rule}.{field}: {problem}. {fix}")


@dataclass(frozen=True)
class Rule:
    """One bound on one metric of one report kind. Bounds are inclusive; None means unbounded."""

    id: str
    report: str
    metric: str
    facet: str | None = None
    facet_value: str | None = None
    label: str | None = None
    min: float | None = None
    max: float | None = None
    abs_max: float | None = None
    description: str | None = None
    # Extension: the model kinds the rule applies to (None: every package). See MODEL_KINDS.
    applies_to: tuple[str, ...] | None = None
    # Extensions (issue 10): "interval" decides on the recomputed 95 % interval (None: point);
    # groups below min_group_size rows make the rule inconclusive; champion compares with the
    # group's currently Approved package: {"max_drop": d} (value >= champion - d) or
    # {"max_rise": r} (value <= champion + r).
    decide_on: str | None = None
    min_group_size: int | None = None
    champion: tuple[tuple[str, float], ...] | None = None

    @property
    def champion_limit(self) -> tuple[str, float] | None:
        return self.champion[0] if self.champion else None

    def ignored_keys(self) -> tuple[str, ...]:
        """Selection keys set on a rule whose report does not use them."""
        keys = []
        if self.report not in BIAS_KINDS:
            keys += [k for k in ("facet", "facet_value") if getattr(self, k) is not None]
        if self.report != "explainability" and self.label is not None:
            keys.append("label")
        return tuple(keys)

    def applies(self, model_kind: str | None) -> bool:
        """Unknown kind (None) means every rule applies: doubt never removes a check."""
        return self.applies_to is None or model_kind is None or model_kind in self.applies_to

    @property
    def bounds(self) -> dict[str, float | None]:
        """The bounds in checks.json's shape."""
        return {"min": self.min, "max": self.max, "abs_max": self.abs_max}

    def within(self, value: float) -> bool:
        """True when a finite ``value`` satisfies every bound (inclusive)."""
        if not math.isfinite(value):
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return self.abs_max is None or abs(value) <= self.abs_max

    def describe_bounds(self) -> str:
        """Human form, e.g. ``-0.5 <= v <= 0.8, |v| <= 0.8``."""
        return fmt.bounds_expression(self.bounds)

    def to_dict(self) -> dict[str, Any]:
        """The rule as policy YAML would write it (unset optional keys omitted)."""
        out: dict[str, Any] = {"id": self.id, "report": self.report, "metric": self.metric}
        for key in ("facet", "facet_value", "label", "min", "max", "abs_max", "description"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.applies_to is not None:
            out["applies_to"] = list(self.applies_to)
        for key in ("decide_on", "min_group_size"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.champion is not None:
            out["champion"] = dict(self.champion)
        return out


@dataclass(frozen=True)
class PolicyOverride:
    """Per-model-package-group changes: rules replaced/added by id, or removed with a reason."""

    group: str
    version: int | str
    rules: tuple[Rule, ...] = ()
    remove_rules: tuple[tuple[str, str], ...] = ()
    id: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``sha256`` identifies the effective rules (:meth:`canonical_json`)."""

    id: str
    version: int | str
    rules: tuple[Rule, ...]
    description: str | None = None
    overrides: Mapping[str, PolicyOverride] = field(default_factory=dict, compare=False, hash=False)
    source: str = "inline"
    # Extensions (issue 10): an inconclusive rule rejects (default, fail-closed) or leaves the
    # package pending for a human; the default min_group_size of every rule.
    on_inconclusive: str | None = None
    min_group_size: int | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Keys that have no effect on their rule's report (accepted, ignored, worth a look)."""
        out = []
        for rule in self.rules:
            for key in rule.ignored_keys():
                out.append(f"{rule.id}.{key}: does not apply to {rule.report} reports; ignored")
        return tuple(out)

    @property
    def sha256(self) -> str:
        """Digest of the canonical JSON of id, version and rules: stable across comments and
        formatting.
        """
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def canonical_json(self) -> str:
        doc = {
            "id": self.id,
            "version": self.version,
            "rules": [rule.to_dict() for rule in self.rules],
        }
        # Only when set, so the digest of a policy without the extensions does not change.
        for key in ("on_inconclusive", "min_group_size"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def summary(self) -> dict[str, Any]:
        """checks.json's ``policy`` object."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


_fmt = fmt.number
