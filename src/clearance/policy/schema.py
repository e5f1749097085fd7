"""The policy document as pydantic models: the validation entry point and the JSON Schema.

`PolicyDocument` and `OverrideDocument` are what `load_policy` and `load_override` validate a
parsed YAML document with. Their `mode="before"` validators run the field checks of
:mod:`clearance.policy.rules` first, so every invalid policy still fails with the same one-line
``<rule>.<field>: <problem>. <fix>`` (PolicyError, unwrapped from pydantic's ValidationError by
`validate_policy`/`validate_override`); the typed fields then give pydantic's structural check and
the JSON Schema editors use (`clearance policy schema`, shipped as policies/policy.schema.json and
referenced from default.yaml with a yaml-language-server comment).

The models accept exactly what the minimum contract accepts (an unquoted `facet_value: 1`, integer
bounds, `applies_to` as one kind or a list), plus the extensions: `decide_on`, `min_group_size`,
`champion`, `on_inconclusive` (docs/policy.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from clearance.contract.reports import MODEL_KINDS, REPORT_KINDS
from clearance.policy.model import (
    DECIDE_ON,
    GROUP_NAME_PATTERN,
    ON_INCONCLUSIVE,
    POLICIES_DIR,
    POLICY_ID_PATTERN,
    RULE_ID_PATTERN,
    PolicyError,
)

SCHEMA_PATH = POLICIES_DIR / "policy.schema.json"
ReportKind = Literal[REPORT_KINDS]  # type: ignore[valid-type]
ModelKind = Literal[MODEL_KINDS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Champion(_Strict):
    """Compare with the group's currently Approved package (one of the two keys)."""

    max_drop: float | None = Field(None, ge=0, description="value >= champion - max_drop")
    max_rise: float | None = Field(None, ge=0, description="value <= champion + max_rise")


class RuleDocument(_Strict):
    """One inclusive bound on one metric of one report kind."""

    model_config = ConfigDict(title="Rule")

    id: str = Field(pattern=RULE_ID_PATTERN.pattern, description="unique within the policy")
    report: ReportKind
    metric: str = Field(min_length=1, description="Clarify metric, feature, or quality metric")
    facet: str | None = Field(None, description="bias reports only: the facet column")
    facet_value: str | int | None = Field(None, description='bias only, as Clarify writes it: "1"')
    label: str | None = Field(None, description="explainability only: the label")
    min: float | None = None
    max: float | None = None
    abs_max: float | None = Field(None, ge=0)
    description: str | None = None
    applies_to: ModelKind | list[ModelKind] | None = None
    decide_on: Literal[DECIDE_ON] | None = Field(  # type: ignore[valid-type]
        None, description="interval: decide on the recomputed 95% interval (default point)"
    )
    min_group_size: int | None = Field(None, ge=1, description="fewer rows: inconclusive")
    champion: Champion | None = None


class RemoveRule(_Strict):
    id: str
    reason: str = Field(min_length=1, description="why this group is exempt")


class OverrideDocument(_Strict):
    """Per-model-package-group changes: rules replaced/added by id, or removed with a reason."""

    model_config = ConfigDict(title="Override")

    version: int | str
    id: str | None = Field(None, pattern=POLICY_ID_PATTERN.pattern)
    description: str | None = None
    rules: list[RuleDocument] | None = None
    remove_rules: list[RemoveRule] | None = None

    @model_validator(mode="before")
    @classmethod
    def _contract_wording(cls, data: Any, info: ValidationInfo) -> Any:
        context = info.context if isinstance(info.context, dict) else {}
        if context.get("nested") or "check_override" not in context:
            return data  # checked by the policy that holds it
        context["override"] = context["check_override"](data)
        return data


class PolicyDocument(_Strict):
    """A Clearance approval policy (the minimum contract plus its documented extensions)."""

    model_config = ConfigDict(
        title="Clearance approval policy",
        json_schema_extra={"$id": "https://clearance.invalid/policy.schema.json"},
    )

    version: int | str = Field(description="raise on every change; recorded with each decision")
    id: str | None = Field(None, pattern=POLICY_ID_PATTERN.pattern)
    description: str | None = None
    rules: list[RuleDocument] = Field(min_length=1)
    overrides: dict[str, OverrideDocument] | None = Field(
        None, description=f"per model package group ({GROUP_NAME_PATTERN.pattern})"
    )
    on_inconclusive: Literal[ON_INCONCLUSIVE] | None = Field(  # type: ignore[valid-type]
        None, description="reject (default, fail closed) or pending (left for a human)"
    )
    min_group_size: int | None = Field(None, ge=1, description="default for every rule")

    @model_validator(mode="before")
    @classmethod
    def _contract_wording(cls, data: Any, info: ValidationInfo) -> Any:
        context = info.context if isinstance(info.context, dict) else {}
        if "check_policy" in context:
            context["policy"] = context["check_policy"](data)
        context["nested"] = True
        return data


def _unwrap(exc: ValidationError) -> PolicyError:
    """The PolicyError a validator raised, else pydantic's first error in our one-line form."""
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, PolicyError):
            return cause
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "document"
    return PolicyError(where, first.get("msg", "invalid"), "See docs/policy.md")


def validate_policy(doc: Any, check: Callable[[Any], Any]) -> Any:
    """Validate a parsed policy document with the models; CHECK (the loader's field checks, which
    build the Policy) runs first inside them. Returns the Policy or raises PolicyError."""
    context: dict[str, Any] = {"check_policy": check}
    try:
        PolicyDocument.model_validate(doc, context=context)
    except ValidationError as exc:
        raise _unwrap(exc) from None
    return context["policy"]


def validate_override(doc: Any, check: Callable[[Any], Any]) -> Any:
    """As validate_policy, for an override document; returns the PolicyOverride."""
    context: dict[str, Any] = {"check_override": check}
    try:
        OverrideDocument.model_validate(doc, context=context)
    except ValidationError as exc:
        raise _unwrap(exc) from None
    return context["override"]


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file."""
    schema = PolicyDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
