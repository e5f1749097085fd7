"""Load a policy: the top-level document, its rules and inline overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearance.policy.model import (
    DEFAULT_POLICY_PATH,
    ON_INCONCLUSIVE,
    POLICY_ID_PATTERN,
    POLICY_KEYS,
    Policy,
    PolicyError,
    PolicyOverride,
)
from clearance.policy.overrides import _build_override
from clearance.policy.rules import (
    _optional_str,
    _parse_rules,
    _reject_unknown,
    _type_name,
    parse_min_group_size,
)
from clearance.policy.source import _parse_version, _parse_yaml, _read_source, _safe_id


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


def _build_policy(doc: Any, *, source: str, default_id: str) -> Policy:
    """The pydantic models validate the document; the field checks below run first inside them
    and keep the error wording (clearance.policy.schema). Where pydantic is not installed (its
    core is compiled, so the approval code zip cannot carry it; the Lambda runtime and some
    processing images lack it), the same field checks run alone: every rule is still enforced."""
    try:
        from clearance.policy.schema import validate_policy
    except ImportError:
        return _checked_policy(doc, source, default_id)
    return validate_policy(doc, lambda data: _checked_policy(data, source, default_id))


def _checked_policy(doc: Any, source: str, default_id: str) -> Policy:
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
    on_inconclusive = doc.get("on_inconclusive")
    if on_inconclusive is not None and on_inconclusive not in ON_INCONCLUSIVE:
        raise PolicyError(
            "on_inconclusive",
            f"{on_inconclusive!r} is not reject or pending",
            "Write 'on_inconclusive: reject' (fail closed) or 'pending' (leave it for a human)",
        )
    return Policy(
        id=policy_id,
        version=version,
        rules=rules,
        description=description,
        overrides=overrides,
        source=source,
        on_inconclusive=on_inconclusive,
        min_group_size=parse_min_group_size(doc.get("min_group_size"), rule=None),
    )
