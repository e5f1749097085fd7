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

Modules: :mod:`.model` (Rule, Policy, PolicyOverride, PolicyError), :mod:`.loader` (load_policy),
:mod:`.source` (strict YAML), :mod:`.rules` (rule validation), :mod:`.overrides` (per-group
overrides, resolve_policy). This package re-exports the public names.
"""

from __future__ import annotations

from clearance.policy.loader import load_default_policy, load_policy
from clearance.policy.model import (
    DEFAULT_POLICY_PATH,
    OVERRIDES_DIR,
    POLICIES_DIR,
    Policy,
    PolicyError,
    PolicyOverride,
    Rule,
)
from clearance.policy.overrides import load_override, load_overrides_dir, resolve_policy

__all__ = [
    "DEFAULT_POLICY_PATH",
    "OVERRIDES_DIR",
    "POLICIES_DIR",
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
