"""Per-group overrides (``policies/overrides/<group>.yaml``); resolving the policy for a group."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clearance.policy.model import (
    GROUP_NAME_PATTERN,
    OVERRIDE_KEYS,
    POLICY_ID_PATTERN,
    REMOVE_KEYS,
    Policy,
    PolicyError,
    PolicyOverride,
)
from clearance.policy.rules import _optional_str, _parse_rules, _reject_unknown, _type_name
from clearance.policy.source import _parse_version, _parse_yaml, _read_source

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
    try:  # see loader._build_policy: the field checks alone where pydantic is not installed
        from clearance.policy.schema import validate_override
    except ImportError:
        return _build_override(doc, group=name, source=source)
    return validate_override(doc, lambda data: _build_override(data, group=name, source=source))


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
        on_inconclusive=default.on_inconclusive,
        min_group_size=default.min_group_size,
    )
