"""Stand-in shim: ModelLifeCycle on model packages, which moto drops (docs/development.md).

A policy with ``on_inconclusive: pending`` leaves an undecided package PendingManualApproval for a
human and records why through ``UpdateModelPackage(ModelLifeCycle={Stage, StageStatus,
StageDescription})`` (2024-12 API). moto 5 ignores ``ModelLifeCycle`` on update and never returns
it from ``DescribeModelPackage``; it also resets the approval status and description to null when
an update leaves them out, where AWS keeps them. ``install()`` patches moto's SageMaker responses
in this process (the stand-in's server runs in a thread of it) so that:

- ``ModelLifeCycle`` is validated against botocore's own shape (EntityName pattern and lengths for
  Stage and StageStatus, at most 1,024 characters of StageDescription), as AWS would, stored, and
  returned by ``DescribeModelPackage``;
- an update without ``ModelApprovalStatus`` / ``ApprovalDescription`` keeps the current ones.

Idempotent; tests check it against botocore's shapes (tests/clearance/test_lifecycle_shim.py).
"""

from __future__ import annotations

import re
from typing import Any

_MARK = "_clearance_lifecycle_shim"


def _shape_rules() -> dict[str, dict[str, Any]]:
    """min/max/pattern of each ModelLifeCycle member, from botocore's SageMaker model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.shape_for("ModelLifeCycle")
    return {
        name: {**member.metadata, "required": name in shape.required_members}
        for name, member in shape.members.items()
    }


def validate(lifecycle: Any) -> str | None:
    """None when LIFECYCLE fits botocore's ModelLifeCycle shape, else the problem."""
    if not isinstance(lifecycle, dict):
        return "ModelLifeCycle must be a structure"
    rules = _shape_rules()
    unknown = set(lifecycle) - set(rules)
    if unknown:
        return f"ModelLifeCycle has unknown members {sorted(unknown)}"
    for name, rule in rules.items():
        value = lifecycle.get(name)
        if value is None:
            if rule["required"]:
                return f"ModelLifeCycle.{name} is required"
            continue
        if not isinstance(value, str) or not rule.get("min", 0) <= len(value) <= rule["max"]:
            return f"ModelLifeCycle.{name} must be {rule.get('min', 0)}-{rule['max']} characters"
        if "pattern" in rule and not re.fullmatch(rule["pattern"], value, flags=re.DOTALL):
            return f"ModelLifeCycle.{name} does not match {rule['pattern']}"
    return None


def install() -> None:
    """Patch moto's SageMaker update/describe of model packages (once per process)."""
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ValidationError

    response_class = responses.SageMakerResponse
    if getattr(response_class.update_model_package, _MARK, False):
        return
    original_update = response_class.update_model_package
    original_describe = models.ModelPackage.gen_response_object

    def update_model_package(self: Any) -> Any:
        arn = self._get_param("ModelPackageArn")
        lifecycle = self._get_param("ModelLifeCycle")
        if lifecycle is not None:
            problem = validate(lifecycle)
            if problem:
                raise ValidationError(message=problem)
        backend = self.sagemaker_backend
        package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
        kept = (
            None
            if package is None
            else (package.model_approval_status, package.approval_description)
        )
        result = original_update(self)
        if package is not None and kept is not None:
            if self._get_param("ModelApprovalStatus") is None:
                package.model_approval_status = kept[0]
            if self._get_param("ApprovalDescription") is None:
                package.approval_description = kept[1]
            if lifecycle is not None:
                package.model_life_cycle = dict(lifecycle)
        return result

    def gen_response_object(self: Any) -> dict[str, Any]:
        response = original_describe(self)
        lifecycle = getattr(self, "model_life_cycle", None)
        if lifecycle:
            response["ModelLifeCycle"] = dict(lifecycle)
        return response

    setattr(update_model_package, _MARK, True)
    response_class.update_model_package = update_model_package
    models.ModelPackage.gen_response_object = gen_response_object
