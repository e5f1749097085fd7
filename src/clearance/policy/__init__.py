"""Approval policy as code: parse, validate and resolve the YAML policy registry admins own.

The minimum contract (issue 3, section 1) is accepted exactly as written::

    version: 1
    rules:
      - id: treatment-equity
        report: bias_post_training
        metric: TE
        facet: gender
        facet_value: "F"
        min: -0.5
        max: 0.8
        abs_max: 0.8

Extensions (all optional, none changes the meaning of the contract above):

- top level ``id`` (default: the file's stem, or ``inline``) and ``description``;
- per rule ``description`` (why the bound exists; shown in reports);
- top level ``overrides``: ``{<group>: {version, description, rules, remove_rules}}``, so one
  policy object (the approval pipeline's ``PolicyS3Uri``) can carry per-model-package-group
  overrides; the same shape can also live in ``policies/overrides/<group>.yaml``
  (see :func:`resolve_policy`).

Validation is strict because a policy that silently means something else approves models it should
not: unknown keys, duplicate keys, wrong types, rules without bounds, unsatisfiable bounds and
duplicate ids are errors that name the rule and the field and say how to fix it. Nothing is
evaluated with an invalid policy.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clearance.contract import fmt
from clearance.contract.errors import ClearanceError
from clearance.contract.reports import BIAS_KINDS, BIAS_METRICS, MODEL_KINDS, REPORT_KINDS

__all__ = [
    "DEFAULT_POLICY_PATH",
    "OVERRIDES_DIR",
    "Policy",
    "PolicyError",
    "PolicyOverride",
    "Rule",
    "load_default_policy",
    "load_override",
    "load_overrides_dir",
    "load_policy",
    "resolve_policy",
]

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
)
BOUND_KEYS = ("min", "max", "abs_max")
POLICY_KEYS = ("version", "id", "description", "rules", "overrides")
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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys.

    PyYAML silently keeps the last one, and a policy with two ``max:`` lines would mean
    something its author did not read.
    """


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            raise PolicyError(
                "yaml",
                f"unhashable mapping key at line {key_node.start_mark.line + 1}",
                "Use plain strings as keys",
            ) from None
        if duplicate:
            rule_id = next(
                (
                    v.value
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode)
                    and k.value == "id"
                    and isinstance(v, yaml.ScalarNode)
                ),
                None,
            )
            raise PolicyError(
                str(key),
                f"duplicate key at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key].start_mark.line + 1})",
                "Keep one of them",
                rule=rule_id,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except PolicyError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise PolicyError(
            "yaml", f"not valid YAML{where} ({problem})", "Fix the YAML syntax"
        ) from None
    except RecursionError:
        raise PolicyError("yaml", "nested too deeply", "Write a flat policy document") from None


def load_default_policy() -> Policy:
    """The shipped default policy (``clearance/policy/policies/default.yaml``)."""
    return load_policy(DEFAULT_POLICY_PATH)


def load_policy(path_or_text: str | Path, *, policy_id: str | None = None) -> Policy:
    """Load and validate a policy from a file path or from YAML text.

    A ``Path``, or a one-line string naming an existing file or ending in ``.yaml``/``.yml``, is
    read as a file; anything else is parsed as YAML text. Raises :class:`PolicyError` for every
    invalid form.
    """
    text, source, stem = _read_source(path_or_text)
    doc = _parse_yaml(text)
    return _build_policy(doc, source=source, default_id=policy_id or stem or "inline")


def _read_source(path_or_text: str | Path) -> tuple[str, str, str | None]:
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and (
            path_or_text.endswith((".yaml", ".yml", ".json")) or Path(path_or_text).is_file()  # noqa: PTH113
        )
    ):
        path = Path(path_or_text)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise PolicyError(
                "file", f"{path} does not exist", "Pass the path of a policy YAML file"
            ) from None
        except OSError as exc:
            raise PolicyError(
                "file", f"cannot read {path} ({exc.strerror or exc})", "Check the path"
            ) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PolicyError("file", f"{path} is not UTF-8 text", "Save it as UTF-8") from None
        return text, str(path), path.stem
    if not isinstance(path_or_text, str):
        raise PolicyError("file", "expected a path or YAML text", "Pass a policy file path")
    return path_or_text, "inline", None


def _build_policy(doc: Any, *, source: str, default_id: str) -> Policy:
    if not isinstance(doc, dict):
        raise PolicyError(
            "document",
            f"expected a mapping with 'version' and 'rules', got {_type_name(doc)}",
            "Start the file with 'version: 1' and a 'rules:' list",
        )
    _reject_unknown(doc, POLICY_KEYS, rule=None, where="top-level key")
    version = _parse_version(doc.get("version"), rule=None)
    policy_id = doc.get("id", _safe_id(default_id))
    if not isinstance(policy_id, str) or not POLICY_ID_PATTERN.match(policy_id):
        raise PolicyError(
            "id",
            f"{policy_id!r} is not a valid policy id",
            "Use 1-100 letters, digits and _ . : @ + = / - starting with a letter or digit",
        )
    description = _optional_str(doc, "description", rule=None)
    rules = _parse_rules(doc.get("rules"), rule_context=None, allow_empty=False)
    overrides_raw = doc.get("overrides")
    overrides: dict[str, PolicyOverride] = {}
    if overrides_raw is not None:
        if not isinstance(overrides_raw, dict):
            raise PolicyError(
                "overrides",
                f"expected a mapping of model package group name to override, got "
                f"{_type_name(overrides_raw)}",
                "Write 'overrides: {<group name>: {version: 1, rules: [...]}}'",
            )
        for group, body in overrides_raw.items():
            overrides[str(group)] = _build_override(body, group=group, source=source)
    return Policy(
        id=policy_id,
        version=version,
        rules=rules,
        description=description,
        overrides=overrides,
        source=source,
    )


def _safe_id(stem: str) -> str:
    """Turn a file stem into a policy id that fits the metadata value pattern."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:@+=/-]", "-", stem).strip("-_.") or "inline"
    return cleaned[:100]


def _parse_version(value: Any, *, rule: str | None) -> int | str:
    if value is None:
        raise PolicyError(
            "version",
            "missing",
            "Add 'version: 1' (an integer you raise on every change)",
            rule=rule,
        )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(
            "version",
            f"expected an integer, got {_type_name(value)}",
            "Write e.g. 'version: 1'",
            rule=rule,
        )
    if isinstance(value, int) and value < 1:
        raise PolicyError("version", f"{value} is not positive", "Use an integer >= 1", rule=rule)
    if isinstance(value, str) and not POLICY_ID_PATTERN.match(value):
        raise PolicyError(
            "version",
            f"{value!r} is not a valid version",
            "Use an integer, or a short string of letters, digits and . - _",
            rule=rule,
        )
    return value


def _parse_rules(raw: Any, *, rule_context: str | None, allow_empty: bool) -> tuple[Rule, ...]:
    if raw is None:
        if allow_empty:
            return ()
        raise PolicyError(
            "rules", "missing", "Add a 'rules:' list with at least one rule", rule=rule_context
        )
    if not isinstance(raw, list):
        raise PolicyError(
            "rules",
            f"expected a list, got {_type_name(raw)}",
            "Write 'rules:' followed by '- id: ...' items",
            rule=rule_context,
        )
    if not raw and not allow_empty:
        # An empty policy would approve every model: refuse rather than wave everything through.
        raise PolicyError(
            "rules",
            "empty: a policy without rules would approve every model",
            "Add at least one rule",
            rule=rule_context,
        )
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        rule = _parse_rule(item, index)
        if rule.id in seen:
            raise PolicyError(
                "id",
                f"duplicate rule id (rules[{index}])",
                "Give every rule a unique id",
                rule=rule.id,
            )
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _parse_rule(item: Any, index: int) -> Rule:
    label = f"rules[{index}]"
    if not isinstance(item, dict):
        raise PolicyError(
            "rule",
            f"expected a mapping, got {_type_name(item)}",
            "Write each rule as '- id: ...' with report, metric and a bound",
            rule=label,
        )
    raw_id = item.get("id")
    if raw_id is None:
        raise PolicyError("id", "missing", "Give the rule a unique 'id'", rule=label)
    if not isinstance(raw_id, str) or not RULE_ID_PATTERN.match(raw_id):
        raise PolicyError(
            "id",
            f"{raw_id!r} is not a valid rule id",
            "Use 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit",
            rule=label,
        )
    if raw_id in RESERVED_RULE_IDS:
        raise PolicyError("id", f"{raw_id!r} is reserved", "Choose another id", rule=label)
    rid = raw_id
    _reject_unknown(item, RULE_KEYS, rule=rid, where="rule key")

    report = item.get("report")
    if report is None:
        raise PolicyError("report", "missing", f"Set one of: {', '.join(REPORT_KINDS)}", rule=rid)
    if not isinstance(report, str) or report not in REPORT_KINDS:
        raise PolicyError(
            "report",
            f"unknown report kind {report!r}",
            f"Use one of: {', '.join(REPORT_KINDS)}",
            rule=rid,
        )

    metric = item.get("metric")
    if metric is None:
        raise PolicyError("metric", "missing", _metric_hint(report), rule=rid)
    if not isinstance(metric, str) or not metric.strip() or metric != metric.strip():
        raise PolicyError(
            "metric", f"expected a non-empty name, got {metric!r}", _metric_hint(report), rule=rid
        )
    if report in BIAS_KINDS and metric not in BIAS_METRICS[report]:
        raise PolicyError(
            "metric",
            f"{metric!r} is not a Clarify {report} metric",
            f"Use one of: {', '.join(BIAS_METRICS[report])}",
            rule=rid,
        )
    if report == "llm_evaluation":
        parts = metric.split(".")
        if len(parts) < 2 or not all(parts):
            raise PolicyError(
                "metric",
                f"{metric!r} is not '<evaluation>.<metric>'",
                "Write e.g. 'memorization.edit_similarity_max' or 'bold.toxicity_rate'",
                rule=rid,
            )

    facet = _optional_str(item, "facet", rule=rid)
    facet_value = item.get("facet_value")
    if facet_value is not None:
        # Clarify writes value_or_threshold as a string ("1", "F"); YAML reads an unquoted 1 as int.
        if isinstance(facet_value, bool) or not isinstance(facet_value, str | int):
            raise PolicyError(
                "facet_value",
                f"expected a string, got {_type_name(facet_value)}",
                'Quote it as Clarify writes it, e.g. facet_value: "F" or "1"',
                rule=rid,
            )
        facet_value = str(facet_value)
    label_value = _optional_str(item, "label", rule=rid)
    # The contract's own sample puts `label` on a bias rule while documenting it as
    # "explainability only": keys that do not apply to the rule's report are accepted (the contract
    # must load as written), ignored by selection, and reported by Policy.warnings.

    bounds: dict[str, float | None] = {}
    for key in BOUND_KEYS:
        value = item.get(key)
        if value is None:
            bounds[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(
                key,
                f"expected a number, got {_type_name(value)} {value!r}",
                f"Write a plain number, e.g. '{key}: 0.8'",
                rule=rid,
            )
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise PolicyError(
                key, f"{value!r} is not finite", "Use a finite number or omit the bound", rule=rid
            )
        bounds[key] = number
    if all(v is None for v in bounds.values()):
        raise PolicyError(
            "min/max/abs_max",
            "no bound",
            "Set at least one of min, max or abs_max (a rule without bounds checks nothing)",
            rule=rid,
        )
    lo, hi, amax = bounds["min"], bounds["max"], bounds["abs_max"]
    if lo is not None and hi is not None and lo > hi:
        raise PolicyError("min", f"min {_fmt(lo)} > max {_fmt(hi)}", "Make min <= max", rule=rid)
    if amax is not None and amax < 0:
        raise PolicyError(
            "abs_max",
            f"{_fmt(amax)} is negative",
            "abs_max bounds |value|: use a number >= 0",
            rule=rid,
        )
    if amax is not None and lo is not None and lo > amax:
        raise PolicyError(
            "min",
            f"min {_fmt(lo)} > abs_max {_fmt(amax)}: no value can pass",
            "Lower min or raise abs_max",
            rule=rid,
        )
    if amax is not None and hi is not None and hi < -amax:
        raise PolicyError(
            "max",
            f"max {_fmt(hi)} < -abs_max {_fmt(-amax)}: no value can pass",
            "Raise max or raise abs_max",
            rule=rid,
        )
    description = _optional_str(item, "description", rule=rid)
    applies_to = _parse_applies_to(item.get("applies_to"), rule=rid)
    return Rule(
        id=rid,
        report=report,
        metric=metric,
        facet=facet,
        facet_value=facet_value,
        label=label_value,
        min=lo,
        max=hi,
        abs_max=amax,
        description=description,
        applies_to=applies_to,
    )


def _parse_applies_to(raw: Any, *, rule: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    items = [raw] if isinstance(raw, str) else raw
    fix = f"Use one or a list of: {', '.join(MODEL_KINDS)}"
    if not isinstance(items, list) or not items:
        raise PolicyError(
            "applies_to", f"expected a model kind or a list, got {raw!r}", fix, rule=rule
        )
    for item in items:
        if item not in MODEL_KINDS:
            raise PolicyError("applies_to", f"unknown model kind {item!r}", fix, rule=rule)
    if len(set(items)) != len(items):
        raise PolicyError(
            "applies_to", "lists a model kind twice", "List each kind once", rule=rule
        )
    return tuple(items)


def _metric_hint(report: str) -> str:
    if report in BIAS_KINDS:
        return f"Set 'metric' to a Clarify metric name: {', '.join(BIAS_METRICS[report])}"
    if report == "explainability":
        return "Set 'metric' to a feature name from the SHAP report"
    if report == "model_quality":
        return "Set 'metric' to a Model Monitor metric such as accuracy, auc, f1, mae, rmse, r2"
    return "Set 'metric' to '<evaluation>.<metric>', e.g. bold.toxicity_rate"


def _optional_str(doc: Mapping[str, Any], key: str, *, rule: str | None) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            key,
            f"expected a non-empty string, got {_type_name(value)} {value!r}",
            f'Quote the value, e.g. {key}: "..."',
            rule=rule,
        )
    return value


def _reject_unknown(
    doc: Mapping[Any, Any], allowed: tuple[str, ...], *, rule: str | None, where: str
) -> None:
    for key in doc:
        if key not in allowed:
            raise PolicyError(
                str(key),
                f"unknown {where}",
                f"Use only: {', '.join(allowed)} (check the spelling)",
                rule=rule,
            )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


# -----------------------------------------------------------------------------------------------
# overrides


def _build_override(body: Any, *, group: Any, source: str) -> PolicyOverride:
    context = f"overrides.{group}"
    if not isinstance(group, str) or not GROUP_NAME_PATTERN.match(group):
        raise PolicyError(
            "group",
            f"{group!r} is not a model package group name",
            "Use the group's name: 1-63 letters, digits and hyphens",
            rule=context,
        )
    if not isinstance(body, dict):
        raise PolicyError(
            "override",
            f"expected a mapping, got {_type_name(body)}",
            "Write 'version', 'rules' and/or 'remove_rules' under the group name",
            rule=context,
        )
    _reject_unknown(body, OVERRIDE_KEYS, rule=context, where="override key")
    version = _parse_version(body.get("version"), rule=context)
    override_id = body.get("id")
    if override_id is not None and (
        not isinstance(override_id, str) or not POLICY_ID_PATTERN.match(override_id)
    ):
        raise PolicyError(
            "id",
            f"{override_id!r} is not a valid id",
            "Use letters, digits and - _ .",
            rule=context,
        )
    rules = _parse_rules(body.get("rules"), rule_context=context, allow_empty=True)
    removes_raw = body.get("remove_rules") or []
    if not isinstance(removes_raw, list):
        raise PolicyError(
            "remove_rules",
            f"expected a list, got {_type_name(removes_raw)}",
            "Write '- id: <rule id>' with a 'reason'",
            rule=context,
        )
    removes: list[tuple[str, str]] = []
    for index, entry in enumerate(removes_raw):
        where = f"{context}.remove_rules[{index}]"
        if not isinstance(entry, dict):
            raise PolicyError(
                "remove_rules",
                f"expected a mapping, got {_type_name(entry)}",
                "Write '- id: <rule id>' and 'reason: <why this group is exempt>'",
                rule=where,
            )
        _reject_unknown(entry, REMOVE_KEYS, rule=where, where="key")
        rid = entry.get("id")
        reason = entry.get("reason")
        if not isinstance(rid, str) or not rid:
            raise PolicyError("id", "missing", "Name the rule to remove", rule=where)
        # Dropping a governance check must leave a written justification behind.
        if not isinstance(reason, str) or not reason.strip():
            raise PolicyError(
                "reason", "missing", "Say why this group is exempt from the rule", rule=where
            )
        removes.append((rid, reason))
    if not rules and not removes:
        raise PolicyError(
            "rules",
            "override changes nothing",
            "Add 'rules' (replace or add by id) or 'remove_rules'",
            rule=context,
        )
    description = _optional_str(body, "description", rule=context)
    return PolicyOverride(
        group=group,
        version=version,
        rules=rules,
        remove_rules=tuple(removes),
        id=override_id,
        description=description,
    )


def load_override(path_or_text: str | Path, *, group: str | None = None) -> PolicyOverride:
    """Load ``policies/overrides/<group>.yaml``: the group defaults to the file's stem."""
    text, source, stem = _read_source(path_or_text)
    doc = _parse_yaml(text)
    name = group or stem
    if name is None:
        raise PolicyError("group", "unknown", "Pass group= or name the file <group>.yaml")
    return _build_override(doc, group=name, source=source)


def load_overrides_dir(directory: str | Path) -> dict[str, PolicyOverride]:
    """Every ``<group>.yaml`` in ``directory`` (files starting with ``_`` or ``example`` are
    documentation).
    """
    path = Path(directory)
    if not path.is_dir():
        raise PolicyError(
            "overrides", f"{path} is not a directory", "Pass the policies/overrides directory"
        )
    out: dict[str, PolicyOverride] = {}
    for file in sorted(path.glob("*.y*ml")):
        if file.name.startswith(("_", "example")):
            continue
        out[file.stem] = load_override(file)
    return out


def resolve_policy(
    default: Policy,
    overrides: str | Path | Mapping[str, PolicyOverride | Mapping[str, Any]] | None = None,
    model_package_group: str | None = None,
) -> Policy:
    """The effective policy for ``model_package_group``.

    ``overrides`` is a directory of ``<group>.yaml`` files, a mapping of group name to override, or
    ``None`` to use the overrides embedded in ``default`` (its top-level ``overrides:`` key). Rules
    of the override replace the default's rule with the same id or are added; ``remove_rules`` drop
    default rules (each with a reason). The result's id is ``<default id>+<group>`` and its version
    ``<default version>+<override version>``, so the registry metadata says which override decided.
    A group without an override gets ``default`` unchanged.
    """
    if model_package_group is None:
        return default
    override: PolicyOverride | None
    if overrides is None:
        override = default.overrides.get(model_package_group)
    elif isinstance(overrides, str | Path):
        candidate = None
        # Never build a path from a name that could climb out of the directory.
        if GROUP_NAME_PATTERN.match(model_package_group):
            for suffix in (".yaml", ".yml"):
                file = Path(overrides) / f"{model_package_group}{suffix}"
                if file.is_file():
                    candidate = file
                    break
        override = load_override(candidate) if candidate else None
    else:
        raw = overrides.get(model_package_group)
        if raw is None or isinstance(raw, PolicyOverride):
            override = raw
        else:
            override = _build_override(dict(raw), group=model_package_group, source="mapping")
    if override is None:
        # A directory or mapping without this group still honours the policy's inline overrides.
        override = default.overrides.get(model_package_group)
    if override is None:
        return default

    by_id = {rule.id: rule for rule in default.rules}
    for rid, _reason in override.remove_rules:
        if rid not in by_id:
            raise PolicyError(
                "remove_rules",
                f"rule {rid!r} is not in policy {default.id!r}",
                "Remove the entry or fix the rule id",
                rule=f"overrides.{model_package_group}",
            )
        del by_id[rid]
    merged = dict(by_id)
    for rule in override.rules:
        merged[rule.id] = rule
    # Keep the default's order, then the override's additions in their own order.
    ordered = [merged[r.id] for r in default.rules if r.id in merged]
    known = {r.id for r in ordered}
    ordered += [r for r in override.rules if r.id not in known]
    if not ordered:
        raise PolicyError(
            "remove_rules",
            "the override removes every rule",
            "Keep at least one rule: a policy without rules would approve every model",
            rule=f"overrides.{model_package_group}",
        )
    return Policy(
        id=override.id or f"{default.id}+{model_package_group}"[:100],
        version=f"{default.version}+{override.version}",
        rules=tuple(ordered),
        description=override.description or default.description,
        overrides={},
        source=default.source,
    )
